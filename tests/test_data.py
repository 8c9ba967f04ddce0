"""Data: reading formats, cleaning with a report, clear errors, scaling, windows as views."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_core.config import DataConfig
from lstm_core.data.demos import demo_names, load_demo, synthetic
from lstm_core.data.prepare import prepare
from lstm_core.data.readers import read_table
from lstm_core.data.scaling import Scaler
from lstm_core.data.times import detect_time_column
from lstm_core.data.windows import (
    check_length,
    few_windows,
    held_out_start,
    make_windows,
    reliable_lookback,
    window_counts,
)
from lstm_core.errors import DataError, SeriesTooShort
from lstm_core.forecaster import held_out_parts

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


def test_yearly_dates_over_three_centuries_are_kept():
    """TCPD's children_per_woman: 1800-2100, a span whose nanoseconds overflow a Timedelta; it
    was refused as 'YS-JAN is not a usable pandas frequency'."""
    years = [f"{y}-01-01" for y in range(1800, 2101)]
    text = pd.DataFrame({"time": years, "v": np.arange(301.0)}).to_csv(index=False)
    p = prepare(read_table(text.encode(), "x.csv"), DataConfig(time_col="time", targets=("v",)))
    assert len(p.frame) == 301 and p.freq.startswith("YS") and p.frame.index[-1].year == 2100


@pytest.mark.parametrize("first", ["1600-01-15", "1990-01-15"])
def test_dates_pandas_cannot_hold_say_how_to_give_them(first):
    df = pd.DataFrame({"time": [first, "1604-01-15", "1995-01-15"], "v": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="from 1677 to 2262 only: write times outside that"):
        prepare(df, DataConfig(time_col="time", targets=("v",)))


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


def test_window_counts_are_the_windows_fit_and_backtest_use(fitted, series):
    train, held = window_counts(len(series), 16, 4, 0.2)
    split = held_out_start(len(series), 4, 0.2)
    x = torch.zeros(split, 3)
    assert train == len(make_windows(x, 16, 4, 1)[0])
    assert held == len(series) - split - 4 + 1, "validation, check and test windows together"
    # the backtest scores only the test part, which chose nothing (forecaster.held_out_parts)
    _, test_start = held_out_parts(len(series), split, 4)
    assert fitted.backtest(series).windows == len(series) - max(test_start, 16) - 4 + 1 < held


def test_few_training_windows_are_warned_with_a_lookback_that_has_enough():
    # the Nile's 100 years with lookback 48 and horizon 24: 4 training windows
    warning = few_windows(100, 48, 24, 0.2)
    assert warning.startswith("only 4 training windows for a lookback of 48 steps, under the 96")
    assert "intervals likely too narrow; try data.lookback: 17 (35 windows)" in warning
    assert few_windows(100, 17, 24, 0.2) is None  # the offer is enough
    assert reliable_lookback(100, 24, 0.2) == 17
    assert few_windows(1200, 48, 24, 0.2) is None  # the demo's settings
    assert "shorten data.horizon (now 10)" in few_windows(25, 4, 10, 0.2)  # no lookback will do
    for n in range(20, 600, 13):  # every offered lookback can train and is reliable
        lb = reliable_lookback(n, 6, 0.2)
        if lb:
            check_length(n, lb, 6, 0.2)
            assert few_windows(n, lb, 6, 0.2) is None and few_windows(n, lb + 1, 6, 0.2)


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
    from lstm_core.data.prepare import content_hash

    assert content_hash(a) == content_hash(a.copy())
    b = a.copy()
    b.loc[3, "y"] += 1e-9
    assert content_hash(a) != content_hash(b)
    assert content_hash(a) != content_hash(a.rename(columns={"y": "z"}))


# ---------------------------------------------------------------- hostile and odd tables (issue 10)

DAYS = "time,value\n" + "".join(f"2024-01-{i + 1:02d},{i % 7 + 0.5}\n" for i in range(28))


def test_long_text_cells_are_never_date_parsed(monkeypatch):
    from lstm_core.data import times

    seen = []
    real = pd.to_datetime

    def spy(arg, *a, **k):
        if isinstance(arg, pd.Series):
            seen.append(int(arg.dropna().astype(str).str.len().max() or 0))
        return real(arg, *a, **k)

    monkeypatch.setattr(pd, "to_datetime", spy)
    df = read_table((DAYS + "2024-01-29 " + "a" * 800_000 + ",1\n").encode(), "x.csv")
    with pytest.raises(DataError, match="1 value\\(s\\) are not times, first at row 30") as e:
        prepare(df, DataConfig())
    assert seen and max(seen) <= times.MAX_TIME_CHARS  # the 800 KB cell never reached the parser
    assert len(str(e.value)) < 300


def test_time_is_sniffed_on_a_sample_first(monkeypatch):
    from lstm_core.data import times

    sizes = []
    real = pd.to_datetime
    monkeypatch.setattr(pd, "to_datetime", lambda arg, *a, **k: (sizes.append(len(arg)),
                                                                 real(arg, *a, **k))[1])
    df = pd.DataFrame({"name": ["not a date"] * 50_000, "v": np.arange(50_000.0)})
    prepare(df, DataConfig())
    assert sizes and max(sizes) <= times.SNIFF_ROWS  # a text column was tried on a sample only


@pytest.mark.parametrize("value, row", [("inf", 5), ("-inf", 5), ("1e308", 5), ("-1e200", 5)])
def test_non_finite_and_overflowing_values_are_refused_with_the_rows(value, row):
    df = read_table(DAYS.replace(",3.5\n", f",{value}\n", 1).encode(), "x.csv")
    with pytest.raises(DataError, match=f"column 'value' has 1 infinite or too large value\\(s\\).*"
                                        f"row\\(s\\) {row} "):
        prepare(df, DataConfig())


def test_values_far_outside_the_training_scale_are_refused():
    s = Scaler((0.0,), (1.0,))
    with pytest.raises(DataError, match="input column 1 at row 2 .* standard deviations"):
        s.transform(np.array([[1.0], [1e12]]))


def test_mixed_naive_and_zoned_times_are_refused_and_offsets_become_utc():
    mixed = "time,v\n" + "".join(
        f"2024-01-01 {h:02d}:00{'+01:00' if h % 2 else ''},{h}\n" for h in range(6))
    with pytest.raises(DataError, match="mixes times with and without a time zone"):
        prepare(read_table(mixed.encode(), "x.csv"), DataConfig())
    dst = ("time,v\n2024-03-31 00:00+01:00,1\n2024-03-31 01:00+01:00,2\n"
           "2024-03-31 03:00+02:00,3\n2024-03-31 04:00+02:00,4\n")
    p = prepare(read_table(dst.encode(), "x.csv"), DataConfig())
    assert str(p.frame.index.tz) == "UTC" and p.report.gaps == 0


def test_a_wrong_frequency_is_refused_before_the_grid_is_built(monkeypatch):
    real = pd.date_range
    calls = []
    monkeypatch.setattr(pd, "date_range", lambda *a, **k: (calls.append(k), real(*a, **k))[1])
    df = read_table(DAYS.encode(), "x.csv")
    for freq in ("ns", "us", "ms"):
        with pytest.raises(DataError, match=f"frequency '{freq}' would turn 28 rows into about"):
            prepare(df, DataConfig(frequency=freq))
    assert calls and all("periods" in k for k in calls)  # only the 8-step probe ran, never start..end


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig",
                                      "cp1252"])
def test_text_encodings_are_read(encoding):
    text = DAYS.replace("value", "wärme")
    df = read_table(text.encode(encoding), "x.csv")
    assert list(df.columns) == ["time", "wärme"] and len(df) == 28
    assert prepare(df, DataConfig()).targets == ("wärme",)


def test_semicolon_csv_with_decimal_commas_is_numeric():
    text = "datum;last;temp\n" + "".join(f"2024-01-{d:02d};{d},5;-{d},25\n" for d in range(1, 6))
    p = prepare(read_table(text.encode(), "x.csv"), DataConfig(covariates=("temp",)))
    assert p.frame["last"].tolist() == [1.5, 2.5, 3.5, 4.5, 5.5]
    assert p.frame["temp"].iloc[0] == -1.25


def test_rows_longer_than_the_header_are_refused():
    with pytest.raises(DataError, match="more fields than the header \\(2\\)"):
        read_table(("a,b\n" + ',"' * 10_000 + "\n").encode(), "x.csv")


def _workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf) as w:
        for name, df in sheets.items():
            df.to_excel(w, sheet_name=name, index=False)
    return buf.getvalue()


def test_excel_reads_the_first_sheet_with_data_or_the_one_asked_for():
    a = pd.DataFrame({"v": [1.0, 2.0, 4.0]})
    raw = _workbook({"notes": pd.DataFrame(), "a": a, "b": a * 10})
    df = read_table(raw, "x.xlsx")
    assert df["v"].tolist() == [1, 2, 4]
    assert df.attrs == {"sheet": "a", "sheets": ("notes", "a", "b")}
    assert read_table(raw, "x.xlsx", sheet="b")["v"].tolist() == [10, 20, 40]
    assert read_table(raw, "x.xlsx", sheet=2)["v"].tolist() == [10, 20, 40]
    with pytest.raises(DataError, match="no sheet 'c'; the sheets are notes, a, b"):
        read_table(raw, "x.xlsx", sheet="c")
    with pytest.raises(DataError, match="no sheet of the workbook holds data"):
        read_table(_workbook({"x": pd.DataFrame(), "y": pd.DataFrame()}), "x.xlsx")


def test_an_excel_file_that_unpacks_to_too_much_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", " " * 120_000_000)
    assert len(buf.getvalue()) < 1_000_000
    with pytest.raises(DataError, match="unpacks to 114 MB, over 100 MB"):
        read_table(buf.getvalue(), "x.xlsx")


BAD = Path(__file__).parent / "data" / "bad"  # tools/make_bad_corpus.py writes these


def test_a_sheet_whose_dimension_spans_the_whole_grid_is_refused_before_any_row():
    with pytest.raises(DataError, match=r"sheet 'Sheet' spans A1:XFD1048576 \(1,048,576 rows x "
                                        r"16,384 columns\).*delete the cells outside the table"):
        read_table(BAD / "data-xfd1048576.xlsx")


@pytest.mark.parametrize("name", ["dimension-lies", "no-dimension"])
def test_a_far_cell_behind_a_lying_or_missing_dimension_is_found_while_streaming(name):
    with pytest.raises(DataError, match=r"value at row 1,048,576, column 16,384: its table would "
                                        r"be 1,048,576 rows x 16,384 columns"):
        read_table(BAD / f"data-xfd1048576-{name}.xlsx")


def test_the_sheet_cap_counts_cells_as_pandas_pads_them(monkeypatch):
    from lstm_core.data import excel

    with pytest.raises(DataError, match="1,048,576 rows x 6 columns, over the 10,000 columns or "
                                        "5,000,000 cells"):
        read_table(BAD / "data-padded-6M-cells.xlsx")
    raw = _workbook({"a": pd.DataFrame({"t": range(30), "v": range(30)})})
    assert read_table(raw, "x.xlsx").shape == (30, 2)
    monkeypatch.setattr(excel, "MAX_SHEET_CELLS", 50)  # 31 rows x 2 columns with the header
    with pytest.raises(DataError, match=r"spans A1:B31 \(31 rows x 2 columns\), over the "
                                        "10,000 columns or 50 cells"):
        read_table(raw, "x.xlsx")


def test_shared_strings_are_capped_by_the_zip_directory(monkeypatch):
    from lstm_core.data import excel

    with pytest.raises(DataError, match=r"sharedStrings.xml unpacks \d+ times its packed size "
                                        r"\(90 MB\).*zip bomb"):
        read_table(BAD / "data-shared-strings-bomb.xlsx")
    book = io.BytesIO(_workbook({"a": pd.DataFrame({"v": [1.0, 2.0]})}))
    with zipfile.ZipFile(book, "a") as z:
        z.writestr("xl/sharedStrings.xml", "<sst>" + "<si><t>x</t></si>" * 100 + "</sst>")
    monkeypatch.setattr(excel, "MAX_SHARED_STRINGS", 1000)
    with pytest.raises(DataError, match="shared strings unpack to 0 MB, over 0 MB"):
        read_table(book.getvalue(), "x.xlsx")
    monkeypatch.setattr(excel, "MAX_XLSX_PART", 5000)  # its theme: 10 KB
    with pytest.raises(DataError, match="part xl/theme/theme1.xml unpacks to 0 MB, over 0 MB for "
                                        "a part that holds no cells"):
        read_table(_workbook({"a": pd.DataFrame({"v": [1.0, 2.0]})}), "x.xlsx")


@pytest.mark.parametrize("name", ["keys-15000.json", "keys-15000.jsonl", "sparse-columns.json"])
def test_json_keys_are_counted_while_parsing(name):
    with pytest.raises(DataError, match=r"4,47\d JSON objects with 4,47\d different keys could "
                                        "make a table over the 20,000,000 cells read"):
        read_table(BAD / f"data-{name}")


def test_json_nesting_and_object_count_are_capped(monkeypatch):
    from lstm_core.data import readers

    with pytest.raises(DataError, match="nests JSON arrays or objects too deeply"):
        read_table(BAD / "data-deep-objects.json")
    columns = pd.DataFrame({"t": range(30_000), "v": range(30_000)}).to_json()  # {"t": {"0": ..
    assert read_table(columns.encode(), "x.json").shape == (30_000, 2)
    monkeypatch.setattr(readers, "MAX_JSON_OBJECTS", 10)
    with pytest.raises(DataError, match="over 10 JSON objects"):
        read_table(json.dumps([{"v": i} for i in range(20)]).encode(), "x.json")


def test_cell_and_column_caps_apply_before_parsing(monkeypatch, tmp_path):
    from lstm_core.data import readers

    monkeypatch.setattr(readers, "MAX_CELLS", 100)
    with pytest.raises(DataError, match="about 60 rows x 2 columns, over the 100 cells"):
        read_table(("a,b\n" + "1,2\n" * 60).encode(), "x.csv")
    pd.DataFrame({"v": np.zeros(200)}).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(DataError, match="200 rows x 1 columns"):
        read_table(tmp_path / "x.parquet")
    with pytest.raises(DataError, match="12000 columns; at most 10000"):
        read_table((",".join(["c"] * 12_000) + "\n").encode(), "x.csv")
    monkeypatch.setattr(readers, "MAX_PARQUET_FOOTER", 1024)  # 200 columns: ~40 KB of metadata
    pd.DataFrame({f"c{i}": [1.0] for i in range(200)}).to_parquet(tmp_path / "w.parquet")
    with pytest.raises(DataError, match="its Parquet metadata is 0 MB, over 0 MB"):
        read_table(tmp_path / "w.parquet")


def test_a_long_header_line_is_refused_before_it_is_copied(monkeypatch):
    from lstm_core.data import readers

    monkeypatch.setattr(readers, "MAX_HEADER", 1000)
    with pytest.raises(DataError, match="has 12001 columns; at most 10000"):
        read_table(("c;" * 12_000 + "c\n1\n").encode(), "x.csv")
    with pytest.raises(DataError, match="first line \\(the header\\) is 1,200 characters long, "
                                        "over the 1,000 read"):
        read_table(("c" * 1200 + "\n1\n").encode(), "x.csv")
    assert read_table(("c" * 900 + "\n1\n").encode(), "x.csv").shape == (1, 1)


def test_messages_list_a_bounded_number_of_columns():
    df = pd.DataFrame({f"column_{i}": [1.0, 2.0, 3.0] for i in range(5000)})
    with pytest.raises(DataError, match=r"column 'nope' not found; columns are column_0, .*"
                                        r"\(4992 more\)") as e:
        prepare(df, DataConfig(targets=("nope",)))
    assert len(str(e.value)) < 300


def test_devices_pipes_and_oversized_files_are_refused(tmp_path, monkeypatch):
    from lstm_core.data import readers

    if Path("/dev/zero").exists():
        with pytest.raises(DataError, match="/dev/zero is a device or pipe"):
            read_table("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.csv")
        with pytest.raises(DataError, match="device or pipe"):  # and does not block
            read_table(tmp_path / "pipe.csv")
    (tmp_path / "big.csv").write_text("v\n" + "1\n" * 100)
    monkeypatch.setattr(readers, "MAX_BYTES", 50)
    with pytest.raises(DataError, match="larger than 0 KB"):
        read_table(tmp_path / "big.csv")


def test_column_names_stay_unique_after_trimming_and_wide_tables_do_not_warn():
    import warnings

    df = read_table(b"v, v,v\n1,2,3\n3,4,4\n5,7,1\n6,1,0\n", "x.csv")
    # pandas 3 names the third "v.1" already (so it becomes "v.1.1"); pandas 2 names it "v.2"
    assert list(df.columns)[:2] == ["v", "v.1"] and df.columns[2] in ("v.1.1", "v.2")
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 300)),
                        columns=[f"c{i}" for i in range(300)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be a second line on the CLI's stderr
        p = prepare(wide, DataConfig(targets=("c0",), covariates=tuple(wide.columns[1:])))
    assert p.frame.shape == (30, 300)


# ---------------------------------------------------------------- whole-number time columns


def test_a_column_of_steps_is_a_time_column_with_its_spacing():
    df = pd.DataFrame({"step": [0, 5, 10, 20, 25, 30], "value": [1.0, 2, 3, 5, 4, 6]})
    prep = prepare(df, DataConfig())
    assert prep.time_col == "step"
    assert prep.frame.index.tolist() == [0, 5, 10, 15, 20, 25, 30]
    assert any("inserted 1 missing step" in a for a in prep.report.actions)
    from lstm_core.forecaster import future_index

    assert future_index(prep.frame.index, 2, prep.freq).tolist() == [35, 40]


def test_an_explicit_integer_time_column_is_sorted_not_refused():
    df = pd.DataFrame({"t": [3, 1, 2, 2], "v": [1.0, 2, 3, 4]})
    prep = prepare(df, DataConfig(time_col="t"))
    assert prep.frame.index.tolist() == [1, 2, 3] and prep.frame["v"].tolist() == [2.0, 4, 1]
    years = prepare(pd.DataFrame({"year": [1990, 1991, 1993], "v": [1.0, 2, 4]}), DataConfig())
    assert len(years.frame) == 4  # years stay calendar years, with the gap filled


def test_time_and_an_empty_value_column_is_refused_not_trained_on_time():
    df = pd.DataFrame({"time": np.arange(10), "value": [np.nan] * 10})
    with pytest.raises(DataError, match="'value' has no values"):
        prepare(df, DataConfig())
    # a column of data that is not a time-named sequence is never taken for time
    data = pd.DataFrame({"t": [5, 3, 8, 1], "load": [1.0, 2, 3, 4]})
    assert detect_time_column(data) is None


def test_csv_bytes_go_to_the_parser_with_a_bom_or_bad_bytes():
    """The CSV fast path parses the bytes themselves: a UTF-8 BOM is dropped, and a file with a
    byte that is not UTF-8 still reads (replaced), through the C engine."""
    from lstm_core.data.readers import read_table

    df = read_table(b"\xef\xbb\xbftime,y\n2020-01-01,1\n2020-01-02,2\n", "bom.csv")
    assert list(df.columns) == ["time", "y"] and df["y"].tolist() == [1, 2]
    df = read_table(b"name,y\ncaf\xe9,1\nbar,2\n", "latin.csv")
    assert df["y"].tolist() == [1, 2] and df["name"][0].startswith("caf")


# ---------------------------------------------------------------- the user's rows (issue 19.4)
# A series on irregular 13-15 day steps is re-gridded to 14 days (rows inserted); change points
# and known change points must still be told in the rows and times of the user's own table.


def _irregular(n: int = 300, changes: tuple[int, ...] = (120, 210), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = pd.Timestamp("2001-01-02") + pd.to_timedelta(np.cumsum(rng.choice([13, 14, 15], n)), "D")
    level = np.zeros(n)
    for k, c in enumerate(changes):
        level[c:] = 6.0 * (k + 1) * (-1) ** k
    return pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "price": level + rng.normal(size=n)})


def test_regridded_rows_map_back_to_the_users_rows():
    df = _irregular()
    prep = prepare(df, DataConfig())
    assert prep.report.gaps > 0 and len(prep.frame) == len(df) + prep.report.gaps
    assert prep.regridded and prep.n_user == len(df)
    grid = prep.grid_rows(range(len(df)))
    assert prep.user_rows(grid) == list(range(len(df)))  # every user row round-trips
    times = pd.to_datetime(df["date"])
    assert (prep.user_times([0, 120, 299]) == pd.DatetimeIndex(times.iloc[[0, 120, 299]])).all()
    inserted = [g for g in range(len(prep.frame)) if prep.source[g] < 0]
    for g in inserted[:20]:  # an inserted row belongs to the user's next row in time
        u = prep.user_rows([g])[0]
        assert prep.frame.index[g] < prep.user_times([u])[0]
        assert u == 0 or prep.user_times([u - 1])[0] < prep.frame.index[g]
    with pytest.raises(DataError, match="row 300 is outside the series"):
        prep.grid_rows([300])


def test_sorted_and_duplicated_rows_keep_the_users_numbers():
    df = pd.DataFrame({"t": [3, 1, 2, 2, 4, 5, 6], "y": [3.0, 1, 9, 2, 4, 5, 6]})
    prep = prepare(df, DataConfig(time_col="t", targets=("y",)))
    assert prep.frame["y"].tolist() == [1.0, 2, 3, 4, 5, 6]  # sorted, the last duplicate kept
    assert prep.user_rows(range(6)) == [1, 3, 0, 4, 5, 6]
    assert prep.grid_rows([0, 2, 3]) == [2, 1, 1]  # a dropped duplicate: the row kept
    plain = prepare(pd.DataFrame({"y": [1.0, 2, 3, 4]}), DataConfig())
    assert not plain.regridded and plain.user_rows([2]) == [2] and plain.grid_rows([3]) == [3]


def test_detection_on_a_regridded_series_speaks_in_the_users_rows():
    from lstm_core import changepoints
    from lstm_core.changepoints.rows import change_point_rows, detection_json

    df = _irregular()
    prep = prepare(df, DataConfig())
    det = changepoints.detect(prep, known=prep.grid_rows([120, 210]))
    assert det.metrics.sentence() == "found 2 of 2 known change points"
    rows = change_point_rows(det, prep)
    for k in (120, 210):  # each change seen at its row of the 300-row file, not of the grid
        assert min(abs(rows["row"] - k)) <= 2
    assert max(rows["row"]) < len(df)
    assert list(rows["time"]) == list(prep.user_times(rows["row"].tolist()))
    assert "index" not in rows and not any("n/a" in str(v) for v in rows.iloc[:, -1])
    payload = detection_json(det, prep)
    assert [p["index"] for p in payload["change_points"]] == rows["row"].tolist()
    points = payload["change_points"]
    assert points and all(p["grid_index"] > p["index"] for p in points)
    assert payload["n_rows"] == len(df)
    naive = changepoints.detect(prep, known=[120, 210])  # the grid's rows: the old mistake
    assert naive.metrics.found == 0


def test_cli_detect_reads_and_prints_the_files_rows(tmp_path, capsys):
    import json

    from lstm_core.cli import main

    path = tmp_path / "irregular.csv"
    _irregular().to_csv(path, index=False)
    assert main(["detect", str(path), "--known", "120,210", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["found"] == 2 and out["metrics"]["known"] == 2
    for k in (120, 210):
        assert min(abs(p["index"] - k) for p in out["change_points"]) <= 2
    assert main(["detect", str(path), "--known", "120,210"]) == 0
    text = capsys.readouterr().out
    assert "found 2 of 2 known change points" in text and "inserted" in text
    assert main(["detect", str(path), "--known", "300"]) == 2
    assert "row 300 is outside the series" in capsys.readouterr().err


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.sampled_from([0, 1, 1, 1, 2, 3]), min_size=6, max_size=40),
    order=st.randoms(use_true_random=False),
)
def test_any_users_row_maps_to_a_grid_row_of_the_same_time(gaps, order):
    # steps of 1 day with repeats (0), gaps (2, 3) and any row order: each user row lands on the
    # grid row of its own time, and that grid row maps back to a user row of the same time
    days = np.cumsum(gaps)
    rows = list(range(len(days)))
    order.shuffle(rows)
    t = pd.Timestamp("2020-01-01") + pd.to_timedelta(days[rows], "D")
    df = pd.DataFrame({"time": t.strftime("%Y-%m-%d"), "y": np.arange(len(rows)) % 5 + 0.5})
    try:
        prep = prepare(df, DataConfig(time_col="time", targets=("y",), frequency="D"))
    except (DataError, SeriesTooShort):
        return  # too few distinct days, or constant after dropping duplicates
    users = list(range(len(df)))
    grid = prep.grid_rows(users)
    assert (prep.frame.index[grid] == pd.DatetimeIndex(t)).all()
    back = prep.user_rows(grid)
    assert (pd.DatetimeIndex(t[back]) == pd.DatetimeIndex(t)).all()
