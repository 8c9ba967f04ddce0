"""Interpretation of a fitted model: what it did (``trace``), how much of each forecast the
network makes (``share``), what drives a forecast (``attributions``), whether each view
reflects that (``faithfulness``), the gate at change points (``gate_response``), and the gate
and attention summed up in words (``readings``)."""

from lstm_core.interpret.trace import (
    CHUNK,
    MAP_ROWS,
    MAX_WINDOWS,
    OnChunk,
    Trace,
    coverage,
    last_steps,
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
    "last_steps",
    "stitch",
    "trace",
    "window_starts",
]
