"""Built-in datasets: a seeded synthetic series with known regime changes, the Nile, and a seeded
synthetic panel (many hourly series sharing a few daily shapes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

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
            data={
                "time_col": "time",
                "targets": ["y"],
                "covariates": ["x1", "x2"],
                "lookback": 48,
                "horizon": 24,
            },
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


@dataclass(frozen=True)
class SyntheticPanel:
    """A seeded panel with known structure; ``frame`` is its long table (id, time, value)."""

    frame: pd.DataFrame
    breaks: Mapping[str, int]  # id -> row of a level break (only the series that have one)
    shapes: Mapping[str, int]  # id -> which shared daily shape the series follows


def synthetic_panel(
    n_series: int = 300,
    length: tuple[int, int] = (240, 480),
    seed: int = 0,
    n_shapes: int = 4,
) -> SyntheticPanel:
    """Hourly series that share a few daily shapes, with their own level, scale, trend, noise,
    length and start; about a third have a level break.

    Each series: level + scale x (amplitude x shape[k](hour) + AR(1) noise) + trend, where the
    amplitude ramps with a slow weekly swell, so the daily pattern's size moves over time
    (multiplicatively: a linear map of the window can follow it only partly).

    Args:
        n_series: how many series.
        length: fewest and most rows of a series (inclusive).
        seed: the random seed; equal seeds give equal panels.
        n_shapes: shared daily shapes.
    """
    rng = np.random.default_rng(seed)
    hours = np.arange(24)
    shapes = []
    for _ in range(n_shapes):  # smooth daily profiles: a few harmonics, zero mean, unit spread
        s = sum(
            rng.normal() / k * np.sin(2 * np.pi * k * (hours + rng.uniform(0, 24)) / 24)
            for k in (1, 2, 3)
        )
        shapes.append((s - s.mean()) / s.std())
    frames, breaks, kinds = [], {}, {}
    origin = pd.Timestamp("2024-01-01")
    for i in range(n_series):
        sid = f"S{i:04d}"
        n = int(rng.integers(length[0], length[1] + 1))
        start = origin + pd.Timedelta(hours=int(rng.integers(0, 24 * 60)))
        t = np.arange(n)
        hour = (start.hour + t) % 24
        k = int(rng.integers(n_shapes))
        swell = 1 + 0.5 * np.sin(2 * np.pi * (t + rng.uniform(0, 168)) / 168)
        e = rng.normal(size=n)
        ar = np.zeros(n)
        phi = rng.uniform(0.3, 0.8)
        for j in range(1, n):
            ar[j] = phi * ar[j - 1] + e[j]
        body = rng.uniform(1.0, 3.0) * swell * shapes[k][hour] + 0.4 * ar
        level = rng.lognormal(3, 1)
        scale = rng.lognormal(0, 1)
        trend = rng.normal(0, 0.01) * t if rng.random() < 0.3 else 0.0
        y = level + scale * (body + trend)
        if rng.random() < 1 / 3:
            cp = int(rng.integers(n // 4, 3 * n // 4))
            y[cp:] += scale * rng.choice([-1, 1]) * rng.uniform(2, 4)
            breaks[sid] = cp
        kinds[sid] = k
        frames.append(
            pd.DataFrame({"id": sid, "time": pd.date_range(start, periods=n, freq="h"), "value": y})
        )
    return SyntheticPanel(
        pd.concat(frames, ignore_index=True), MappingProxyType(breaks), MappingProxyType(kinds)
    )
