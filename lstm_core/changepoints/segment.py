"""Segmentation: candidate change points from two searches, then local tests that keep the real
ones and name their kind (level, trend, spread, seasonality, correlation) and columns."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import ruptures as rpt

from lstm_core.arrays import block_means
from lstm_core.changepoints.features import standardise
from lstm_core.changepoints.robust import (
    clip_outliers,
    residuals,
    robust_scale,
    season_periods,
    seasonal_terms,
)

Kind = Literal["level", "trend", "spread", "seasonality", "correlation"]
KINDS: tuple[Kind, ...] = ("level", "trend", "spread", "seasonality", "correlation")
Mode = Literal["forward", "backward", "both"]
MIN_SIDE = 10  # rows on each side of a split before a spread or correlation is compared
REFINE_RADIUS = 50  # rows a confirmed point may move to where its tests are strongest


@dataclass(frozen=True)
class Settings:
    """The detector's constants. ``strength`` and ``mode`` were chosen by cross-validation over
    series (``benchmarks/tcpd.py`` prints the out-of-fold scores); the others are fixed by the
    method (a liberal search, the clipping rule, two harmonics)."""

    strength: float = 2.5  # multiplies every test's BIC penalty (the app's sensitivity divides it)
    mode: Mode = "both"  # how candidates are confirmed (see ``confirm``)
    search_penalty: float = 0.5  # x log n: price of a candidate in the kernel search (liberal)
    clip: float = 4.0  # robust spreads beyond which a value counts as an outlier and is clipped
    harmonics: int = 2  # Fourier pairs of each seasonal period in every window's model
    season_share: float = 0.5  # variance share a cycle must explain to be modelled
    kinds: tuple[Kind, ...] = KINDS  # the tests that run


@dataclass(frozen=True)
class Found:
    """One confirmed change: the first row of the new regime, what changed, and how strongly."""

    index: int
    kind: Kind
    columns: tuple[int, ...]  # columns (of the analysed matrix) whose change passed the test
    evidence: float  # the winning test's statistic minus its penalty (> 0)
    kinds: tuple[Kind, ...]  # every kind whose test passed, strongest first


# ---------------------------------------------------------------- candidates


def kernel_candidates(z: np.ndarray, min_size: int, penalty: float) -> list[int]:
    """Liberal kernel (RBF) search on the standardised columns: changes of any distribution."""
    n = len(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruptures warns about its bias on constant segments
        algo = rpt.KernelCPD(kernel="rbf", min_size=min_size).fit(z)
        return [int(b) for b in algo.predict(pen=penalty * math.log(n))[:-1]]


def regression_candidates(
    z: np.ndarray, min_size: int, periods: Sequence[int], settings: Settings
) -> list[int]:
    """Liberal search with a Gaussian model of every segment: its own line, seasonal pattern and
    (co)variance, at the BIC penalty. Finds changes of slope, season and spread that a kernel on
    the values alone misses. Optimal partitioning with pruning; costs from cumulative sums."""
    n, d = z.shape
    t = np.arange(n, dtype=np.float64) / n - 0.5
    cols = [np.ones(n), t]
    four = seasonal_terms(np.arange(n), periods, settings.harmonics)
    if four is not None:
        cols.append(four)
    x = np.column_stack(cols)  # (n, p)
    p = x.shape[1]
    size = max(min_size, p + 2)
    if n < 2 * size:
        return []

    def cumsum(a: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros((1,) + a.shape[1:]), np.cumsum(a, axis=0)])

    sxx = cumsum(x[:, :, None] * x[:, None, :])  # (n+1, p, p)
    sxy = cumsum(x[:, :, None] * z[:, None, :])  # (n+1, p, d)
    syy = cumsum(z[:, :, None] * z[:, None, :])  # (n+1, d, d)
    ridge = 1e-9 * np.eye(p)
    floor = 1e-6

    def cost(s: np.ndarray, e: int) -> np.ndarray:
        m = (e - s).astype(np.float64)
        xy = sxy[e] - sxy[s]
        sol = np.linalg.solve(sxx[e] - sxx[s] + ridge, xy)
        resid = (syy[e] - syy[s] - np.einsum("kpi,kpj->kij", xy, sol)) / m[:, None, None]
        if d == 1:
            logdet = np.log(np.maximum(resid[:, 0, 0], floor))
        else:
            logdet = np.linalg.slogdet(resid + floor * np.eye(d))[1]
        return 0.5 * m * logdet

    pen = 0.5 * (p * d + d * (d + 1) / 2 + 1) * math.log(n)  # BIC: half a log n per parameter
    best = np.full(n + 1, np.inf)
    best[0] = -pen
    last = np.zeros(n + 1, dtype=int)
    alive = np.zeros(0, dtype=int)
    for e in range(size, n + 1):
        alive = np.append(alive, e - size)
        alive = alive[np.isfinite(best[alive])]
        c = cost(alive, e)
        total = best[alive] + c + pen
        i = int(np.argmin(total))
        best[e], last[e] = total[i], alive[i]
        alive = alive[best[alive] + c <= best[e]]  # PELT: these starts can never win again
    out, e = [], n
    while e > 0:
        e = int(last[e])
        if e > 0:
            out.append(e)
    return sorted(out)


# ---------------------------------------------------------------- confirmation tests


def _lag1(r: np.ndarray) -> np.ndarray:
    """(n, K) residuals -> (K,) lag-1 autocorrelation, clipped to [0, 0.98]."""
    if len(r) < 3:
        return np.zeros(r.shape[1])
    den = (r[:-1] ** 2).sum(axis=0)
    num = (r[1:] * r[:-1]).sum(axis=0)
    return np.clip(np.where(den > 0, num / np.where(den > 0, den, 1), 0.0), 0.0, 0.98)


def _logdet_corr(u: np.ndarray) -> float:
    c = np.corrcoef(u, rowvar=False)
    return float(np.linalg.slogdet(c + 1e-9 * np.eye(len(c)))[1])


@dataclass(frozen=True)
class Split:
    """The local tests of one split: the best kind's net evidence and what passed."""

    evidence: float  # best kind's statistic minus penalty (< 0: not a change)
    kind: Kind
    columns: tuple[int, ...]
    passed: tuple[Kind, ...]
    total: float = 0.0  # summed net evidence of every kind that passed


