"""Text: numbers, times and frequencies as people read them; torch stays out of the import."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from lstm_core.text import fmt_number, fmt_times, format_metrics, frequency_words


def test_importing_text_leaves_torch_out():
    code = "import sys, lstm_core.text; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "value, text",
    [
        (297712.3, "297,712"),
        (4.1835, "4.184"),
        (0.012345, "0.01235"),
        (0.0, "0"),
        (2.5e-5, "2.50e-05"),
        (None, "n/a"),
        (float("nan"), "n/a"),
        (float("inf"), "n/a"),
        (pd.NA, "n/a"),
    ],
)
def test_fmt_number_reads_like_a_person_writes(value, text):
    assert fmt_number(value) == text


@pytest.mark.parametrize(
    "freq, words",
    [
        ("h", "hourly"),
        ("MS", "monthly"),
        ("15min", "every 15 minutes"),
        ("D", "daily"),
        ("W-SUN", "weekly"),
        ("2h", "every 2 hours"),
        ("YS", "yearly"),
        (None, "none (row numbers)"),
    ],
)
def test_frequency_words(freq, words):
    assert frequency_words(freq) == words


def test_times_drop_what_does_not_vary():
    months = pd.date_range("1949-01-01", periods=3, freq="MS")
    assert fmt_times(months, "MS") == ["1949-01", "1949-02", "1949-03"]
    days = pd.date_range("2020-01-01", periods=2, freq="D")
    assert fmt_times(days, "D") == ["2020-01-01", "2020-01-02"]
    hours = pd.date_range("2020-01-01", periods=2, freq="h")
    assert fmt_times(hours, "h") == ["2020-01-01 00:00", "2020-01-01 01:00"]
    assert fmt_times(pd.RangeIndex(3), None) == ["0", "1", "2"]


def test_format_metrics_says_na_where_a_method_has_no_interval(fitted, series):
    table = format_metrics(fitted.backtest(series).table)
    assert table.loc["naive (last value)", "coverage80"] == "n/a"
    assert table.loc["AttentiveLSTM", "coverage80"] != "n/a"
