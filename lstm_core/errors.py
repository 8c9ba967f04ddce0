"""Exceptions for mistakes a user can fix; the CLI turns them into `error:` lines, the app into messages."""

from __future__ import annotations


class LstmCoreError(Exception):
    """Base of every error caused by the user's input (data, config, checkpoint)."""


class ConfigError(LstmCoreError):
    """A configuration key has a bad value; the message names the key and what is allowed."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


class DataError(LstmCoreError):
    """The data cannot be used as given."""


class SeriesTooShort(DataError):
    """Fewer rows than lookback + horizon (+ validation) need."""

    def __init__(self, message: str, minimum: int, suggested_lookback: int | None = None):
        super().__init__(message)
        self.minimum = minimum
        self.suggested_lookback = suggested_lookback


class CheckpointError(LstmCoreError):
    """A file is not a valid checkpoint, or does not match its own config."""


class CheckpointExists(CheckpointError):
    """A no-overwrite save found the name taken (perhaps by a save that ran at the same time)."""


class DeleteRefused(CheckpointError):
    """The checkpoint is not this owner's to delete or restore (or it is the shipped demo)."""


class TrainingError(LstmCoreError):
    """Training could not produce a model (e.g. the loss became non-finite at once)."""


class NonFiniteForecast(LstmCoreError):
    """The model produced NaN or infinite values; such a forecast is never returned."""


class NotFittedError(LstmCoreError, ValueError, AttributeError):
    """A forecaster was asked for what only fitting gives (scikit-learn's pattern: also a
    ValueError and an AttributeError, so ``hasattr(fc, "model_")`` is false before ``fit``)."""