def weigh_split(
    z: np.ndarray,
    a: int,
    b: int,
    e: int,
    periods: Sequence[int],
    strength: float,
    settings: Settings,
    prewhiten: bool = False,
) -> Split:
    """Is there a change at row ``b`` of the window [a, e)? One likelihood-ratio test per kind.

    Every test compares, column by column, the window's model (a line plus the seasonal pattern)
    with one that lets one thing change at ``b``: the level (a jump), the slope (a kink), the
    seasonal pattern, the spread of the residuals, or (between columns) their correlation. A
    jump or a kink must also beat a smooth bend (a quadratic). Each statistic is scaled by the
    effective sample size under AR(1) residuals, n (1 - rho) / (1 + rho), so smooth wander and
    trends do not pass for changes, and must beat a BIC penalty ``strength x extra parameters x
    log n`` per column. Several columns add up the statistics of those that pass.

    Args:
        z: (T, K) standardised columns.
        a, b, e: the window [a, e) and the first row of the would-be new regime.
        periods: seasonal periods to model (may be empty).
        strength: the penalty's multiplier.
        settings: which kinds are tested.
        prewhiten: test spread and correlation on the residuals' innovations (sharper location,
            but smooth series look rough; ``refine`` uses it, the decision does not).
    """
    y = z[a:e]
    n = len(y)
    t = np.arange(n, dtype=np.float64) / n
    left = (np.arange(n) < b - a).astype(np.float64)
    base = [np.ones(n), t]
    periods = [p for p in periods if 2 * p <= n]  # shorter windows confuse cycles with steps
    four = seasonal_terms(np.arange(a, e), periods, settings.harmonics)
    if four is not None:
        base.append(four)
    x0 = np.column_stack(base)
    step = left[:, None]
    hinge = np.maximum(t - (b - a) / n, 0.0)[:, None]
    k = b - a
    side = min(k, n - k)
    models = {"level": step, "trend": hinge}
    if four is not None and side >= max(2 * max(periods), x0.shape[1] + 4):
        models["seasonality"] = four * step
    models = {name: v for name, v in models.items() if name in settings.kinds}
    scores = _shape_scores(y, x0, t, models, strength)
    # spread and correlation: on the innovations of the residuals of the model that lets level,
    # slope and season change (prewhitened, so an AR process's change of spread is as sharp as
    # the change of its shocks)
    full = [x0, step, hinge] + ([four * step] if "seasonality" in models else [])
    r = residuals(np.column_stack(full), y)
    if prewhiten:
        rho = _lag1(r)
        r = np.vstack([r[:1], r[1:] - rho * r[:-1]])
    scores |= _noise_scores(r, k, strength, settings)
    return _best(scores, r, k, settings)


