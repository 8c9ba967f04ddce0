"""The app's panel logic: layouts offered and proposed, bad choices refused in words, what
training leaves out, the model/data match, one series' view, the per-series tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_core.data.demos import synthetic_panel
from lstm_core.errors import DataError
from lstm_core.panel import read_panel
from lstm_core.panel_forecaster import MODEL, PanelForecaster
from tests.test_panel_forecaster import TINY
from ui import panel_view as pv


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Three hourly series of different lengths, starting 5 hours apart (times overlap)."""
    df = synthetic_panel(3, length=(70, 100), seed=7).frame
    step = df.groupby("id").cumcount() + 5 * df["id"].str[1:].astype(int)
    time = pd.Timestamp("2024-01-01") + pd.to_timedelta(step, unit="h")
    return df.assign(time=time, site="A", row=lambda d: d.index)


@pytest.fixture(scope="module")
def panel(table):
    """The table read through the Data page's proposed choice."""
    return pv.read_choice(table, pv.layout_options(table, "time").proposed, "time")


@pytest.fixture(scope="module")
def model(panel) -> PanelForecaster:
    """One tiny model over the three series."""
    return PanelForecaster(TINY).fit(panel)


def test_the_id_column_is_proposed_first_and_every_other_choice_offered(table):
    opts = pv.layout_options(table, "time")
    assert opts.proposed == "id:id"
    assert opts.options == ("one", "id:id", "id:site", "id:row", "wide")
    assert [pv.LayoutOptions.label(o) for o in ("one", "id:site", "wide")] == [
        "one series (no id column)",
        "id column: site",
        "wide: each column is a series",
    ]
    one = table[table["id"] == "S0000"].drop(columns=["id", "site", "row"])
    assert pv.layout_options(one, "time").proposed == "one", "a single series stays one"


def test_bad_choices_are_refused_in_words(table):
    assert pv.read_choice(table, "one", "time") is None
    with pytest.raises(pv.BadPanelChoice, match="holds one id \\('A'\\), so the table is one"):
        pv.read_choice(table, "id:site", "time")
    with pytest.raises(pv.BadPanelChoice, match="about one row"):
        pv.read_choice(table, "id:row", "time")
    with pytest.raises(pv.BadPanelChoice, match="no column 'nope'"):
        pv.read_choice(table, "id:nope", "time")
    wide = pd.DataFrame({"t": pd.date_range("2024", periods=50, freq="D"), "a": np.arange(50.0)})
    with pytest.raises(pv.BadPanelChoice, match="one series"):
        pv.read_choice(wide, "wide", "t")
    two = pv.read_choice(wide.assign(b=np.r_[np.full(10, np.nan), np.arange(40.0)]), "wide", "t")
    assert two.ids == ("a", "b") and len(two.select("b")) == 40, "a later start is kept"


def test_check_names_the_series_training_leaves_out(panel):
    chk = pv.check(panel, TINY)
    assert len(chk.trainable) == 3 and not chk.left_out
    assert chk.training_line(TINY) == "Training will use all 3 series (lookback 16, horizon 4)."
    long = TINY.replace(data={"lookback": 60})
    chk = pv.check(panel, long)
    assert len(chk.trainable) + len(chk.left_out) == 3 and chk.left_out
    assert "left out with lookback 60" in chk.training_line(long)
    table = pv.summary_table(chk.summary)
    assert list(table.index) == list(panel.ids) and table["frequency"].iloc[0] == "hourly"
    assert ":00" in table["start"].iloc[0] and "00:00:00" not in table["start"].iloc[0]


def test_the_model_must_fit_the_data_and_a_series_is_viewed_alone(model, panel, table, fitted):
    assert pv.mismatch(None, panel) is None and pv.mismatch(model, panel) is None
    assert "trained on a panel of 3 series" in pv.mismatch(model, None)
    assert "forecasts one series, and the data in use is a panel of 3" in pv.mismatch(fitted, panel)
    assert pv.mismatch(fitted, None) is None
    other = read_panel(table.assign(id="X" + table["id"]), "id")
    assert "none of them is in the data in use" in pv.mismatch(model, other)
    with pytest.raises(DataError, match="trained on a panel"):
        pv.view(model, table, None, None)
    fc, df = pv.view(model, table, panel, "S0001")
    assert df is panel.select("S0001") and len(fc.predict(df)) == 4
    assert pv.shown(["a", "b"], "b") == "b" and pv.shown(["a", "b"], "z") == "a"
    assert pv.series_label(panel, "S0001") == "panel: 3 series, series S0001 shown"


def test_the_per_series_table_says_where_the_model_beats_the_best_baseline(model, panel):
    bt = model.backtest(panel)
    table = pv.series_table(bt)
    assert list(table.index) == list(panel.ids)
    wide = bt.by_series("MASE")
    assert (table[f"MASE {MODEL}"] == wide[MODEL]).all()
    best = wide.drop(columns=[MODEL]).min(axis=1)
    expected = np.where(wide[MODEL] < best, "yes", "no")
    assert list(table["model beats the best baseline"]) == list(expected)


def test_the_gaps_line_names_the_first_runs_and_counts_the_rest():
    from ui.panel_view import gaps_line

    assert gaps_line("S1", pd.DataFrame({"start": [], "end": []})) is None
    starts = pd.date_range("2024-01-01 03:00", periods=12, freq="D")
    holes = pd.DataFrame({"start": starts, "end": starts + pd.Timedelta(hours=5)})
    line = gaps_line("S1", holes, most=2)
    assert line == (
        "Where S1's values are missing (12 run(s), filled as Missing values says): "
        "2024-01-01 03:00 to 2024-01-01 08:00, 2024-01-02 03:00 to 2024-01-02 08:00 "
        "and 10 more."
    )

    # a run from midnight to 05:00 shows both ends with their hours
    day = pd.DataFrame(
        {"start": starts.normalize()[:1], "end": starts.normalize()[:1] + pd.Timedelta(hours=5)}
    )
    assert "2024-01-01 00:00 to 2024-01-01 05:00." in gaps_line("S1", day)


def test_a_panel_in_use_keeps_the_targets_it_has_and_drops_the_rest(panel):
    from lstm_core.config import Config

    value = panel.columns[0]
    cfg = Config().replace(data={"targets": ["sales"], "covariates": [value, "promo"]})
    out = pv.use_config(panel, cfg).data
    assert out.targets == (value,) and out.covariates == () and out.time_col == panel.time_col
    kept = pv.use_config(panel, Config().replace(data={"targets": [value]})).data
    assert kept.targets == (value,)
