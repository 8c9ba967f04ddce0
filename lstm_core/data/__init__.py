"""Data: reading a file (readers, excel), its time column (times), cleaning (prepare), windows
and scaling, and the demos.

The package re-exports the public names so that ``from lstm_core.data import prepare`` keeps
working; new code may import from the module that owns a name.
"""

from __future__ import annotations

from lstm_core.data.demos import DEMO_DIR, Demo, demo_names, load_demo, synthetic
from lstm_core.data.prepare import (
    PREPARE_FIELDS,
    DataReport,
    Prepared,
    content_hash,
    numeric_columns,
    prepare,
)
from lstm_core.data.readers import read_table
from lstm_core.data.scaling import Scaler
from lstm_core.data.times import (
    TIME_NAMES,
    detect_time_column,
    parse_time_column,
    time_values,
    whole_steps,
)
from lstm_core.data.windows import (
    WINDOWS_PER_STEP,
    check_length,
    few_windows,
    held_out_start,
    make_windows,
    minimum_length,
    reliable_lookback,
    suggest_lookback,
    window_counts,
)

__all__ = [
    "DEMO_DIR",
    "PREPARE_FIELDS",
    "TIME_NAMES",
    "WINDOWS_PER_STEP",
    "DataReport",
    "Demo",
    "Prepared",
    "Scaler",
    "check_length",
    "content_hash",
    "demo_names",
    "detect_time_column",
    "few_windows",
    "held_out_start",
    "load_demo",
    "make_windows",
    "minimum_length",
    "numeric_columns",
    "parse_time_column",
    "prepare",
    "read_table",
    "reliable_lookback",
    "suggest_lookback",
    "synthetic",
    "time_values",
    "whole_steps",
    "window_counts",
]