def _shape_scores(
    y: np.ndarray, x0: np.ndarray, t: np.ndarray, models: dict, strength: float
) -> dict[Kind, np.ndarray]:
    """Per column, statistic minus penalty of each change of shape in ``models`` (level, trend,
    seasonality: the extra regressors (n, p) that let it change) against the base ``x0``."""
    n = len(y)
    logn = math.log(n)
    rss0 = np.maximum((residuals(x0, y) ** 2).sum(axis=0), 1e-12)
    # a jump or a kink must beat a smooth bend with as many parameters, not just a line: the
    # curves of growth series are not change points
    rq = residuals(np.column_stack([x0, (t - 0.5) ** 2]), y)
    rssq = np.maximum((rq**2).sum(axis=0), 1e-12)
    scores: dict[Kind, np.ndarray] = {}
    for kind, extra in models.items():
        r = residuals(np.column_stack([x0, extra]), y)
        rss = np.maximum((r**2).sum(axis=0), 1e-12)
        rho = _lag1(r)
        null = rssq if kind in ("level", "trend") else rss0
        stat = n * (1 - rho) / (1 + rho) * np.log(null / rss)
        scores[kind] = stat - strength * extra.shape[1] * logn
    return scores


def _noise_scores(
    r: np.ndarray, k: int, strength: float, settings: Settings
) -> dict[Kind, np.ndarray]:
    """Per column, statistic minus penalty of a change of spread, and (one joint statistic, in
    the first slot) of correlation, of the residuals ``r`` (n, d) at row ``k``."""
    n, d = r.shape
    side = min(k, n - k)
    logn = math.log(n)
    rho = _lag1(r)
    scores: dict[Kind, np.ndarray] = {}
    if side >= MIN_SIDE and "spread" in settings.kinds:
        var0 = np.maximum((r**2).mean(axis=0), 1e-12)
        var1 = np.maximum((r[:k] ** 2).mean(axis=0), 1e-12)
        var2 = np.maximum((r[k:] ** 2).mean(axis=0), 1e-12)
        # AR(1)-corrected as a level would be (not by rho^2, the exact factor for squared
        # AR(1) noise): real residuals are rarely AR(1), and a milder correction lets the
        # heteroscedastic wander of economic series pass for changes of spread
        stat = n * np.log(var0) - k * np.log(var1) - (n - k) * np.log(var2)
        scores["spread"] = stat * (1 - rho) / (1 + rho) - strength * logn
    if d >= 2 and side >= MIN_SIDE + d and "correlation" in settings.kinds:
        var1 = np.maximum((r[:k] ** 2).mean(axis=0), 1e-12)
        var2 = np.maximum((r[k:] ** 2).mean(axis=0), 1e-12)
        u = np.vstack([r[:k] / np.sqrt(var1), r[k:] / np.sqrt(var2)])
        stat = n * _logdet_corr(u) - k * _logdet_corr(u[:k]) - (n - k) * _logdet_corr(u[k:])
        rs = float(np.mean(rho)) ** 2
        extra = d * (d - 1) / 2
        corr = stat * (1 - rs) / (1 + rs) - strength * extra * logn
        scores["correlation"] = np.full(d, -np.inf)
        scores["correlation"][0] = corr  # one joint statistic, kept in the first slot
    return scores


