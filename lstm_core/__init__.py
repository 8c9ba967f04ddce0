"""AttentiveLSTM Studio's engine: config, data, the spec's model, training, forecasting, checkpoints."""

from __future__ import annotations

import importlib

from lstm_core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    LstmCoreError,
    SeriesTooShort,
    TrainingError,
)

# The public names below load on first use: importing the package stays cheap, so
# `python -m lstm_core` reaches its Ctrl-C handler before torch and pandas are imported.
_LAZY = {
    "load": "lstm_core.checkpoint",
    "save": "lstm_core.checkpoint",
    "Config": "lstm_core.config",
    "load_demo": "lstm_core.data",
    "prepare": "lstm_core.data",
    "read_table": "lstm_core.data",
    "Forecaster": "lstm_core.forecaster",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'lstm_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "CheckpointError", "Config", "ConfigError", "DataError", "Forecaster", "LstmCoreError",
    "SeriesTooShort", "TrainingError", "load", "load_demo", "prepare", "read_table", "save",
]
