"""AttentiveLSTM Studio's engine: config, data, the spec's model, training, forecasting, checkpoints."""

from lstm_core.checkpoint import load, save
from lstm_core.config import Config
from lstm_core.data import load_demo, prepare, read_table
from lstm_core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    LstmCoreError,
    SeriesTooShort,
    TrainingError,
)
from lstm_core.forecaster import Forecaster

__all__ = [
    "CheckpointError", "Config", "ConfigError", "DataError", "Forecaster", "LstmCoreError",
    "SeriesTooShort", "TrainingError", "load", "load_demo", "prepare", "read_table", "save",
]
