"""Where a change point sits once a detector has decided it exists: each point moved to the row
where a Gaussian cost with each segment's own mean and covariance drops most, a cost that sees
changes of level, spread, correlation and roughness alike."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from lstm_core.changepoints.robust import robust_scale

RIDGE = 1e-3  # added to each covariance's diagonal (columns in noise units): short segments
# and constant stretches would otherwise have no log determinant
MAX_FLOATS = 1 << 22  # running sums of outer products held at once (32 MB)


def columns(x: np.ndarray, steps: bool = True) -> np.ndarray:
    """(T, K) series -> (T, K) or (T, 2K) what the cost reads: each column in units of its noise
    spread and, with ``steps``, its first differences beside it (their joint covariance holds
    the spread of the steps and their correlation with the values: roughness and persistence)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    z = (x - np.median(x, axis=0)) / robust_scale(x)
    if not steps:
        return z
    return np.column_stack([z, np.diff(z, axis=0, prepend=z[:1])])


def gains(g: np.ndarray, a: int, b: np.ndarray, e: int) -> np.ndarray:
    """The drop of the Gaussian cost (rows x log det of the segment's covariance) of rows
    [a, e) of ``g`` (T, D) when cut at each row of ``b`` (consecutive rows) -> (len(b),).
    Running sums of outer products are built MAX_FLOATS at a time: a wide series cut across a
    long window holds (len(b), D, D) floats only in slices."""
    D = g.shape[1]
    ridge = RIDGE * np.eye(D)

    def cost(count: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        mean = first / count[:, None]
        cov = second / count[:, None, None] - mean[:, :, None] * mean[:, None, :] + ridge
        return count * np.linalg.slogdet(cov)[1]

    seg, lo = g[a:e], int(b[0])
    t1, t2 = seg.sum(axis=0), seg.T @ seg
    whole = cost(np.array([e - a], dtype=np.float64), t1[None], t2[None])
    head = g[a:lo]
    base1, base2 = head.sum(axis=0), head.T @ head  # rows [a, lo)
    out = np.empty(len(b))
    step = max(1, MAX_FLOATS // (D * D))
    for i in range(0, len(b), step):
        rows = g[lo + i : lo + min(i + step, len(b))]  # cuts lo + i ... lo + i + len(rows) - 1
        s1 = base1 + np.vstack([np.zeros(D), rows[:-1]]).cumsum(axis=0)  # rows [a, cut)
        outer = rows[:-1, :, None] * rows[:-1, None, :]
        s2 = base2 + np.concatenate([np.zeros((1, D, D)), outer]).cumsum(axis=0)
        n = np.arange(lo + i, lo + i + len(rows), dtype=np.float64) - a
        out[i : i + len(rows)] = whole - cost(n, s1, s2) - cost(e - a - n, t1 - s1, t2 - s2)
        base1, base2 = s1[-1] + rows[-1], s2[-1] + np.outer(rows[-1], rows[-1])
    return out


def relocate(
    points: Sequence[int],
    x: np.ndarray,
    radius: int | None = None,
    size: int = 2,
    steps: bool = True,
    fixed: Collection[int] = (),
    gap: int = 0,
    stay: bool = False,
) -> list[int]:
    """Each change point moved, between its neighbours (and within ``radius`` rows, if given), to
    the row where the Gaussian cost of ``columns(x, steps)`` drops most.

    Args:
        points: change points (rows), in time order.
        x: (T, K) the series.
        radius: rows a point may move; None: anywhere between its neighbours.
        size: fewest rows left either side of a moved point.
        steps: read the columns' first differences too.
        fixed: points left where they are (still the neighbours of the others).
        gap: rows a moved point keeps beyond its neighbouring points (not the series' ends):
            the union keeps its parts' points more than one profile window apart, and a point
            moved next to another would report one change twice.
        stay: leave a point whose own row is out of reach (within ``gap`` of a neighbour, or
            too near an end) where it is; without it, it goes to the best row it can reach,
            however poor (the union's Gaussian points may lie closer than ``gap``).

    Each segment keeps at least D + 1 rows (D: the cost's columns), the fewest whose
    covariance is not the ridge alone: a shorter one would look like a large drop.

    Returns:
        The moved points, in the order given.
    """
    g = columns(x, steps)
    T = len(g)
    out = list(points)
    for i, p in enumerate(out):
        if p in fixed:
            continue
        a = out[i - 1] if i else 0  # the left neighbour as already moved
        e = points[i + 1] if i + 1 < len(points) else T
        least = max(size, g.shape[1] + 1)
        lo = a + (max(least, gap + 1) if i else least)
        hi = e - (max(least, gap + 1) if i + 1 < len(points) else least)
        if radius is not None:
            lo, hi = max(lo, p - radius), min(hi, p + radius)
        if hi <= lo or (stay and not lo <= p <= hi):
            continue
        b = np.arange(lo, hi + 1)
        out[i] = int(b[np.argmax(gains(g, a, b, e))])
    return out


def steps_of(x: np.ndarray) -> np.ndarray:
    """(T, K) -> (T, K) the first differences of ``columns(x)`` alone (the first row zero)."""
    g = columns(x)
    return g[:, g.shape[1] // 2 :]


def binseg(
    x: np.ndarray, sensitivity: float = 1.0, size: int = 2, steps_only: bool = False
) -> list[int]:
    """Binary segmentation with the Gaussian cost of ``columns(x)`` (with ``steps_only``: of
    ``steps_of(x)``): each segment split where the cost drops most while the drop exceeds
    p log n / ``sensitivity`` (p: a mean and a covariance per segment, D + D (D + 1) / 2; BIC),
    segments at least ``size`` and D + 1 rows.

    Sees what a test on means misses: a change of correlation between columns, of spread, of
    roughness, or of level in one column of many. On the steps alone a level shift is one row
    (not a change), a change of slope is a change of their mean, and a steady trend none.

    Returns:
        The first row of each new segment, in time order.
    """
    return segmented(steps_of(x) if steps_only else columns(x), sensitivity, size)


def bic(g: np.ndarray, sensitivity: float = 1.0) -> float:
    """The BIC penalty of one more cut of ``g`` (T, D): a mean and a covariance per segment,
    D + D (D + 1) / 2 numbers, x log T, / ``sensitivity``."""
    T, D = g.shape
    return float((D + D * (D + 1) / 2) * np.log(max(T, 2)) / sensitivity)


def segmented(g: np.ndarray, sensitivity: float = 1.0, size: int = 2) -> list[int]:
    """``binseg`` on the cost's columns ``g`` (T, D) already computed (``columns``,
    ``steps_of``): for a caller that segments one series at several sensitivities."""
    T, D = g.shape
    least = max(size, D + 1)
    penalty = bic(g, sensitivity)
    out: list[int] = []
    todo = [(0, T)]
    while todo:
        a, e = todo.pop()
        if e - a < 2 * least:
            continue
        b = np.arange(a + least, e - least + 1)
        drop = gains(g, a, b, e)
        i = int(np.argmax(drop))
        if drop[i] > penalty:
            out.append(int(b[i]))
            todo += [(a, int(b[i])), (int(b[i]), e)]
    return sorted(out)
