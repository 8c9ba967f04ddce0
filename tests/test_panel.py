"""Panels: long and wide tables split into series, the id column found, per-series summaries
and gaps, series of different lengths and starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_core.config import Config, DataConfig
from lstm_core.data.demos import synthetic_panel
from lstm_core.errors import DataError
from lstm_core.panel import VALUE, describe, gaps, read_panel
from lstm_core.panel_layout import guess_layout, id_candidates


def long_table() -> pd.DataFrame:
    """Three stores: different starts and lengths, B has two missing hours, C is constant."""
    rows = []
    for sid, start, n in (
        ("A", "2024-01-01 00:00", 30),
        ("B", "2024-01-01 05:00", 20),
        ("C", "2024-01-02 00:00", 12),
    ):
        t = pd.date_range(start, periods=n, freq="h")
        v = np.arange(n, dtype=float) + (100 if sid == "B" else 0)
        if sid == "C":
            v[:] = 7.0
        frame = pd.DataFrame({"store": sid, "time": t.astype(str), "sales": v, "price": v / 10})
        if sid == "B":
            frame = frame.drop(index=[6, 7])
        rows.append(frame)
    return pd.concat(rows, ignore_index=True).sample(frac=1, random_state=0)  # shuffled rows


def test_the_id_column_is_found_and_the_table_split_into_its_series():
    df = long_table()
    guess = guess_layout(df)
    assert (guess.layout, guess.id_col, guess.time_col) == ("long", "store", "time")
    panel = read_panel(df)
    assert set(panel.ids) == {"A", "B", "C"} and len(panel) == 3
    assert panel.columns == ("sales", "price") and panel.id_col == "store"
    a = panel.select("A")
    assert list(a.columns) == ["time", "sales", "price"] and len(a) == 30
    assert pd.api.types.is_datetime64_any_dtype(a["time"])  # parsed once for every series
    with pytest.raises(DataError, match="no series 'Z'"):
        panel.select("Z")
    prep = panel.prepared("A")  # what the Data page plots: the first value column as target
    assert prep.targets == ("sales",) and len(prep.frame) == 30 and prep.freq == "h"


def test_text_beats_numbers_and_a_name_hint_beats_none():
    n = 40
    df = pd.DataFrame(
        {
            "time": np.tile(pd.date_range("2024-01-01", periods=10, freq="D"), 4),
            "code": np.repeat([11, 12, 13, 14], 10),
            "label": np.repeat(list("wxyz"), 10),
            "series_id": np.repeat(list("abcd"), 10),
            "value": np.arange(n, dtype=float),
        }
    )
    assert id_candidates(df, "time") == ["series_id", "label", "code"]
    # a column whose (id, time) pairs repeat cannot be the id
    assert id_candidates(df.assign(half=np.repeat([1, 2], 20)), "time")[-1] == "code"
    assert "half" not in id_candidates(df.assign(half=np.repeat([1, 2], 20)), "time")


def test_a_table_without_ids_is_wide_and_each_column_is_a_series():
    t = pd.date_range("2024-01-01", periods=50, freq="D")
    a = np.arange(50.0)
    b = np.r_[np.full(10, np.nan), np.arange(35.0), np.full(5, np.nan)]  # starts late, ends early
    df = pd.DataFrame({"date": t, "north": a, "south": b})
    assert guess_layout(df).layout == "wide"
    panel = read_panel(df)
    assert panel.layout == "wide" and panel.ids == ("north", "south") and panel.columns == (VALUE,)
    south = panel.select("south")
    assert len(south) == 35 and south["date"].iloc[0] == t[10] and south[VALUE].iloc[0] == 0.0
    table = describe(panel).table.set_index("id")
    assert table.loc["south", "steps"] == 35 and table.loc["north", "steps"] == 50


def test_the_summary_gives_lengths_starts_gaps_and_problems():
    panel = read_panel(long_table(), "store")
    s = describe(panel)
    t = s.table.set_index("id")
    assert t.loc["A", "rows"] == 30 and t.loc["A", "gaps"] == 0
    assert t.loc["B", "rows"] == 18 and t.loc["B", "steps"] == 20 and t.loc["B", "gaps"] == 2
    assert t.loc["B", "start"] == "2024-01-01 05:00:00" and t.loc["B", "frequency"] == "h"
    assert "constant" in t.loc["C", "problem"] and set(s.usable) == {"A", "B"}
    text = " ".join(s.lines())
    assert "3 series, 1 unusable (C)" in text and "1 series has missing timestamps" in text
    labels = s.labels()
    assert labels["A"] == "A · 30 steps" and labels["B"] == "B · 20 steps · 2 gaps"
    assert labels["C"].startswith("C · unusable: ") and "constant" in labels["C"]
    g = gaps(panel, "B")
    assert g.to_dict("list") == {
        "start": [pd.Timestamp("2024-01-01 11:00")],
        "end": [pd.Timestamp("2024-01-01 12:00")],
        "steps": [2],
    }
    assert gaps(panel, "A").empty


def test_empty_cells_count_as_gaps_too():
    df = long_table()
    df.loc[(df["store"] == "A") & (df["time"] == "2024-01-01 03:00:00"), "price"] = np.nan
    panel = read_panel(df, "store")
    g = gaps(panel, "A")
    assert list(g["steps"]) == [1] and g["start"].iloc[0] == pd.Timestamp("2024-01-01 03:00")


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda df: df.assign(store=df["store"].where(df.index != df.index[3])), "have no id"),
        (lambda df: df.assign(time=df["time"].where(df.index != df.index[3], "soon")), "not times"),
    ],
)
def test_rows_without_an_id_or_a_time_are_refused_with_their_row(change, words):
    with pytest.raises(DataError, match=words):
        read_panel(change(long_table().reset_index(drop=True)), "store")


def test_missing_columns_and_tables_without_ids_are_refused_plainly():
    df = long_table()
    with pytest.raises(DataError, match="id column 'shop' not found"):
        read_panel(df, "shop")
    with pytest.raises(DataError, match="value column 'cost' not found"):
        read_panel(df, "store", columns=["cost"])
    plain = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0)})
    with pytest.raises(DataError, match="no column looks like a series id"):
        read_panel(plain, layout="long")


def test_a_panel_config_takes_its_time_column_and_targets():
    long = read_panel(long_table(), "store")
    cfg = long.config(Config())
    assert cfg.data.time_col == "time" and cfg.data.targets == ("sales",)
    cfg = long.config(Config().replace(data={"targets": ["price"], "covariates": ["sales"]}))
    assert cfg.data.targets == ("price",) and cfg.data.covariates == ("sales",)
    wide = read_panel(pd.DataFrame({"a": np.arange(9.0), "b": np.arange(9.0)}), layout="wide")
    assert wide.config(Config().replace(data={"targets": ["a"]})).data.targets == (VALUE,)


def test_the_synthetic_panel_is_seeded_and_varied():
    one, two = synthetic_panel(6, seed=3), synthetic_panel(6, seed=3)
    pd.testing.assert_frame_equal(one.frame, two.frame)
    panel = read_panel(one.frame)
    lengths = {len(panel.select(i)) for i in panel.ids}
    starts = {panel.select(i)["time"].iloc[0] for i in panel.ids}
    assert len(panel) == 6 and len(lengths) > 1 and len(starts) > 1
    assert set(one.breaks) <= set(panel.ids) and set(one.shapes) == set(panel.ids)


def test_summary_respects_the_data_settings():
    panel = read_panel(long_table(), "store")
    daily = describe(panel, DataConfig(frequency="2h")).table.set_index("id")
    assert daily.loc["A", "frequency"] == "2h"


def step_table() -> pd.DataFrame:
    """Long table id, t, value: whole-number steps that restart per series (different starts
    and lengths), B missing steps 7 and 8, the rows shuffled."""
    rows = []
    for sid, start, n in (("A", 0, 30), ("B", 5, 20), ("C", 3, 25)):
        frame = pd.DataFrame(
            {"id": sid, "t": np.arange(start, start + n), "value": np.sin(np.arange(n)) + n}
        )
        rows.append(frame[~frame["t"].isin([7, 8])] if sid == "B" else frame)
    return pd.concat(rows, ignore_index=True).sample(frac=1, random_state=1)


@pytest.mark.parametrize("time_col", ["t", None])
def test_whole_number_steps_are_each_series_times(time_col):
    df = step_table()
    guess = guess_layout(df)
    assert (guess.layout, guess.id_col, guess.time_col) == ("long", "id", "t")
    panel = read_panel(df, "id", time_col=time_col)
    assert panel.time_col == "t" and panel.columns == ("value",)  # t is no value column
    assert pd.api.types.is_integer_dtype(panel.select("A")["t"])
    b = panel.prepared("B")
    assert list(b.frame.index) == list(range(5, 25)) and b.report.gaps == 2  # sorted, filled
    table = describe(panel).table.set_index("id")
    assert table.loc["C", "start"] == "3" and table.loc["C", "steps"] == 25
    assert table.loc["B", "gaps"] == 2 and set(describe(panel).usable) == {"A", "B", "C"}
    assert gaps(panel, "B").to_dict("records") == [{"start": 7, "end": 8, "steps": 2}]
    assert read_panel(df).time_col == "t"  # found with the id column
    dated = df.assign(time=pd.Timestamp("2024-01-01") + pd.to_timedelta(df["t"], "h"))
    assert read_panel(dated, "id").time_col == "time"  # dates come first


def test_a_wide_table_with_steps_keeps_them():
    wide = pd.DataFrame(
        {
            "step": np.arange(10, 40),
            "a": np.arange(30.0),
            "b": np.r_[[np.nan] * 5, np.arange(25.0) ** 1.5],
        }
    )
    panel = read_panel(wide, layout="wide")
    assert panel.time_col == "step" and panel.ids == ("a", "b")
    assert panel.select("b")["step"].tolist() == list(range(15, 40))


def test_a_time_column_of_neither_times_nor_steps_is_refused():
    df = step_table().assign(t=lambda d: d["t"] + 0.5)
    with pytest.raises(DataError, match="does not hold dates or times"):
        read_panel(df, "id", time_col="t")


def test_an_id_column_is_found_when_the_series_never_overlap_in_time_if_named_so():
    from lstm_core.panel_layout import id_candidates

    times = pd.date_range("2024-01-01", periods=40, freq="h")
    df = pd.DataFrame(
        {
            "time": times,
            "store": ["a"] * 20 + ["b"] * 20,
            "regime": ["calm"] * 20 + ["busy"] * 20,
            "v": np.arange(40.0),
        }
    )
    assert id_candidates(df, "time") == ["store"]  # a label of rows is not taken for ids


def test_a_panel_pickles_for_the_apps_own_training_process():
    import pickle

    from lstm_core.data.demos import synthetic_panel
    from lstm_core.panel import read_panel

    p = read_panel(synthetic_panel(3, seed=0).frame, "id")
    q = pickle.loads(pickle.dumps(p))
    assert q.ids == p.ids and q.time_col == p.time_col and q.layout == p.layout
    assert all(q.select(i).equals(p.select(i)) for i in p.ids)
    with pytest.raises(TypeError):
        q.frames["x"] = None  # still read-only
