"""AppTest: a panel through the app (issue 12): upload a long table, the id column proposed,
the series summary and picker, one model trained for every series in the background, the
forecast of a chosen series with the per-series backtest, Interpret, checkpoints that hold a
panel, and bad choices refused in words with nothing lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_core import checkpoint
from lstm_core.config import Config
from lstm_core.data.demos import synthetic_panel
from lstm_core.panel import read_panel
from lstm_core.panel_forecaster import PanelForecaster
from tests.test_pages import PAGES, app, everything, sidebar, texts
from ui import panel_view
from ui import state as ui

TINY = {
    "data": {"lookback": 16, "horizon": 4},
    "lstm": {"hidden_size": 4, "num_layers": 1},
    "training": {"epochs": 2, "batch_size": 32},
}


def _table() -> pd.DataFrame:
    """Four hourly series of different lengths and starts, a store name column that is one
    value throughout, and one series too short to train on."""
    frame = synthetic_panel(4, length=(80, 130), seed=5).frame
    short = pd.DataFrame(
        {"id": "tiny", "time": pd.date_range("2024-02-01", periods=12, freq="h"), "value": 1.0}
    )
    short["value"] += np.arange(12.0)
    return pd.concat([frame, short], ignore_index=True).assign(region="north")


@pytest.fixture(scope="module")
def model() -> PanelForecaster:
    cfg = Config().replace(**TINY)
    return PanelForecaster(cfg).fit(read_panel(_table(), "id"))


def _upload(at, tiny: bool = True):
    """Upload the panel, with the tiny settings first unless not ``tiny`` (the defaults)."""
    raw = _table().to_csv(index=False).encode()
    if tiny:
        at.session_state[ui.CONFIG] = Config().replace(**TINY)
    at.switch_page(PAGES["data"]).run()
    at.file_uploader(key="data_upload").upload("stores.csv", raw, "text/csv").run()
    return at


def _layout(at):
    return next(s for s in at.selectbox if s.key.startswith("data_layout_"))


def _series(at, page: str):
    return next(s for s in at.selectbox if s.key.startswith(f"{page}_series_"))


def test_a_long_table_is_read_as_a_panel_and_any_series_can_be_viewed():
    at = _upload(app(empty=True))
    assert not at.exception and not at.error, texts(at.error)
    panel = at.session_state[ui.PANEL]
    assert panel is not None and panel.id_col == "id" and len(panel) == 5
    assert "It holds 5 series (id column: id)" in texts(at.success)
    assert _layout(at).value == "id:id", "the id column found is proposed"
    assert "panel: 5 series, series S0000 shown" in sidebar(at)
    report = everything(at)
    assert "5 series" in report and "length: 12 to" in report and "no missing timestamps" in report
    assert "Training will use 4 of 5 series" in texts(at.warning), "the short one is named"
    picker = _series(at, "data")
    assert picker.options[-1].startswith("tiny · 12 steps")
    picker.set_value("S0002").run()
    assert at.session_state[ui.SERIES] == "S0002" and "series S0002 shown" in sidebar(at)
    chart = at.get("plotly_chart")[0].proto.spec
    assert '"y"' in chart and len(at.get("plotly_chart")) == 1
    rows = len(read_panel(_table(), "id").select("S0002"))
    assert f"{rows:,} rows from" in texts(at.markdown), "the data report is the series' own"


def test_a_long_table_of_restarting_steps_is_proposed_as_a_panel_as_the_cli_finds_it():
    # M4's layout (series, t, value): t restarts in every series, so it is no time column of
    # the whole table; `--id-col auto` finds the panel, and so must the upload (issue 20.6)
    from lstm_core.panel_layout import guess_layout

    rng = np.random.default_rng(0)
    table = pd.concat(
        [
            pd.DataFrame({"series": f"H{k}", "t": np.arange(200), "value": rng.normal(size=200)})
            for k in range(3)
        ],
        ignore_index=True,
    )
    assert guess_layout(table).id_col == "series"
    at = app(empty=True)
    at.switch_page(PAGES["data"]).run()
    raw = table.to_csv(index=False).encode()
    at.file_uploader(key="data_upload").upload("m4.csv", raw, "text/csv").run()
    assert not at.exception and not at.error, texts(at.error)
    panel = at.session_state[ui.PANEL]
    assert panel is not None and panel.id_col == "series" and panel.time_col == "t"
    assert len(panel) == 3 and _layout(at).value == "id:series"
    assert "It holds 3 series (id column: series)" in texts(at.success)


def test_bad_layout_choices_are_refused_in_words_and_keep_the_panel():
    at = _upload(app(empty=True))
    before = at.session_state[ui.PANEL]
    _layout(at).set_value("id:region").run()  # one value on every row
    assert not at.exception
    assert "holds one id ('north'), so the table is one series" in texts(at.error)
    assert at.session_state[ui.PANEL] is before and _layout(at).value == "id:id"
    _layout(at).set_value(panel_view.ONE).run()
    assert at.session_state[ui.PANEL] is None and "panel:" not in sidebar(at)
    _layout(at).set_value(panel_view.WIDE).run()  # one value column: one series
    assert "holds one series" in texts(at.error) and at.session_state[ui.PANEL] is None


def test_a_panel_too_short_for_the_settings_says_what_to_do():
    at = _upload(app(empty=True), tiny=False)
    assert "Training will use" not in texts(at.error)  # the settings chosen for its lengths
    at.session_state[ui.CONFIG] = at.session_state[ui.CONFIG].replace(data={"lookback": 96})
    at.run()
    assert "Training will use 0 of 5" in texts(at.error) and at.get("page_link")
    at.switch_page(PAGES["training"]).run()
    assert not at.exception and "No series of this panel is long enough" in texts(at.error)
    assert at.get("page_link"), "a link to Model settings"


def test_train_a_panel_then_forecast_and_interpret_a_chosen_series(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    at = _upload(app(empty=True))
    at.switch_page(PAGES["training"]).run()
    assert "one model for every series" in texts(at.caption)
    at.button(key="training_start").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert at.session_state[ui.JOB].wait(60)
    at.run()
    model = at.session_state[ui.FORECASTER]
    assert isinstance(model, PanelForecaster) and len(model.series_ids) == 4
    assert "one model for 4 series" in texts(at.success)
    at.button(key="training_save").click().run()
    assert not at.error and len(list(tmp_path.glob("*.safetensors"))) == 1

    at.switch_page(PAGES["forecast"]).run()
    assert not at.exception and not at.error, texts(at.error)
    picker = _series(at, "forecast")
    assert [o.split(" · ")[0] for o in picker.options] == list(model.series_ids), "what it learnt"
    picker.set_value("S0003").run()
    assert "series S0003" in texts(at.caption)
    task = at.session_state[ui.TASKS]["panel_backtest"].task
    assert task.wait(60)
    at.run()
    frames = [f.value for f in at.dataframe]
    summary = next(f for f in frames if "mean MASE" in f.columns)
    assert list(summary.index[:1]) == ["AttentiveLSTM"] and "seasonal naive" in summary.index
    per_series = next(f for f in frames if "model beats the best baseline" in f.columns)
    assert list(per_series.index) == list(model.series_ids)
    assert "Over 4 series" in everything(at)
    # a refit model (training.refit, the default) is scored by its validated network, said so
    refit = model.fitted_.validated is not None
    assert ("The model scored is the validated network" in everything(at)) == refit
    spec = at.get("plotly_chart")[0].proto.spec
    assert "forecast (median)" in spec

    at.switch_page(PAGES["interpret"]).run()
    assert not at.exception and not at.error, texts(at.error)
    assert _series(at, "explain").value == "S0003", "the series chosen stays chosen"
    assert len(at.get("plotly_chart")) >= 2
    # issue 20: attributions and deletion scores for the series picked, per series
    ig = next(
        c.proto.spec for c in at.get("plotly_chart") if "Integrated Gradients" in c.proto.spec
    )
    assert "Deletion test" in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "Deleting its top" in texts(at.caption)
    _series(at, "explain").set_value(model.series_ids[0]).run()
    assert not at.exception, at.exception
    other = next(
        c.proto.spec for c in at.get("plotly_chart") if "Integrated Gradients" in c.proto.spec
    )
    assert other != ig, "another series, its own attributions"


def test_panel_checkpoints_say_what_they_hold_and_refuse_the_wrong_data(
    model, tmp_path, monkeypatch
):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    checkpoint.save(model, "stores", tmp_path)
    at = app()  # the demo: one series
    at.switch_page(PAGES["checkpoints"]).run()
    at.selectbox(key="checkpoints_name").set_value("stores").run()
    assert "one model for a panel of 4 series" in texts(at.caption)
    table = at.dataframe[0].value
    row = table.set_index("name").loc["stores"]
    assert row["series"] == 4 and row["backtest MAE"].endswith("(mean MASE)")
    assert float(row["backtest MAE"].split()[0]) == pytest.approx(
        model.metrics_["AttentiveLSTM"]["mean MASE"], rel=1e-3
    )
    at.button(key="checkpoints_load").click().run()
    assert "one model for 4 series" in texts(at.warning)
    assert "the data in use is one series" in texts(at.warning)
    at.switch_page(PAGES["forecast"]).run()
    assert not at.exception and "trained on a panel of 4 series" in texts(at.warning)
    assert at.get("page_link") and not at.get("plotly_chart")
    _upload(at)  # the panel: now it forecasts
    at.switch_page(PAGES["forecast"]).run()
    assert not at.exception and "panel" not in texts(at.warning), texts(at.warning)
    assert at.get("plotly_chart")


def test_a_one_series_model_on_a_panel_says_what_to_do():
    at = _upload(app())  # the demo checkpoint is in use
    at.switch_page(PAGES["interpret"]).run()
    assert not at.exception
    assert "forecasts one series, and the data in use is a panel of 5" in texts(at.warning)


def test_a_wide_table_with_series_of_different_starts_is_a_panel_too():
    t = pd.date_range("2024-01-01", periods=120, freq="D")
    wide = pd.DataFrame({"date": t, "north": np.sin(np.arange(120.0)) + 5})
    wide["south"] = np.r_[np.full(30, np.nan), np.cos(np.arange(90.0)) + 9]  # starts later
    at = app(empty=True)
    at.session_state[ui.CONFIG] = Config().replace(**TINY)
    at.switch_page(PAGES["data"]).run()
    at.file_uploader(key="data_upload").upload("wide.csv", wide.to_csv(index=False).encode()).run()
    assert at.session_state[ui.PANEL] is None, "no id column: proposed as one series"
    _layout(at).set_value(panel_view.WIDE).run()
    assert not at.exception and not at.error, texts(at.error)
    panel = at.session_state[ui.PANEL]
    assert panel.ids == ("north", "south") and "panel: 2 series" in sidebar(at)
    assert "length: 90 to 120 steps" in everything(at)
    _series(at, "data").set_value("south").run()
    assert "90 rows from 2024-01-31" in texts(at.markdown) and at.get("plotly_chart")
