"""Straight lines in time: piecewise-linear PELT (each segment its own line per column, so a
change of slope is one point and a level shift still one) and the union's filter that drops a
mean-shift point a single line explains (PELT on the mean cuts a sloped stretch into steps)."""

from __future__ import annotations

import math

import numpy as np

from lstm_core.changepoints.classical import blocked


def detrended(x: np.ndarray) -> np.ndarray:
    """(T, K) -> (T, K) each column less one straight line (least squares) over the series."""
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    t = np.linspace(-1.0, 1.0, len(x))[:, None]
    r = x - x.mean(axis=0)
    return r - t * (t * r).sum(axis=0) / max(float((t * t).sum()), 1e-300)


def scaled(x: np.ndarray) -> np.ndarray:
    """(T, K) -> (T, K) each column centred, in units of its residuals' spread about one
    straight line over the whole series (``features.standardise`` with a line in place of the
    mean: a series that only trends has unit noise); constant residuals leave a column as is."""
    x = np.asarray(x, dtype=np.float64)
    sd = detrended(x).std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 1e-12, sd, 1.0)


def _sums(z: np.ndarray) -> tuple[np.ndarray, ...]:
    """Running sums from row 0 of 1, t, t^2 (T + 1,) and y, t y, y^2 summed over columns
    ((T + 1, K), (T + 1, K), (T + 1,)): a segment's line fit from differences of two rows."""
    T = len(z)
    t = np.linspace(-1.0, 1.0, T)

    def run(v: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v, axis=0)])

    return (
        run(np.ones(T)),
        run(t),
        run(t * t),
        run(z),
        run(t[:, None] * z),
        run((z * z).sum(axis=1)),
    )


def costs(sums: tuple[np.ndarray, ...], s: np.ndarray, e: int | np.ndarray) -> np.ndarray:
    """Residual sum of squares of a straight line per column over rows [s, e) for each start
    in ``s`` (and end in ``e``, one or one per start) -> (len(s),), summed over columns."""
    n, st, stt, sy, sty, syy = (v[e] - v[s] for v in sums)
    sxx = stt - st * st / n  # (S,) spread of time
    sxy = sty - st[:, None] * sy / n[:, None]  # (S, K)
    rss = syy - (sy * sy).sum(axis=1) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = np.where(sxx > 1e-12, (sxy * sxy).sum(axis=1) / sxx, 0.0)
    return np.maximum(rss - fit, 0.0)


def linear_pelt(raw: np.ndarray, sensitivity: float = 1.0, min_size: int = 3) -> list[int]:
    """Change points of the exact penalised piecewise-linear fit (PELT's pruning, vectorised
    over the starts kept at each end row).

    Args:
        raw: (T, K) the series; each column in its residuals' spread about one line over the
            whole series (``scaled``).
        sensitivity: the penalty (1 + 2 K) log n (a location and, per column, a level and a
            slope: BIC) is divided by it.
        min_size: fewest rows per segment (at least 3: two rows fit any line).

    Series longer than ``seg.MAX_POINTS`` rows are fitted on block means, n being the number of
    blocks, as ``classical`` does.

    Returns:
        The first row of each new segment, in time order.
    """
    z, block, size = blocked(scaled(raw), min_size)
    n, k = z.shape
    size = max(3, size)
    if n < 2 * size:
        return []
    penalty = (1 + 2 * k) * math.log(n) / sensitivity
    sums = _sums(z)
    best = np.full(n + 1, np.inf)  # best[t]: the penalised cost of rows [0, t)
    best[0] = -penalty
    last = np.zeros(n + 1, dtype=int)  # last[t]: where the last segment of that fit starts
    starts = np.zeros(0, dtype=int)  # starts still worth extending
    for e in range(size, n + 1):
        if e - size == 0 or e - size >= size:
            starts = np.append(starts, e - size)
        total = best[starts] + costs(sums, starts, e) + penalty
        i = int(np.argmin(total))
        best[e], last[e] = total[i], starts[i]
        starts = starts[total - penalty <= best[e]]  # PELT: these can never win again
    out, e = [], n
    while last[e] > 0:
        e = int(last[e])
        out.append(e * block)
    return sorted(out)


def steps(sums: tuple[np.ndarray, ...], s: np.ndarray, e: int | np.ndarray) -> np.ndarray:
    """Residual sum of squares about the mean per column over rows [s, e) for each start in
    ``s`` (and end in ``e``) -> (len(s),), summed over columns (the mean-shift cost)."""
    n, _, _, sy, _, syy = (v[e] - v[s] for v in sums)
    return np.maximum(syy - (sy * sy).sum(axis=1) / n, 0.0)


def line_sums(raw: np.ndarray) -> tuple[np.ndarray, ...]:
    """The running sums ``line_kept`` reads, of ``scaled(raw)``: for a caller that filters
    several sets of points of one series."""
    return _sums(scaled(raw))


def line_kept(
    raw: np.ndarray,
    points: list[int],
    sums: tuple[np.ndarray, ...] | None = None,
    knots: tuple[int, ...] = (),
    near: int = 0,
) -> list[int]:
    """``points`` less those a straight line explains as well as a step. A mean-shift detector
    cuts a sloped stretch into steps; one line over two such steps fits better than their two
    means, and no constant decides it.

    The point whose line fits best against its step (one line over the rows between its
    neighbours, against a mean either side of it; ``scaled(raw)``, columns summed) is dropped
    while the line fits at least as well, and its neighbours are read again.

    Args:
        sums: ``line_sums(raw)``, if already computed.
        knots: rows that are fixed edges beside the points (the kink part's changes of slope):
            a point's neighbours are the nearest points or knots, so a sloped stretch next to
            a bend is one line each side of it, not one line across it. Never dropped; those
            outside the series are ignored.
        near: a knot within this many rows of a point is no edge while the point stands (the
            same change seen twice; a stretch of a few rows between them would leave its
            test little to read).

    Returns:
        The points kept, in time order.
    """
    sums = sums if sums is not None else line_sums(raw)
    kept = sorted(points)
    inside = [int(k) for k in knots if 0 < k < len(raw)]
    while kept:
        apart = [k for k in inside if all(abs(k - p) > near for p in kept)]
        edges = np.array([0, *sorted({*kept, *apart}), len(raw)])
        at = np.searchsorted(edges, kept)
        a, b, e = edges[at - 1], edges[at], edges[at + 1]
        # (points,) what one line leaves over what the step leaves
        margin = costs(sums, a, e) - steps(sums, a, b) - steps(sums, b, e)
        i = int(np.argmin(margin))
        if margin[i] > 0:
            break
        kept.pop(i)
    return kept
