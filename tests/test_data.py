"""Data: reading formats, cleaning with a report, clear errors, scaling, windows as views."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from lstm_core.config import DataConfig
from lstm_core.data import (
    Scaler,
    check_length,
    demo_names,
    load_demo,
    make_windows,
    prepare,
    read_table,
    synthetic,
)
from lstm_core.errors import DataError, SeriesTooShort

CSV = "date,load,temp\n2024-01-01,1.0,5\n2024-01-02,2.0,6\n2024-01-03,3.5,7\n2024-01-04,2.5,8\n"


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_delimiter_is_sniffed(sep):
    df = read_table(CSV.replace(",", sep).encode(), "x.csv")
    assert list(df.columns) == ["date", "load", "temp"] and len(df) == 4


def test_other_formats_read_the_same_table(tmp_path):
    df = read_table(CSV.encode(), "x.csv")
    df.to_parquet(tmp_path / "x.parquet")
    df.to_excel(tmp_path / "x.xlsx", index=False)
    (tmp_path / "x.json").write_text(df.to_json(orient="records"))
    for name in ("x.parquet", "x.xlsx", "x.json"):
        got = read_table(tmp_path / name)
        assert list(got.columns) == list(df.columns), name
        assert np.allclose(got["load"], df["load"])


def test_tcpd_json_is_read():
    doc = {"time": {"format": "%Y", "raw": ["2000", "2001", "2002"]},
           "series": [{"label": "v", "raw": [1, None, 3]}]}
    df = read_table(json.dumps(doc).encode(), "s.json")
    assert list(df.columns) == ["time", "v"] and df["v"].isna().sum() == 1


def test_json_list_of_numbers_and_single_value():
    assert read_table(b"[1, 2, 3]", "x.json")["value"].tolist() == [1, 2, 3]
    with pytest.raises(DataError, match="single value"):
        read_table(b"42", "x.json")


def test_unknown_format_and_empty_file_are_refused():
    with pytest.raises(DataError, match="unsupported file type '.docx'"):
        read_table(b"abc", "x.docx")
    with pytest.raises(DataError, match="empty"):
        read_table(b"  ", "x.csv")


def test_prepare_detects_time_sorts_dedups_fills_gaps_and_reports():
    df = pd.DataFrame({
        "when": ["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-02", "2024-01-05", "2024-01-06"],
        "v": [3.0, 1.0, 9.0, 2.0, 5.0, np.nan],
    })
    p = prepare(df, DataConfig())
    assert p.time_col == "when" and p.targets == ("v",)
    assert list(p.frame.index.day) == [1, 2, 3, 4, 5, 6]
    assert p.frame["v"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 5.0]  # last duplicate kept, gap interpolated
    r = p.report
    assert (r.duplicates, r.gaps, r.frequency) == (1, 1, "D")
    assert any("sorted" in a for a in r.actions) and any("interpolated" in a for a in r.actions)


def test_missing_policies():
    df = pd.DataFrame({"v": [1.0, np.nan, 3.0, 4.0]})
    assert prepare(df, DataConfig(missing="ffill")).frame["v"].tolist() == [1, 1, 3, 4]
    with pytest.raises(DataError, match=r"missing values in v \(1\)"):
        prepare(df, DataConfig(missing="refuse"))


def test_no_time_column_uses_row_numbers():
    p = prepare(pd.DataFrame({"v": [1.0, 2.0, 3.0]}), DataConfig())
    assert p.time_col is None and list(p.frame.index) == [0, 1, 2]


def test_year_column_becomes_annual_time():
    d = load_demo("nile")
    p = prepare(d.frame, d.config.data)
    assert p.frame.index[0].year == 1871 and p.freq.startswith("YS")


@pytest.mark.parametrize(
    "frame, cfg, message",
    [
        (pd.DataFrame({"v": ["1", "2", "abc", "4"]}), DataConfig(targets=("v",)),
         "column 'v' has text where numbers are expected: 1 value\\(s\\), first 'abc' at row 4"),
        (pd.DataFrame({"v": [1.0, 2.0], "w": [np.nan, np.nan]}), DataConfig(covariates=("w",)),
         "column 'w' has no values"),
        (pd.DataFrame({"v": [2.0, 2.0, 2.0]}), DataConfig(), "target 'v' is constant"),
        (pd.DataFrame({"v": [2.0]}), DataConfig(), "only 1 row"),
        (pd.DataFrame({"v": [1.0, 2.0]}), DataConfig(targets=("nope",)), "column 'nope' not found"),
        (pd.DataFrame({"name": ["a", "b"]}), DataConfig(), "no numeric column"),
        (pd.DataFrame({"t": ["2024-01-01", "soon", "2024-01-03"] * 4, "v": range(12)}),
         DataConfig(time_col="t"), "time column 't'"),
    ],
)
def test_unusable_columns_are_named(frame, cfg, message):
    with pytest.raises(DataError, match=message):
        prepare(frame, cfg)


def test_too_short_series_says_minimum_and_offers_a_lookback():
    with pytest.raises(SeriesTooShort) as e:
        check_length(60, lookback=96, horizon=24, val_fraction=0.2)
    assert e.value.minimum > 60 and "needs at least" in str(e.value)
    assert e.value.suggested_lookback is not None
    assert f"lookback: {e.value.suggested_lookback}" in str(e.value)
    check_length(60, e.value.suggested_lookback, 24, 0.2)  # the offer works


def test_scaler_uses_only_what_it_is_given():
    values = np.arange(20.0).reshape(10, 2)
    s = Scaler.fit(values[:6])
    assert np.allclose(s.mean, values[:6].mean(0))
    assert np.allclose(s.inverse(s.transform(values)), values)


def test_constant_column_scales_without_dividing_by_zero():
    s = Scaler.fit(np.ones((5, 1)))
    assert s.std == (1.0,)


def test_windows_are_views_not_copies():
    x = torch.arange(30.0).view(10, 3)
    inputs, targets = make_windows(x, lookback=4, horizon=2, n_targets=1)
    assert inputs.shape == (5, 4, 3) and targets.shape == (5, 2, 1)
    assert inputs.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert targets.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert torch.equal(inputs[2], x[2:6]) and torch.equal(targets[2, :, 0], x[6:8, 0])


def test_synthetic_is_seeded_and_has_regimes():
    a, cps = synthetic(n=400, seed=3)
    b, _ = synthetic(n=400, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert cps == [100, 200, 300]
    assert a["y"][cps[0]:cps[1]].mean() - a["y"][: cps[0]].mean() > 2  # level shift


def test_demos_load_and_prepare():
    for name in demo_names():
        d = load_demo(name)
        p = prepare(d.frame, d.config.data)
        check_length(len(p.frame), d.config.data.lookback, d.config.data.horizon,
                     d.config.training.val_fraction)
    with pytest.raises(DataError, match="unknown demo"):
        load_demo("nope")


def test_real_csv_bytes_round_trip():
    df = read_table(CSV.encode(), "x.csv")
    p = prepare(df, DataConfig(covariates=("temp",)))
    assert p.columns == ("load", "temp") and p.freq == "D"


def test_content_hash_follows_content_not_identity():
    a, _ = synthetic(n=50, seed=1)
    from lstm_core.data import content_hash

    assert content_hash(a) == content_hash(a.copy())
    b = a.copy()
    b.loc[3, "y"] += 1e-9
    assert content_hash(a) != content_hash(b)
    assert content_hash(a) != content_hash(a.rename(columns={"y": "z"}))


def test_csv_bytes_go_to_the_parser_with_a_bom_or_bad_bytes():
    """The CSV fast path parses the bytes themselves: a UTF-8 BOM is dropped, and a file with a
    byte that is not UTF-8 still reads (replaced), through the C engine."""
    from lstm_core.data import read_table

    df = read_table(b"\xef\xbb\xbftime,y\n2020-01-01,1\n2020-01-02,2\n", "bom.csv")
    assert list(df.columns) == ["time", "y"] and df["y"].tolist() == [1, 2]
    df = read_table(b"name,y\ncaf\xe9,1\nbar,2\n", "latin.csv")
    assert df["y"].tolist() == [1, 2] and df["name"][0].startswith("caf")