def _best(scores: dict[Kind, np.ndarray], r: np.ndarray, k: int, settings: Settings) -> Split:
    """The kind with the most net evidence (summed over the columns where it passes), the
    columns that carry it, and every kind that passed."""
    d = r.shape[1]
    ranked = []
    for kind, s in scores.items():
        if kind == "correlation":
            value = float(s[0])
            cols = tuple(range(d)) if value > 0 else ()
        else:
            value = float(np.where(s > 0, s, 0).sum()) if (s > 0).any() else float(s.max())
            cols = tuple(int(j) for j in np.flatnonzero(s > 0))
        ranked.append((value, kind, cols))
    if not ranked:  # the window is too short for the tests asked for
        return Split(-math.inf, settings.kinds[0], (), ())
    ranked.sort(key=lambda v: -v[0])
    value, kind, cols = ranked[0]
    if kind == "correlation" and value > 0:
        cols = _correlated_columns(r, k)
    passed = tuple(kd for v, kd, _ in ranked if v > 0)
    return Split(value, kind, cols, passed, sum(v for v, _, _ in ranked if v > 0))


def _correlated_columns(r: np.ndarray, k: int) -> tuple[int, ...]:
    """The pair of columns whose correlation changed most at row ``k`` of the residuals."""
    c1 = np.corrcoef(r[:k], rowvar=False)
    c2 = np.corrcoef(r[k:], rowvar=False)
    diff = np.abs(np.nan_to_num(c1 - c2))
    i, j = np.unravel_index(np.argmax(np.triu(diff, 1)), diff.shape)
    return (int(i), int(j))


def confirm(
    z: np.ndarray,
    pools: Sequence[Sequence[int]],
    periods: Sequence[int],
    strength: float,
    settings: Settings,
    mode: Mode = "both",
) -> list[Found]:
    """Keep the candidates whose best local test passes.

    Forward selection starts from none and adds the candidate with the strongest passing test
    between the points already kept, until none passes: each test sees a long window, with a
    reliable estimate of the residuals' autocorrelation, so smooth series stay whole. Backward
    elimination starts from a whole pool of candidates and drops the weakest, testing the rest
    again between their new neighbours until all pass: a series with many changes keeps them,
    since no test is blurred by the others. "both" runs forward selection on all the pools
    together and backward elimination on each pool (each search proposes differently placed
    windows), pools what they kept and eliminates backward from that.
    """
    pools = [sorted({int(c) for c in pool if 0 < c < len(z)}) for pool in pools]
    union = sorted(set().union(*pools)) if pools else []
    cache: dict[tuple[int, int, int], Split] = {}

    def weigh(a: int, b: int, e: int) -> Split:
        if (a, b, e) not in cache:
            cache[a, b, e] = weigh_split(z, a, b, e, periods, strength, settings)
        return cache[a, b, e]

    if mode == "forward":
        kept = _forward(union, len(z), weigh)
    elif mode == "backward":
        kept = union
    else:
        kept = set(_forward(union, len(z), weigh))
        for pool in pools:
            kept |= {f.index for f in _backward(pool, len(z), weigh)}
        kept = sorted(kept)
    return _backward(kept, len(z), weigh)


def _forward(pool: list[int], n: int, weigh) -> list[int]:
    """Forward selection over ``pool`` (see ``confirm``); ``weigh(a, b, e)`` gives a Split."""
    kept: list[int] = []
    while True:
        edges = [0, *kept, n]
        best, pick = 0.0, None
        for c in pool:
            i = int(np.searchsorted(edges, c))
            if edges[i] == c:
                continue
            r = weigh(edges[i - 1], c, edges[i])
            if r.evidence > best:
                best, pick = r.evidence, c
        if pick is None:
            return kept
        kept = sorted(kept + [pick])


