"""AppTest: every page runs empty (guidance) and on the demo (charts); the main flows work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import ui
from lstm_core.checkpoint import save
from lstm_core.jobs import Task
from tests.conftest import ROOT

PAGES = list(ui.PAGES.values())
CHARTS_ON_DEMO = {  # explain draws 2 more when its whole-series run finishes (see below)
    "data": 1,
    "settings": 0,
    "training": 1,
    "forecast": 2,
    "explain": 2,
    "checkpoints": 0,
}
GUIDES_WHEN_EMPTY = {
    "data",
    "training",
    "forecast",
    "explain",
}  # settings and checkpoints need nothing


def app(empty: bool = False) -> AppTest:
    """The app after its first run (st.navigation registers the pages there)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if empty:
        at.session_state[ui.STARTED] = True  # skip the demo defaults of a first visit
    return at.run()


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


@pytest.mark.parametrize("page", list(ui.PAGES))
def test_page_runs_empty_and_on_the_demo(page):
    at = app(empty=True)
    at.switch_page(ui.PAGES[page]).run()
    assert not at.exception, at.exception
    if page in GUIDES_WHEN_EMPTY:
        assert at.info, "an empty page says what to do"
        assert at.get("page_link"), "and links to the page that does it"
    at = app()
    at.switch_page(ui.PAGES[page]).run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    charts = at.get("plotly_chart")
    assert len(charts) >= CHARTS_ON_DEMO[page]
    for chart in charts:
        assert '"data":[{' in chart.proto.spec.replace(" ", ""), "a chart with no traces"


def test_first_visit_shows_demo_results():
    at = app()  # the default page is the forecast
    assert at.session_state[ui.MODEL_NAME] == "checkpoint demo"
    assert at.get("plotly_chart") and at.get("download_button")
    assert "baseline" in texts(at.success) + texts(at.warning)


def test_yaml_editor_rejects_bad_yaml_and_keeps_the_config():
    at = app()
    at.switch_page(ui.PAGES["settings"]).run()
    before = at.session_state[ui.CONFIG]
    at.text_area(key="settings_yaml_lstm").set_value("hidden_size: [32\nnum_layers: 2")
    at.button(key="FormSubmitter:settings_yaml-Apply YAML").click().run()
    assert not at.exception
    assert at.session_state[ui.CONFIG] is before
    assert "lstm: invalid YAML at line" in texts(at.error)
    assert at.text_area(key="settings_yaml_lstm").value.startswith("hidden_size: [32"), "text kept"

    at.text_area(key="settings_yaml_lstm").set_value("num_heads: 3\nhidden_size: 32")
    at.button(key="FormSubmitter:settings_yaml-Apply YAML").click().run()
    assert at.session_state[ui.CONFIG] is before and "lstm.num_heads" in texts(at.error)

    yaml_text = at.text_area(key="settings_yaml_data").value.replace("lookback: 48", "lookback: 30")
    at.text_area(key="settings_yaml_lstm").set_value("hidden_size: null")
    at.text_area(key="settings_yaml_data").set_value(yaml_text)
    at.button(key="FormSubmitter:settings_yaml-Apply YAML").click().run()
    assert at.session_state[ui.CONFIG].data.lookback == 30 and not at.error
    assert at.number_input(key="settings_lookback").value == 30, "the form follows the YAML"


def test_form_updates_the_yaml():
    at = app()
    at.switch_page(ui.PAGES["settings"]).run()
    at.number_input(key="settings_epochs").set_value(3)
    at.number_input(key="settings_hidden_size").set_value(16)
    at.button(key="FormSubmitter:settings_form-Apply settings").click().run()
    cfg = at.session_state[ui.CONFIG]
    assert cfg.training.epochs == 3 and cfg.lstm.hidden_size == 16
    assert "epochs: 3" in at.text_area(key="settings_yaml_training").value
    assert "parameters:" in texts(at.markdown)


def test_yaml_upload_is_validated():
    at = app()
    at.switch_page(ui.PAGES["settings"]).run()
    before = at.session_state[ui.CONFIG]
    at.file_uploader(key="settings_upload").upload("bad.yaml", b"lstm:\n  hidden_size: -3\n").run()
    assert not at.exception and at.session_state[ui.CONFIG] is before
    assert "lstm.hidden_size" in texts(at.error)
    good = before.replace(training={"epochs": 7}).to_yaml().encode()
    at.file_uploader(key="settings_upload").upload("good.yaml", good).run()
    assert at.session_state[ui.CONFIG].training.epochs == 7 and not at.error
    assert at.number_input(key="settings_epochs").value == 7


def _csv(n: int = 160) -> bytes:
    t = np.arange(n)
    df = pd.DataFrame(
        {
            "date": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "sales": 100 + 10 * np.sin(2 * np.pi * t / 7) + t * 0.1,
            "promo": (t % 7 == 0).astype(float),
        }
    )
    return df.to_csv(index=False).encode()


