"""Built-in datasets: a seeded synthetic series with known regime changes, and the Nile."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_core.config import Config
from lstm_core.errors import DataError

DEMO_DIR = Path(__file__).parent.parent / "demo_data"


def synthetic(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, list[int]]:
    """Hourly multivariate series with regime changes in level, variance and correlation.

    Columns: ``time``, target ``y``, covariates ``x1`` (drives y) and ``x2``.

    Returns:
        (frame, change points): each change point is the first row of a new regime.
    """
    rng = np.random.default_rng(seed)
    cps = [n // 4, n // 2, 3 * n // 4]
    t = np.arange(n)
    daily = np.sin(2 * np.pi * t / 24)
    level = np.where(t >= cps[0], 3.0, 0.0)
    scale = np.where((t >= cps[1]) & (t < cps[2]), 2.5, 1.0)
    # AR(1) noise keeps the series forecastable
    e = rng.normal(size=n) * scale
    ar = np.zeros(n)
    for i in range(1, n):
        ar[i] = 0.7 * ar[i - 1] + e[i]
    x1 = daily + 0.5 * rng.normal(size=n)
    x2 = 0.5 * rng.normal(size=n)
    coupling = np.where(t >= cps[2], -1.5, 1.0)  # correlation of y with x1 flips sign
    y = 10 + level + coupling * x1 + 0.5 * ar
    x2 = x2 + 0.3 * ar
    time = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"time": time, "y": y, "x1": x1, "x2": x2}), cps


@dataclass(frozen=True)
class Demo:
    name: str
    description: str
    frame: pd.DataFrame
    config: Config
    change_points: tuple[int, ...] = field(default=())


def demo_names() -> tuple[str, ...]:
    return ("regimes", "nile")


def load_demo(name: str) -> Demo:
    """A built-in dataset with a config that suits it and its known change points."""
    if name == "regimes":
        df, cps = synthetic()
        cfg = Config().replace(
            data={"time_col": "time", "targets": ["y"], "covariates": ["x1", "x2"], "lookback": 48,
                  "horizon": 24},
            training={"epochs": 15},
        )
        text = "Synthetic hourly series (1200 h): level, variance and correlation regime changes"
        return Demo(name, text, df, cfg, tuple(cps))
    if name == "nile":
        df = pd.read_csv(DEMO_DIR / "nile.csv")
        cfg = Config().replace(
            data={"time_col": "year", "targets": ["flow"], "lookback": 12, "horizon": 5},
            training={"epochs": 60, "batch_size": 16, "patience": 10},
        )
        text = "Nile flow at Aswan, 1871-1970 (annual); one change around 1898-1899"
        return Demo(name, text, df, cfg, (28,))
    raise DataError(f"unknown demo {name!r}; choose one of {', '.join(demo_names())}")
