"""One kernel search with a learned penalty: rolling statistics of the series (or the model's
representation of it) segmented by kernel change point detection (RBF), ranked candidates."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
import ruptures as rpt

from lstm_core.arrays import block_means
from lstm_core.changepoints.features import standardise
from lstm_core.changepoints.robust import robust_scale

# x log n: the price of one change point. Learned across series (TCPD, TSSB and the synthetic
# suite together, grouped folds by series): benchmarks/changepoints.py prints the choice per fold.
PENALTY = 4.0
MAX_POINTS = 1000  # longer series are searched on block means (the search is O(n^2))
LIBERAL = 4.0  # candidates are the points kept at this sensitivity, and the score's peaks
PEAKS = 5  # highest peaks of the change score always listed as candidates


@dataclass(frozen=True)
class Cut:
    """A place the kernel search could cut (a candidate change point), with its evidence.

    ``needed`` is the sensitivity at which this point alone pays its penalty between its
    neighbours (its gain is PENALTY x log n / needed): a kept point needs at most the
    sensitivity used; a dropped one says how far below the threshold it was.
    """

    index: int  # row of the series (the first row of the would-be new regime)
    gain: float  # drop of the kernel cost when the segment is cut here
    needed: float  # sensitivity at which the cut pays for itself
    kept: bool  # in the segmentation at the sensitivity used


def window_length(x: np.ndarray) -> int:
    """Rows the rolling statistics span: the first column's main period (the highest
    autocorrelation after its first crossing of zero, if above 0.2), else 10, clipped to
    5 .. max(5, T / 20)."""
    y = x[:, 0] - x[:, 0].mean()
    n = len(y)
    f = np.fft.rfft(y, 2 * n)
    ac = np.fft.irfft(f * np.conj(f))[:n]
    ac = ac / (ac[0] if ac[0] > 0 else 1.0)
    limit = n // 4
    below = np.flatnonzero(ac[:limit] < 0)
    period = None
    if len(below) and below[0] < limit - 1:
        p = int(below[0] + np.argmax(ac[below[0] : limit]))
        period = p if ac[p] > 0.2 else None
    return int(np.clip(period or 10, 5, max(5, n // 20)))


def rolling_mean(y: np.ndarray, w: int) -> np.ndarray:
    """(T, K) centred mean over ``w`` rows, the ends padded with the end rows (in place where it
    can: a million-row series holds one padded copy at a time)."""
    h = w // 2
    zero = np.zeros((1, y.shape[1]))
    c = np.concatenate([zero, np.repeat(y[:1], h, 0), y, np.repeat(y[-1:], w - h - 1, 0)])
    np.cumsum(c, axis=0, out=c)
    out = c[w:] - c[:-w]
    out /= w
    return out


def series_features(x: np.ndarray) -> np.ndarray:
    """(T, K) series -> (T, 3K) what the raw search reads: per column its rolling mean, the log
    of its rolling spread and of its rolling roughness (mean absolute step), over
    ``window_length`` rows, after scaling each column by its noise spread."""
    z = (x - np.median(x, axis=0)) / robust_scale(x)
    w = window_length(z)
    K = z.shape[1]
    out = np.empty((len(z), 3 * K))
    mean = out[:, :K]
    mean[:] = rolling_mean(z, w)
    spread = out[:, K : 2 * K]
    spread[:] = rolling_mean(z**2, w)
    spread -= mean**2
    np.maximum(spread, 0.0, out=spread)
    np.sqrt(spread, out=spread)
    spread += 1e-3
    np.log(spread, out=spread)
    steps = np.abs(np.diff(z, axis=0, prepend=z[:1]))  # 0 at the first row
    del z
    rough = out[:, 2 * K :]
    rough[:] = rolling_mean(steps, w)
    rough += 1e-3
    np.log(rough, out=rough)
    return out


def _fitted(feats: np.ndarray, min_size: int) -> tuple[rpt.KernelCPD, int, int] | None:
    """KernelCPD (RBF) fitted on the standardised block means of ``feats``, the block length
    and the fewest points per segment; None when too short for two segments."""
    f = np.asarray(feats, dtype=np.float64)
    block = max(1, -(-len(f) // MAX_POINTS))
    if block > 1:
        f = block_means(f, block)
    f = standardise(f)
    size = max(2, -(-min_size // block))
    if len(f) < 2 * size:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruptures warns about its bias on constant segments
        return rpt.KernelCPD(kernel="rbf", min_size=size).fit(f), block, size


def _predict(algo: rpt.KernelCPD, pen: float) -> list[int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [int(b) for b in algo.predict(pen=pen)[:-1]]


def path(
    feats: np.ndarray, x: np.ndarray, penalties: tuple[float, ...], min_size: int = 5
) -> dict[float, list[int]]:
    """The change points (rows) at each penalty multiplier (in place of PENALTY), from one fit,
    each placed on the series ``x`` as ``search`` places them: what the benchmark's folds
    choose the penalty from."""
    fitted = _fitted(feats, min_size)
    if fitted is None:
        return {p: [] for p in penalties}
    algo, block, _ = fitted
    n = len(algo.cost.signal)
    T = len(feats)
    radius = max(block, window_length(x))
    return {
        p: place([min(b * block, T - 1) for b in _predict(algo, p * math.log(n))], x, radius)
        for p in penalties
    }


def place(points: list[int], x: np.ndarray, radius: int) -> list[int]:
    """Each point moved, within ``radius`` rows and between its neighbours, to the row where the
    series' own columns split best (the largest between-segment sum of squares of the noise-
    scaled values and their absolute steps): rolling statistics blur where a change starts.

    Args:
        points: change points (rows), in time order.
        x: (T, K) the series.
        radius: rows a point may move.
    """
    z = (x - np.median(x, axis=0)) / robust_scale(x)
    steps = np.vstack([np.zeros((1, z.shape[1])), np.abs(np.diff(z, axis=0))])
    g = np.column_stack([z, steps])
    g = standardise(g)
    c = np.vstack([np.zeros(g.shape[1]), np.cumsum(g, axis=0)])  # (T+1, 2K)
    out = list(points)
    for i, p in enumerate(out):
        a = out[i - 1] if i else 0
        e = points[i + 1] if i + 1 < len(points) else len(x)
        b = np.arange(max(a + 2, p - radius), min(e - 2, p + radius) + 1)
        if len(b) < 2:
            continue
        out[i] = int(b[np.argmax(split_gains(c, a, b, e))])
    return out


def split_gains(sums: np.ndarray, a: int, b: np.ndarray | int, e: int) -> np.ndarray:
    """The drop of the mean-shift (L2) cost of rows [a, e) when cut at each row of ``b``: the
    between-segment sum of squares, from the columns' running sums ``sums`` (T+1, K, a zero row
    first) -> (len(b),)."""
    b = np.atleast_1d(b)
    left = (sums[b] - sums[a]) / (b - a)[:, None]
    right = (sums[e] - sums[b]) / (e - b)[:, None]
    return (b - a) * (e - b) / (e - a) * ((left - right) ** 2).sum(axis=1)


@dataclass(frozen=True)
class Search:
    """The segmentation of some features and the ranked candidates behind it."""

    points: tuple[int, ...]  # kept change points (rows), in time order
    candidates: tuple[Cut, ...]  # strongest first


def search(
    feats: np.ndarray,
    x: np.ndarray,
    sensitivity: float = 1.0,
    min_size: int = 5,
    peaks: tuple[int, ...] = (),
) -> Search:
    """Change points of ``feats`` (T, D): KernelCPD with the RBF kernel (median heuristic) on
    the standardised columns, at the penalty PENALTY x log n / sensitivity (n the points
    searched: block means beyond MAX_POINTS rows).

    Each kept point is then placed on the series ``x`` (``place``); the candidates keep the
    search's rows.

    Args:
        feats: (T, D) features, any scale.
        x: (T, K) the series itself (where the kept points are placed).
        sensitivity: > 1 finds more change points, < 1 fewer; it divides the penalty.
        min_size: fewest rows between two change points.
        peaks: rows where the change score peaks; each is listed as a candidate.

    Returns:
        Search: the kept points, and candidates (the points kept at sensitivity LIBERAL and
        the ``peaks``), each with its gain between the kept points around it.
    """
    T = len(feats)
    fitted = _fitted(feats, min_size)
    if fitted is None:
        return Search((), ())
    algo, block, size = fitted
    n = len(algo.cost.signal)
    unit = PENALTY * math.log(n)
    kept = _predict(algo, unit / sensitivity)
    liberal = _predict(algo, unit / max(LIBERAL, sensitivity))
    gram = np.asarray(algo.cost.gram)
    prefix = np.zeros((n + 1, n + 1))
    prefix[1:, 1:] = gram.cumsum(0).cumsum(1)

    def cost(a: int, b: int) -> float:
        block_sum = prefix[b, b] - prefix[a, b] - prefix[b, a] + prefix[a, a]
        return (b - a) - block_sum / (b - a)

    edges = [0, *kept, n]
    others = {-(-p // block) for p in peaks} | set(liberal)
    out = []
    for c in sorted(others | set(kept)):
        if not size <= c <= n - size:
            continue
        i = int(np.searchsorted(edges, c))
        a, e = edges[i - 1], edges[i + 1] if edges[i] == c else edges[i]
        if c - a < 1 or e - c < 1:
            continue
        gain = cost(a, e) - cost(a, c) - cost(c, e)
        needed = unit / gain if gain > 0 else math.inf
        out.append(Cut(min(c * block, T - 1), gain, needed, c in kept))
    out.sort(key=lambda k: k.needed)
    # one candidate per place: a peak within min_size rows of a stronger candidate repeats it
    rows = [min(p * block, T - 1) for p in kept]
    placed = dict(zip(rows, place(rows, x, max(block, window_length(x)))))
    out = [replace(k, index=placed[k.index]) if k.kept else k for k in out]
    ranked: list[Cut] = []
    for k in out:
        if k.kept or all(abs(k.index - r.index) > min_size for r in ranked):
            ranked.append(k)
    return Search(tuple(sorted(placed.values())), tuple(ranked))
