"""Columns: the configured columns first, then the likeliest target, never a time or empty one."""

from __future__ import annotations

import pandas as pd
import pytest

from lstm_core.columns import column_choice, default_columns, likely_target
from lstm_core.config import Config
from lstm_core.errors import DataError


def test_column_choice_prefers_the_config_then_detection(series, tiny_cfg):
    choice = column_choice(series, tiny_cfg)
    assert (
        choice.time_col == "time" and choice.targets == ("y",) and choice.covariates == ("x1", "x2")
    )
    other = pd.DataFrame(
        {
            "when": pd.date_range("2020", periods=5, freq="D").astype(str),
            "a": range(5),
            "b": [1.0, 2, 3, 4, 6],
        }
    )
    choice = column_choice(other, tiny_cfg)
    assert choice.time_col == "when" and choice.numeric == ("a", "b")
    assert choice.targets == ("a",) and choice.covariates == ()  # no name tells: the first


def test_the_likeliest_target_is_named_like_one_and_never_a_time_or_empty_column():
    ett = pd.DataFrame({c: [1.0, 2.0, 3.0] for c in ("HUFL", "HULL", "OT")})
    assert likely_target(ett, None) == "OT"
    plain = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert likely_target(plain, None) == "a"
    rows = pd.DataFrame({"time": [0, 1, 2], "value": [None, None, None]})
    assert likely_target(rows, None) is None
    with pytest.raises(DataError, match=r"no column of numbers to forecast \(value is empty\)"):
        default_columns(rows)
    # whole numbers under a time-like name are steps: the time column, not a value
    assert default_columns(pd.DataFrame({"time": [0, 1, 2], "value": [1.0, 2, 3]})) == (
        "time",
        "value",
    )


def test_column_choice_proposes_the_likeliest_target():
    df = pd.DataFrame(
        {
            "date": pd.date_range("2020", periods=4, freq="h"),
            **{c: [1.0, 2, 3, 4] for c in ("HUFL", "OT")},
        }
    )
    choice = column_choice(df, Config())
    assert choice.targets == ("OT",) and choice.numeric == ("HUFL", "OT")
