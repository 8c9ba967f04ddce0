"""Seeded synthetic series with known change points of every kind, and no-change controls.

In the spirit of ruptures' ``pw_constant``: ``pw_change(kind, n, n_features, n_bkps, seed)``
returns one series with its change points; ``suite(seed)`` the benchmark's and tests' set.
Noise is AR(1) with a coefficient drawn in [0, 0.5] and unit spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("level", "spread", "trend", "seasonality", "partial", "correlation")
# no change at all, but each looks like one to a naive detector
CONTROLS = ("trending", "seasonal", "ar1", "heavy_tailed", "correlated")


@dataclass(frozen=True)
class Synthetic:
    """One generated series and what changes in it."""

    name: str
    kind: str  # a change kind ("partial": a level shift in some columns), or "none"
    signal: np.ndarray  # (n, d)
    change_points: tuple[int, ...]  # first row of each new regime
    columns: tuple[tuple[int, ...], ...]  # columns that change at each change point
    period: int | None = None  # the seasonal period, where there is one (24, hourly)


def _bkps(n: int, n_bkps: int, rng: np.random.Generator, min_gap: int) -> list[int]:
    """n_bkps change points at least min_gap apart and from the ends."""
    while True:
        pts = np.sort(rng.integers(min_gap, n - min_gap, size=n_bkps))
        if n_bkps == 0 or np.all(np.diff(np.r_[0, pts, n]) >= min_gap):
            return [int(p) for p in pts]


def _ar1(
    n: int, d: int, phi: float, rng: np.random.Generator, df: float | None = None
) -> np.ndarray:
    """(n, d) AR(1) noise with unit marginal spread (t-distributed innovations if df)."""
    e = rng.standard_t(df, size=(n, d)) / np.sqrt(df / (df - 2)) if df else rng.normal(size=(n, d))
    e *= np.sqrt(1 - phi**2)
    x = np.zeros((n, d))
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def _segments(n: int, bkps: list[int]) -> np.ndarray:
    """(n,) segment number of each row."""
    return np.searchsorted(np.asarray(bkps), np.arange(n), side="right")


def pw_change(
    kind: str, n: int = 600, n_features: int = 1, n_bkps: int = 2, seed: int = 0
) -> Synthetic:
    """One series of ``kind`` (one of KINDS, or a no-change control of CONTROLS).

    Args:
        kind: what changes (level, spread, trend = slope, seasonality = period or amplitude,
            partial = level in some of >= 3 columns, correlation = between columns 0 and 1).
        n: rows.
        n_features: columns (partial uses at least 3, correlation at least 2).
        n_bkps: change points, at least max(n / 8, 40) rows apart and from the ends.
        seed: random seed.

    Returns:
        Synthetic with the signal (n, d) and the change points.
    """
    rng = np.random.default_rng(seed)
    phi = float(rng.uniform(0.0, 0.5))
    d = n_features
    bkps = _bkps(n, n_bkps, rng, max(n // 8, 40)) if kind in KINDS else []
    if kind in _CHANGES:
        x, cols = _CHANGES[kind](n, d, bkps, _segments(n, bkps), phi, rng)
    elif kind in _CONTROLS:
        x, cols = _CONTROLS[kind](n, d, phi, rng), []
    else:
        raise ValueError(f"unknown kind {kind!r}; choose from {KINDS + CONTROLS}")
    name = f"{kind}_d{x.shape[1]}_s{seed}"
    period = 24 if kind in ("seasonality", "seasonal") else None
    return Synthetic(name, kind if kind in KINDS else "none", x, tuple(bkps), tuple(cols), period)


# Each kind of change: (n, d, bkps, seg (n,) segment of each row, phi, rng) -> (signal (n, d),
# the columns that change at each change point). The draws from ``rng`` come in a fixed order:
# the benchmark's figures depend on the very numbers.
Columns = list[tuple[int, ...]]


def _level(n, d, bkps, seg, phi, rng) -> tuple[np.ndarray, Columns]:
    noise = _ar1(n, d, phi, rng)
    jumps = rng.choice([-1, 1], size=(len(bkps), d)) * rng.uniform(1.5, 3.0, size=(len(bkps), d))
    means = np.vstack([np.zeros(d), np.cumsum(jumps, axis=0)])
    return means[seg] + noise, [tuple(range(d))] * len(bkps)


def _partial(n, d, bkps, seg, phi, rng) -> tuple[np.ndarray, Columns]:
    d = max(d, 3)
    x = _ar1(n, d, phi, rng)
    means = np.zeros((len(bkps) + 1, d))
    cols: Columns = []
    for i in range(len(bkps)):
        which = tuple(sorted(rng.choice(d, size=int(rng.integers(1, d)), replace=False)))
        means[i + 1] = means[i]
        means[i + 1, list(which)] += rng.choice([-1, 1]) * rng.uniform(2.0, 3.0)
        cols.append(tuple(int(c) for c in which))
    return x + means[seg], cols


def _spread(n, d, bkps, seg, phi, rng) -> tuple[np.ndarray, Columns]:
    ratio = rng.choice([-1, 1], len(bkps)) * np.log(rng.uniform(2.5, 4, len(bkps)))
    sd = np.exp(np.cumsum(np.r_[0, ratio]))
    return _ar1(n, d, phi, rng) * sd[seg][:, None], [tuple(range(d))] * len(bkps)


def _trend(n, d, bkps, seg, phi, rng) -> tuple[np.ndarray, Columns]:
    slopes = np.r_[rng.uniform(-1, 1), np.zeros(len(bkps))] * 0.02
    for i in range(len(bkps)):
        slopes[i + 1] = slopes[i] + rng.choice([-1, 1]) * rng.uniform(0.03, 0.06)
    level = np.cumsum(slopes[seg])  # continuous: the slope changes, not the level
    return level[:, None] + _ar1(n, d, phi, rng), [tuple(range(d))] * len(bkps)


def _seasonality(n, d, bkps, seg, phi, rng) -> tuple[np.ndarray, Columns]:
    period = np.full(len(bkps) + 1, 24.0)
    amp = np.full(len(bkps) + 1, 2.0)
    for i in range(len(bkps)):
        period[i + 1], amp[i + 1] = period[i], amp[i]
        if rng.random() < 0.5:
            period[i + 1] = 12.0 if period[i] == 24 else 24.0
        else:
            amp[i + 1] = amp[i] * 3 if amp[i] <= 2 else amp[i] / 3
    phase = np.zeros(n)  # continuous phase across a change of period
    phase[1:] = np.cumsum(2 * np.pi / period[seg][1:])
    x = (amp[seg] * np.sin(phase))[:, None] + _ar1(n, d, phi, rng)
    return x, [tuple(range(d))] * len(bkps)


def _correlation(n, d, bkps, seg, phi, rng) -> tuple[np.ndarray, Columns]:
    d = max(d, 2)
    x = np.zeros((n, d))
    rho = np.r_[rng.choice([-0.8, 0.8]), np.zeros(len(bkps))]
    for i in range(len(bkps)):
        rho[i + 1] = -rho[i]
    z = _ar1(n, d, phi, rng)
    for s in range(len(bkps) + 1):
        r = rho[s]
        m = seg == s
        # column 0 and 1 correlated with r; others independent
        x[m] = z[m]
        x[m, 1] = r * z[m, 0] + np.sqrt(1 - r**2) * z[m, 1]
    return x, [(0, 1)] * len(bkps)


def _correlated(n, d, phi, rng) -> np.ndarray:
    d = max(d, 2)
    z = _ar1(n, d, phi, rng)
    x = z.copy()
    x[:, 1] = 0.8 * z[:, 0] + 0.6 * z[:, 1]
    return x


_CHANGES = {
    "level": _level,
    "partial": _partial,
    "spread": _spread,
    "trend": _trend,
    "seasonality": _seasonality,
    "correlation": _correlation,
}
# the no-change controls: (n, d, phi, rng) -> signal (n, d)
_CONTROLS = {
    "trending": lambda n, d, phi, rng: (
        (rng.uniform(0.01, 0.03) * rng.choice([-1, 1]) * np.arange(n))[:, None]
        + _ar1(n, d, phi, rng)
    ),
    "seasonal": lambda n, d, phi, rng: (
        (2 * np.sin(2 * np.pi * np.arange(n) / 24))[:, None] + _ar1(n, d, phi, rng)
    ),
    "ar1": lambda n, d, phi, rng: _ar1(n, d, 0.95, rng),
    "heavy_tailed": lambda n, d, phi, rng: _ar1(n, d, phi, rng, df=3.0),
    "correlated": _correlated,
}


def suite(seed: int = 0, per_kind: int = 4) -> list[Synthetic]:
    """The benchmark's suite: ``per_kind`` series of every kind (half of them multivariate where
    the kind allows) and of every no-change control, seeded."""
    out = []
    for k, kind in enumerate(KINDS + CONTROLS):
        for i in range(per_kind):
            s = seed * 1000 + k * 100 + i
            d = 1 if i % 2 == 0 else 3  # partial and correlation raise it to their minimum
            n = 400 + 100 * (i % 3)
            out.append(pw_change(kind, n=n, n_features=d, n_bkps=1 + i % 3, seed=s))
    return out
