"""Point and interval metrics, the naive baselines, and seasonality from a frequency."""

from __future__ import annotations

import numpy as np
import pandas as pd

# seasonal period by pandas frequency prefix (hours in a day, days in a week, ...)
_SEASON = {"min": 60, "h": 24, "D": 7, "B": 5, "W": 52, "M": 12, "MS": 12, "ME": 12, "Q": 4,
           "QS": 4, "QE": 4}


def season_length(freq: str | None) -> int:
    """The natural seasonal period of a frequency (24 for hourly, 7 for daily...), else 1."""
    if not freq:
        return 1
    base = "".join(ch for ch in freq.split("-")[0] if not ch.isdigit())
    return _SEASON.get(base, _SEASON.get(base.upper(), 1))


def naive(history: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Last value repeated: history (T, K), origins (N,) row of the first forecast step -> (N, H, K)."""
    return np.repeat(history[origins - 1][:, None, :], horizon, axis=1)


def seasonal_naive(history: np.ndarray, origins: np.ndarray, horizon: int, m: int) -> np.ndarray:
    """Value one season earlier: y_hat[t+h] = y[t+h-m*ceil(h/m)] -> (N, H, K)."""
    h = np.arange(1, horizon + 1)
    back = m * np.ceil(h / m).astype(int)  # steps back, always into the known past
    idx = origins[:, None] - 1 + h[None, :] - back[None, :]  # (N, H)
    return history[np.clip(idx, 0, None)]


def metrics(
    y: np.ndarray,
    y_hat: np.ndarray,
    scale: np.ndarray,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
) -> dict[str, float]:
    """MAE, RMSE, MASE, sMAPE (%) and 80% coverage over all windows, steps and targets.

    Args:
        y, y_hat: (N, H, K) actual and forecast values in the data's units.
        scale: (K,) in-sample MAE of the one-step naive forecast, the MASE denominator.
        lo, hi: (N, H, K) 0.1 and 0.9 quantiles, if the method has an interval.
    """
    err = y_hat - y
    denom = np.abs(y) + np.abs(y_hat)
    smape = np.where(denom > 0, 2 * np.abs(err) / np.where(denom > 0, denom, 1), 0.0)
    out = {
        "MAE": float(np.abs(err).mean()),
        "RMSE": float(np.sqrt((err**2).mean())),
        "MASE": float((np.abs(err) / np.where(scale > 0, scale, 1)).mean()),
        "sMAPE": float(100 * smape.mean()),
        "coverage80": float("nan"),
    }
    if lo is not None and hi is not None:
        out["coverage80"] = float(((y >= lo) & (y <= hi)).mean())
    return out


def metrics_table(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Methods as rows, metrics as columns."""
    return pd.DataFrame.from_dict(rows, orient="index")
