"""Per-column standardisation fitted on the training part only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_core.data.limits import MAX_SCALED
from lstm_core.errors import DataError


@dataclass(frozen=True)
class Scaler:
    """Per-column standardisation fitted on the training part only."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        """values (T, F) -> Scaler; a constant column gets std 1."""
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(tuple(map(float, mean)), tuple(map(float, std)))

    @classmethod
    def fit_level(cls, values: np.ndarray) -> Scaler:
        """values (T, F) -> Scaler that only divides, by each column's mean absolute value
        (its level), so scaled values are ratios to the level and a window's own level means
        something (``data.window_norm``); a column of zeros falls back to ``fit``."""
        plain = cls.fit(values)
        level = np.abs(values).mean(axis=0)
        return cls(
            tuple(0.0 if lv > 1e-12 else m for lv, m in zip(level, plain.mean)),
            tuple(float(lv) if lv > 1e-12 else s for lv, s in zip(level, plain.std)),
        )

    @classmethod
    def for_norm(cls, values: np.ndarray, window_norm: str = "none") -> Scaler:
        """The scaling ``data.window_norm`` asks for: standardised ("none") or by the level."""
        return cls.fit(values) if window_norm == "none" else cls.fit_level(values)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """values (T, F) -> standardised (T, F).

        Raises:
            DataError: a value lies more than MAX_SCALED standard deviations from the mean: the
                model computes in float32, where such values overflow into NaN.
        """
        z = (values - np.asarray(self.mean)) / np.asarray(self.std)
        far = np.abs(z) > MAX_SCALED
        if far.any():
            i, j = np.argwhere(far)[0]
            raise DataError(
                f"input column {j + 1} at row {i + 1} of the series is {abs(z[i, j]):.3g} "
                "standard deviations from the training rows' mean: the data is on another scale "
                "than the model learnt (or has an outlier); fix that row or retrain"
            )
        return z

    def inverse(self, values: np.ndarray, columns: slice | list[int] = slice(None)) -> np.ndarray:
        """Undo the scaling of the given columns (the last axis of ``values``)."""
        return values * np.asarray(self.std)[columns] + np.asarray(self.mean)[columns]