def _backward(kept: list[int], n: int, weigh) -> list[Found]:
    """Backward elimination from ``kept`` (see ``confirm``): the survivors with their tests."""
    kept = list(kept)
    while kept:
        edges = [0, *kept, n]
        tests = [weigh(edges[i - 1], edges[i], edges[i + 1]) for i in range(1, len(edges) - 1)]
        worst = int(np.argmin([t.evidence for t in tests]))
        if tests[worst].evidence > 0:
            return [Found(c, t.kind, t.columns, t.evidence, t.passed) for c, t in zip(kept, tests)]
        kept.pop(worst)
    return []


def refine(
    z: np.ndarray,
    found: list[Found],
    periods: Sequence[int],
    strength: float,
    settings: Settings,
    min_size: int,
    radius: int,
) -> list[Found]:
    """Move each point to the row within ``radius`` where the tests of the kinds that passed
    there are strongest together, between its neighbours (a kink or a change of season is
    located more precisely by its own model than by the search that proposed it)."""
    points = [f.index for f in found]
    kinds = [f.kinds for f in found]
    for i in range(len(points)):
        a = points[i - 1] if i else 0
        e = points[i + 1] if i + 1 < len(points) else len(z)
        lo, hi = max(a + min_size, points[i] - radius), min(e - min_size, points[i] + radius)
        if hi <= lo:
            continue
        only = Settings(**{**settings.__dict__, "kinds": kinds[i]})
        scores = [
            weigh_split(z, a, b, e, periods, strength, only, prewhiten=True).total
            for b in range(lo, hi + 1)
        ]
        points[i] = lo + int(np.argmax(scores))
    return confirm(z, [points], periods, strength, settings, mode="backward")


MAX_POINTS = 2000  # longer series are segmented on block means (the searches are O(n^2))


def _scaled(x: np.ndarray, settings: Settings) -> np.ndarray:
    """Columns scaled by their noise spread, isolated outliers clipped, then standardised."""
    z = (x - np.median(x, axis=0)) / robust_scale(x)
    z = clip_outliers(z, settings.clip)
    return standardise(z)


def segment(
    x: np.ndarray,
    strengths: Sequence[float] = (Settings.strength,),
    min_size: int = 5,
    period_hint: int | None = None,
    settings: Settings = Settings(),
    proposals: np.ndarray | None = None,
) -> list[list[Found]]:
    """Change points of the columns ``x`` (T, K): what changed at each and in which columns.

    The columns are scaled by their noise spread and their isolated outliers clipped; two
    liberal searches propose candidates (``kernel_candidates``, ``regression_candidates``);
    ``confirm`` keeps those whose local tests pass and ``refine`` places them where the tests
    are strongest. A series longer than MAX_POINTS is segmented on block means and the rows
    mapped back (to within a block). The searches run once for all ``strengths``.

    Args:
        x: (T, K) the series, any scale; NaN-free.
        strengths: penalty multipliers to segment with (higher finds fewer).
        min_size: fewest rows between two change points.
        period_hint: the seasonal period its time frequency suggests (checked against the data).
        settings: the detector's constants.
        proposals: (T, P) more columns (e.g. the skip gate's components) searched for
            candidates too; only the columns of ``x`` are tested, so a proposal is kept only
            where the series itself changed.

    Returns:
        For each strength, the confirmed changes in time order.
    """
    z = np.asarray(x, dtype=np.float64)
    block = max(1, -(-len(z) // MAX_POINTS))
    if block > 1:
        z = block_means(z, block)
        min_size = max(2, -(-min_size // block))
        period_hint = period_hint // block if period_hint and period_hint >= 2 * block else None
    if len(z) < 2 * min_size:
        return [[] for _ in strengths]
    z = _scaled(z, settings)
    periods = season_periods(z, period_hint, settings.harmonics, settings.season_share)
    pools = []
    searched = [z] if proposals is None else [z, _scaled(block_means(proposals, block), settings)]
    for cols in searched:
        pools.append(kernel_candidates(cols, min_size, settings.search_penalty))
        pools.append(regression_candidates(cols, min_size, periods, settings))
    out = []
    for strength in strengths:
        found = confirm(z, pools, periods, strength, settings, settings.mode)
        found = refine(z, found, periods, strength, settings, min_size, REFINE_RADIUS)
        out.append([replace(f, index=f.index * block) for f in found])
    return out