def test_csv_upload_flows_through_to_a_forecast(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    at = app(empty=True)
    at.switch_page(ui.PAGES["data"]).run()
    at.file_uploader(key="data_upload").upload("sales.csv", _csv(), "text/csv").run()
    assert not at.exception and not at.error, texts(at.error)
    cfg = at.session_state[ui.CONFIG]
    assert cfg.data.time_col == "date" and cfg.data.targets == ("sales",)
    assert at.get("plotly_chart")
    at.session_state[ui.CONFIG] = cfg.replace(
        data={"lookback": 14, "horizon": 7},
        lstm={"hidden_size": 4, "num_layers": 1},
        training={"epochs": 2, "batch_size": 32},
    )
    at.switch_page(ui.PAGES["training"]).run()
    at.button(key="training_start").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert at.session_state[ui.JOB].wait(60)
    at.run()  # the finished job is collected on the next run
    assert at.session_state[ui.MODEL_NAME].startswith("trained at")
    at.text_input(key="training_name").set_value("sales model")
    at.button(key="FormSubmitter:training_save-Save checkpoint").click().run()
    assert (tmp_path / "sales_model.safetensors").exists() and not at.error
    at.button(key="FormSubmitter:training_save-Save checkpoint").click().run()
    assert "exists" in texts(at.error), "a saved checkpoint is never overwritten"
    at.switch_page(ui.PAGES["forecast"]).run()
    assert not at.exception and not at.error, texts(at.error)
    spec = at.get("plotly_chart")[0].proto.spec
    assert "forecast (median)" in spec and "2023-06" in spec  # real timestamps after the data
    assert at.get("download_button")
    at.switch_page(ui.PAGES["data"]).run()
    at.button(key="data_use_demo").click().run()  # the file still in the uploader stays unused
    assert at.session_state[ui.DATA_NAME] == "demo: regimes"


def test_bad_upload_keeps_the_data():
    at = app()
    at.switch_page(ui.PAGES["data"]).run()
    before = at.session_state[ui.FRAME]
    at.file_uploader(key="data_upload").upload("notes.csv", b"a,b\nx,y\n", "text/csv").run()
    assert not at.exception
    assert "no column of numbers" in texts(at.error)
    assert "The data you had is kept" in texts(at.error)
    assert at.session_state[ui.FRAME] is before
    at.file_uploader(key="data_upload").upload("image.png", b"\x89PNG....", "image/png").run()
    assert not at.exception and at.session_state[ui.FRAME] is before


def test_too_short_for_the_lookback_says_what_to_do():
    at = app()
    at.session_state[ui.CONFIG] = at.session_state[ui.CONFIG].replace(data={"lookback": 1000})
    at.switch_page(ui.PAGES["training"]).run()
    at.button(key="training_start").click().run()
    assert not at.exception
    assert "try data.lookback" in texts(at.error) and at.get("page_link")
    assert at.session_state[ui.MODEL_NAME] == "checkpoint demo", "the model in use is kept"


def test_loading_a_checkpoint(fitted, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    save(fitted, "tiny", tmp_path)
    at = app(empty=True)
    at.switch_page(ui.PAGES["checkpoints"]).run()
    assert (
        "tiny" in texts([at.dataframe[0]])
        or at.selectbox(key="checkpoints_name").value.name == "tiny"
    )
    at.button(key="checkpoints_load").click().run()
    assert not at.exception
    assert at.session_state[ui.MODEL_NAME] == "checkpoint tiny"
    assert at.session_state[ui.FORECASTER].targets_ == ("y",)


def test_checkpoint_upload_is_validated_and_delete_needs_confirmation(
    fitted, tmp_path, monkeypatch
):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    good = save(fitted, "good", tmp_path / "src").read_bytes()
    at = app(empty=True)
    at.switch_page(ui.PAGES["checkpoints"]).run()
    at.file_uploader(key="checkpoints_upload").upload(
        "evil.pt", b"\x80\x04pickle", "application/octet-stream"
    ).run()
    assert not at.exception and "pickle" in texts(at.error)
    at.file_uploader(key="checkpoints_upload").upload("good.safetensors", good).run()
    at.button(key="checkpoints_add").click().run()
    assert (tmp_path / "good.safetensors").exists()
    assert at.session_state[ui.MODEL_NAME] == "checkpoint good"
    assert at.button(key="checkpoints_delete").disabled, "not without the confirmation"
    at.checkbox(key="checkpoints_sure").check().run()
    at.button(key="checkpoints_delete").click().run()
    assert not (tmp_path / "good.safetensors").exists()


def wait_for_tasks(at: AppTest) -> None:
    """Let this session's background tasks finish, then rerun to draw their results."""
    for value in at.session_state[ui.MEMO].values():
        if isinstance(value, Task):
            assert value.wait(60)
    at.run()


def test_interpret_whole_series_and_change_points(series, fitted):
    at = app(empty=True)
    state = {
        ui.FRAME: series,
        ui.DATA_NAME: "test",
        ui.DATA_TOKEN: 1,
        ui.KNOWN_CPS: (100, 200),
        ui.FORECASTER: fitted,
        ui.MODEL_NAME: "tiny",
        ui.MODEL_TOKEN: 1,
    }
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(ui.PAGES["explain"]).run()
    assert not at.exception
    wait_for_tasks(at)
    assert not at.exception and len(at.get("plotly_chart")) == 4
    assert "window x lag" in at.get("plotly_chart")[2].proto.spec
    assert at.text_input[0].value == "100 200"
    at.text_input[0].set_value("100, oops")
    at.button(key="FormSubmitter:explain_detect_1-Detect change points").click().run()
    assert "'oops' is not a row number" in texts(at.error) and ui.DETECTION not in at.session_state
    at.text_input[0].set_value("100 200 300")
    at.button(key="FormSubmitter:explain_detect_1-Detect change points").click().run()
    assert not at.exception
    task, known = at.session_state[ui.DETECTION][2:]
    assert task.wait(60) and known == [100, 200, 300]
    at.run()
    assert not at.exception and not at.error, texts(at.error)
    spec = at.get("plotly_chart")[-1].proto.spec
    assert "change score" in spec and "known change point" in spec
    assert "F1" in at.dataframe[0].value.columns
