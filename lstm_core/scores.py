"""The M4 competition's scores: sMAPE, MASE, the Naive2 benchmark and OWA, as the organisers
compute them (Makridakis, Spiliotis and Assimakopoulos 2020; their benchmark code in
Mcompetitions/M4-methods)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstm_core import baselines

# M4's seasonality test: the lag-m autocorrelation must exceed this many standard errors
# (1.645: a one-sided 90% test)
SEASONALITY_Z = 1.645


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent, M4's form: mean of 200 |y - f| / (|y| + |f|).

    A step where both values are 0 counts as error 0 (M4's series are positive, so it never
    happens there).
    """
    y, f = np.asarray(actual, np.float64), np.asarray(forecast, np.float64)
    denom = np.abs(y) + np.abs(f)
    ratio = np.where(denom > 0, 2 * np.abs(y - f) / np.where(denom > 0, denom, 1), 0.0)
    return float(100 * ratio.mean())


def mase_scale(insample: np.ndarray, m: int) -> float:
    """MASE's denominator: the mean absolute seasonal difference |y[t] - y[t-m]| of the
    training values (m = 1: the one-step naive's in-sample error).

    Raises:
        ValueError: the series has no more than ``m`` values.
    """
    x = np.asarray(insample, np.float64)
    if len(x) <= m:
        raise ValueError(f"MASE needs more than m = {m} training values, got {len(x)}")
    return float(np.abs(x[m:] - x[:-m]).mean())


def mase(insample: np.ndarray, actual: np.ndarray, forecast: np.ndarray, m: int) -> float:
    """Mean absolute error of ``forecast`` over ``mase_scale(insample, m)``."""
    err = np.abs(np.asarray(actual, np.float64) - np.asarray(forecast, np.float64)).mean()
    return float(err / mase_scale(insample, m))


def acf(x: np.ndarray, k: int) -> float:
    """Autocorrelation of ``x`` at lag ``k``, as M4's code computes it (one mean, one
    denominator: the sum of squares of the whole series)."""
    x = np.asarray(x, np.float64)
    d = x - x.mean()
    return float((d[k:] * d[: len(d) - k]).sum() / (d**2).sum())


def is_seasonal(x: np.ndarray, m: int) -> bool:
    """M4's 90% seasonality test (``SeasonalityTest`` in the organisers' R code):
    |acf(m)| > 1.645 sqrt((1 + 2 sum_{k<m} acf(k)^2) / n).

    A series shorter than 3 m, or with m < 2, is not seasonal (M4 tests only when three cycles
    exist). The organisers' Python port adds acf(1) unsquared; the R code, which produced the
    published scores, squares every term, as here.
    """
    x = np.asarray(x, np.float64)
    if m < 2 or len(x) < 3 * m or np.ptp(x) == 0:
        return False
    s = sum(acf(x, k) ** 2 for k in range(1, m))
    limit = SEASONALITY_Z * np.sqrt((1 + 2 * s) / len(x))
    return bool(abs(acf(x, m)) > limit)


def seasonal_indices(x: np.ndarray, m: int) -> np.ndarray:
    """Classical multiplicative decomposition's seasonal figure (R's ``decompose``,
    statsmodels' ``seasonal_decompose``): (m,) indices, position p for every step t with
    t mod m = p (t counted from the series' start), averaging 1.

    The trend is the centred moving average of m steps (2 x m for even m); each position's
    index is the mean of x / trend over the steps where the trend exists, and the indices are
    divided by their mean.
    """
    x = np.asarray(x, np.float64)
    if m % 2 == 0:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        w = np.ones(m) / m
    half = len(w) // 2
    trend = np.convolve(x, w, mode="valid")  # trend[i] is centred on step i + half
    ratio = np.full(len(x), np.nan)
    ratio[half : half + len(trend)] = x[half : half + len(trend)] / trend
    figure = np.array([np.nanmean(ratio[p::m]) for p in range(m)])
    return figure / figure.mean()


def naive2(insample: np.ndarray, horizon: int, m: int) -> np.ndarray:
    """M4's Naive2: the last value of the seasonally adjusted series, re-seasonalised.

    When ``is_seasonal(insample, m)``, the series is divided by its multiplicative seasonal
    indices, its last adjusted value is repeated, and step t of the forecast (t continuing the
    training positions) is multiplied by index t mod m; otherwise it is the plain naive.

    Returns:
        (horizon,) forecast.
    """
    x = np.asarray(insample, np.float64)
    n = len(x)
    if not is_seasonal(x, m):
        return np.full(horizon, x[-1])
    si = seasonal_indices(x, m)
    level = x[-1] / si[(n - 1) % m]
    return level * si[(n + np.arange(horizon)) % m]


def seasonal_naive(insample: np.ndarray, horizon: int, m: int) -> np.ndarray:
    """The last cycle repeated: step h (1-based) is y[n - m + (h-1) mod m] -> (horizon,); the
    backtest's ``baselines.seasonal_naive`` from the one origin after the data."""
    x = np.asarray(insample, np.float64)
    return baselines.seasonal_naive(x, np.array([len(x)]), horizon, m)[0]


@dataclass(frozen=True)
class SetScore:
    """One method's scores over a set of series: the means over series of sMAPE (%) and MASE,
    OWA against Naive2 on those means, and the 80% interval's coverage where it has one."""

    smape: float
    mase: float
    owa: float
    coverage80: float | None = None


def owa(smape_mean: float, mase_mean: float, smape_naive2: float, mase_naive2: float) -> float:
    """M4's overall weighted average: the mean of sMAPE and MASE, each relative to Naive2's,
    all four being means over the same series (M4 divides totals, not per-series ratios)."""
    return 0.5 * (smape_mean / smape_naive2 + mase_mean / mase_naive2)


def score_set(
    insamples: Sequence[np.ndarray],
    actuals: Sequence[np.ndarray],
    forecasts: Sequence[np.ndarray],
    m: int,
    lower: Sequence[np.ndarray] | None = None,
    upper: Sequence[np.ndarray] | None = None,
) -> SetScore:
    """Score a method on many series as M4 does, with Naive2 computed on the same series.

    Args:
        insamples: each series' training values; actuals, forecasts: (horizon,) per series.
        m: the seasonal period (24 for hourly).
        lower, upper: each series' 10% and 90% quantiles, if the method gives an interval.

    Returns:
        The set's sMAPE, MASE, OWA and (with an interval) coverage.
    """
    s, a, s2, a2 = [], [], [], []
    for x, y, f in zip(insamples, actuals, forecasts, strict=True):
        nv = naive2(x, len(y), m)
        s.append(smape(y, f))
        a.append(mase(x, y, f, m))
        s2.append(smape(y, nv))
        a2.append(mase(x, y, nv, m))
    cover = None
    if lower is not None and upper is not None:
        inside = [
            (np.asarray(y) >= lo) & (np.asarray(y) <= hi)
            for y, lo, hi in zip(actuals, lower, upper, strict=True)
        ]
        cover = float(np.concatenate(inside).mean())
    sm, ma = float(np.mean(s)), float(np.mean(a))
    return SetScore(sm, ma, owa(sm, ma, float(np.mean(s2)), float(np.mean(a2))), cover)


__all__ = [
    "SetScore",
    "acf",
    "is_seasonal",
    "mase",
    "mase_scale",
    "naive2",
    "owa",
    "score_set",
    "seasonal_indices",
    "seasonal_naive",
    "smape",
]
