"""Interpretation of a fitted model: what it did (``trace``), how much of each forecast the
network makes (``share``), what drives a forecast (``attributions``), whether each view
reflects that (``faithfulness``), and the gate at change points (``gate_response``)."""

from lstm_core.interpret.trace import (
    CHUNK,
    MAP_ROWS,
    MAX_WINDOWS,
    OnChunk,
    Trace,
    coverage,
    stitch,
    trace,
    window_starts,
)

__all__ = [
    "CHUNK",
    "MAP_ROWS",
    "MAX_WINDOWS",
    "OnChunk",
    "Trace",
    "coverage",
    "stitch",
    "trace",
    "window_starts",
]
