"""A classification score profile (ClaSP-style): where does a nearest-neighbour classifier tell the
subsequences left of a split from those right of it best? Binary segmentation at the profile's
maximum, each split kept when a rank-sum test on the classifier's labels passes a learned
threshold.

After Schäfer, Ermshaus & Leser (2021), "ClaSP - Time Series Segmentation", and Ermshaus et al.
(2023), "ClaSP: parameter-free time series segmentation"; this is our own implementation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.stats import norm

from lstm_core.arrays import block_means
from lstm_core.changepoints.features import standardise
from lstm_core.changepoints.search import place, series_features

# -log10 p of the rank-sum test a split must reach (ClaSP ships p <= 1e-15, i.e. 15). Learned
# across series (TCPD, TSSB and the synthetic suite, grouped folds): benchmarks/changepoints.py
# prints the pick per fold. ``sensitivity`` divides it.
THRESHOLD = 15.0
K = 3  # neighbours per subsequence
MAX_ROWS = 4000  # longer series are profiled on block means (the neighbour search is O(n^2))
EDGE = 2  # fewest windows between two change points and from either end (ClaSP: 5); the
# benchmark's folds pick between 2 and 5 with the threshold
MIN_WINDOW = 4
BLOCK_CELLS = 1 << 20  # distances held at once by the neighbour search (8 MB)
ViewName = Literal["raw", "representation"]
Design = Literal["shape", "raw", "representation", "both"]


@dataclass(frozen=True)
class View:
    """One set of columns the classifier reads: ``values`` (T, D); ``normalise`` compares
    subsequences by shape (z-normalised per subsequence), else by their values."""

    values: np.ndarray
    normalise: bool = True
    method: ViewName = "raw"  # whose view: the series' own, or the model's representation


@dataclass(frozen=True)
class Node:
    """A split the binary segmentation tried: its row, how strongly it separates, its parent."""

    index: int  # row of the series where the right segment starts
    score: float  # the profile's maximum (macro F1 of the left/right classifier)
    evidence: float  # -log10 p of the rank-sum test on the classifier's labels
    parent: int  # position of the parent node in the tree's list, -1 for the root
    method: ViewName = "raw"  # the view whose profile decided the split


def window(x: np.ndarray, lower: int = 10, similarity: float = 0.89, edge: int = EDGE) -> int:
    """Subsequence length from summary statistics (SuSS): twice the shortest window whose rolling
    mean, spread and range stay within ``similarity`` of the whole first column's, clipped to
    MIN_WINDOW .. T / (4 edge)."""
    y = np.asarray(x, dtype=np.float64)
    y = y[:, 0] if y.ndim == 2 else y
    T = len(y)
    top = max(MIN_WINDOW, T // (4 * edge))
    span = y.max() - y.min()
    if T < 2 * lower or span <= 0:
        return int(np.clip(lower, MIN_WINDOW, top))
    y = (y - y.min()) / span
    stats = np.array([y.mean(), y.std(), 1.0])

    def distance(w: int) -> float:
        c1 = np.concatenate([[0.0], np.cumsum(y)])
        c2 = np.concatenate([[0.0], np.cumsum(y * y)])
        mean = (c1[w:] - c1[:-w]) / w
        sd = np.sqrt(np.maximum((c2[w:] - c2[:-w]) / w - mean**2, 0.0))
        view = np.lib.stride_tricks.sliding_window_view(y, w)
        rng = view.max(axis=1) - view.min(axis=1)
        d = np.column_stack([mean, sd, rng]) - stats
        return float(np.mean(np.sqrt((d**2).sum(axis=1))) / math.sqrt(w))

    low, high = distance(1), distance(T - 1)
    if high == low:
        return int(np.clip(lower, MIN_WINDOW, top))

    def similar(w: int) -> float:
        return 1 - (distance(w) - high) / (low - high)

    w = lower
    while w < T - 1 and similar(w) <= similarity:  # doubling, then bisection
        w *= 2
    a, b = max(lower, w // 2), min(w, T - 1)
    while a < b:
        m = (a + b) // 2
        a, b = (m + 1, b) if similar(m) < similarity else (a, m)
    return int(np.clip(2 * a, MIN_WINDOW, top))


def neighbours(values: np.ndarray, window: int, k: int = K, normalise: bool = True) -> np.ndarray:
    """The ``k`` nearest subsequences of every subsequence, trivial matches (closer than
    ``window`` rows) excluded: (T, D) -> (T - window + 1, k) start rows.

    Distances are summed over the columns: squared z-normalised Euclidean (two flat
    subsequences are equal, a flat one is ``window`` from any other) or squared Euclidean.
    The dot products of a block of subsequences with all others are one matrix product, so the
    O(n^2) search runs in a few vectorised passes (n <= MAX_ROWS: the profile reads block means
    of longer series).
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    w = int(window)
    n = len(x) - w + 1
    if n < 2 * w + k + 1:
        raise ValueError(f"{len(x)} rows are too few for window {w} and {k} neighbours")
    cols = []
    for j in range(x.shape[1]):
        y = x[:, j]
        subs = np.lib.stride_tricks.sliding_window_view(y, w)  # (n, w), a view
        # from each subsequence itself, not running sums, whose rounding grows along the
        # series: an exactly constant stretch must read as flat wherever it lies
        mean, sd = subs.mean(axis=1), subs.std(axis=1)
        sq = np.einsum("ij,ij->i", subs, subs)
        flat = np.ptp(subs, axis=1) <= 1e-8 * max(1.0, float(np.abs(y).max()))
        cols.append((subs, mean, sq, np.where(flat, 1.0, sd), flat))
    out = np.empty((n, k), dtype=np.int64)
    step = max(1, BLOCK_CELLS // n)  # rows per block: bounded memory on long series
    for a in range(0, n, step):
        b = min(n, a + step)
        dist = None
        for subs, mean, sq, sd, flat in cols:
            if normalise:  # 2w (1 - correlation): the left rows centred, then scaled in place
                d = (subs[a:b] - mean[a:b, None]) @ subs.T
                d *= (-2.0 / sd[a:b])[:, None]
                d /= sd
                d += 2.0 * w
                if flat.any():
                    d[:, flat] = w  # a flat subsequence is window from any other ...
                    d[flat[a:b]] = np.where(flat, 0.0, float(w))  # ... and 0 from a flat one
            else:  # |x_i|^2 + |x_j|^2 - 2 x_i . x_j
                d = subs[a:b] @ subs.T
                d *= -2.0
                d += sq[a:b, None]
                d += sq
            np.maximum(d, 0.0, out=d)
            dist = d if dist is None else np.add(dist, d, out=dist)
        for r in range(b - a):  # trivial matches: starts closer than the window
            i = a + r
            dist[r, max(0, i - w + 1) : i + w] = np.inf
        idx = np.argpartition(dist, k, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(dist, idx, axis=1), axis=1, kind="stable")
        out[a:b] = np.take_along_axis(idx, order, axis=1)
    return out


def _labels(nn: np.ndarray) -> np.ndarray:
    """(n, k) neighbours -> (n,) the start a split must not exceed for the majority of a
    subsequence's neighbours to lie right of it (the classifier says "right" iff split <= it)."""
    k = nn.shape[1]
    return np.sort(nn, axis=1)[:, k - (k // 2 + 1)]


def _counts(nn: np.ndarray) -> tuple[np.ndarray, ...]:
    """Confusion counts of the leave-one-out k-NN classifier at every split s = 0 .. n: true
    right (i >= s), predicted right (its median neighbour >= s). Each (n + 1,)."""
    n = len(nn)
    a = _labels(nn)
    above = np.cumsum(np.bincount(a, minlength=n + 1)[::-1])[::-1]  # #{a_i >= s}
    both = np.cumsum(np.bincount(np.minimum(a, np.arange(n)), minlength=n + 1)[::-1])[::-1]
    tp = both  # i >= s and a_i >= s
    right = n - np.arange(n + 1)  # #{i >= s}
    fn = right - tp
    fp = above - tp
    tn = n - tp - fn - fp
    return tp.astype(float), fn.astype(float), fp.astype(float), tn.astype(float)


def _scores(nn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Macro F1 and rank-sum evidence (-log10 p) of every split s = 0 .. n."""
    tp, fn, fp, tn = _counts(nn)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = (
            np.nan_to_num(2 * tp / (2 * tp + fp + fn)) + np.nan_to_num(2 * tn / (2 * tn + fn + fp))
        ) / 2
        # rank-sum test of the predicted labels left (n1 = s) against right (n2 = n - s)
        n = len(nn)
        s = np.arange(n + 1, dtype=float)
        ones_left, ones = fp, tp + fp
        zeros = n - ones
        ranks = (s - ones_left) * (zeros + 1) / 2 + ones_left * (zeros + (ones + 1) / 2)
        z = (ranks - s * (n + 1) / 2) / np.sqrt(s * (n - s) * (n + 1) / 12)
        z = np.nan_to_num(np.abs(z))
    evidence = -(math.log(2) + norm.logsf(z)) / math.log(10)
    return f1, evidence


def profile(values: np.ndarray, window: int, k: int = K, normalise: bool = True) -> np.ndarray:
    """The classification score profile: for every split of the subsequences (start rows
    0 .. T - window + 1) the macro F1 of a leave-one-out k-NN classifier labelling left vs right.

    Splits within EDGE windows of either end are NaN (too few subsequences on one side).

    Args:
        values: (T,) or (T, D) the series (or any per-step representation of it).
        window: subsequence length (``window(values)`` picks one).
        k: neighbours the classifier votes with.
        normalise: compare subsequences by shape (z-normalised) rather than by value.

    Returns:
        (T - window + 2,) profile over splits; the row of a split s is s + window // 2.
    """
    nn = neighbours(values, window, k, normalise)
    f1, _ = _scores(nn)
    edge = EDGE * window
    out = np.full(len(f1), np.nan)
    out[edge : len(f1) - edge] = f1[edge : len(f1) - edge]
    return out


def _best(
    views: Sequence[View], a: int, e: int, w: int, k: int, parent: int, edge: int
) -> Node | None:
    """The best split of rows a .. e over the views, or None when the range is too short. With
    several views the one whose profile peaks highest decides."""
    rows = edge * w  # fewest subsequences on either side
    n = e - a - w + 1
    if n < 2 * rows + 2:
        return None
    best: Node | None = None
    for v in views:
        nn = neighbours(v.values[a:e], w, k, v.normalise)
        f1, evidence = _scores(nn)
        s = rows + int(np.argmax(f1[rows : n - rows + 1]))
        if best is None or f1[s] > best.score:
            best = Node(a + s + w // 2, float(f1[s]), float(evidence[s]), parent, v.method)
    return best


def tree(
    views: Sequence[View], w: int, k: int = K, floor: float = 0.0, depth: int = 12, edge: int = EDGE
) -> list[Node]:
    """Binary segmentation down to the weakest split worth keeping (evidence >= ``floor``):
    every node tried, in the order tried. The points at a threshold t are the nodes whose
    evidence and all of whose ancestors' evidence reach t (``select``)."""
    T = len(views[0].values)
    nodes: list[Node] = []
    stack = [(0, T, -1, 0)]
    while stack:
        a, e, parent, level = stack.pop()
        node = _best(views, a, e, w, k, parent, edge)
        if node is None:
            continue
        nodes.append(node)
        if node.evidence >= floor and level < depth:
            me = len(nodes) - 1
            stack += [(a, node.index, me, level + 1), (node.index, e, me, level + 1)]
    return nodes


def select(nodes: Sequence[Node], threshold: float) -> list[Node]:
    """The nodes kept at ``threshold`` (their own and all ancestors' evidence reach it), in
    time order."""
    kept: list[Node] = []
    for node in nodes:
        chain, ok = node, True
        while ok:
            ok = chain.evidence >= threshold
            if chain.parent < 0:
                break
            chain = nodes[chain.parent]
        if ok:
            kept.append(node)
    return sorted(kept, key=lambda n: n.index)


def prepared(values: np.ndarray, max_rows: int = MAX_ROWS) -> tuple[np.ndarray, int]:
    """(T, D) values as the profile reads them: each column scaled by its spread, block means
    beyond ``max_rows`` rows; and the block length."""
    x = np.asarray(values, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    block = max(1, -(-len(x) // max_rows))
    if block > 1:
        x = block_means(x, block)
    return standardise(x), block


def span(values: np.ndarray, edge: int = EDGE) -> int:
    """The profile's window in the series' rows (the window of ``nodes_of`` times its block)."""
    x, block = prepared(values)
    return max(MIN_WINDOW, window(x, edge=edge)) * block


def nodes_of(
    values: np.ndarray,
    representation: np.ndarray | None = None,
    design: Design = "raw",
    floor: float = 0.0,
    edge: int = EDGE,
    k: int = K,
) -> tuple[list[Node], int, int]:
    """The segmentation tree of a design, the block length its rows are counted in (multiply
    to get the series' rows) and the window.

    Designs: "shape" (the series' subsequences, z-normalised), "raw" (those and the rolling
    statistics of ``search.series_features`` by value: level, spread and roughness changes
    leave shapes alone), "representation" (subsequences of ``representation`` (T, D), e.g. the
    gate's main directions, by value; the series' views when it is None) or "both" (all three).
    With several views each split is decided by the view whose profile peaks highest.
    """
    x, block = prepared(values)
    w = max(MIN_WINDOW, window(x, edge=edge))
    views = []
    if design != "representation" or representation is None:
        views.append(View(x, True))
        if design != "shape":  # levels, spreads and roughness: what shapes alone cannot see
            views.append(View(prepared(series_features(x))[0], False))
    if design in ("representation", "both") and representation is not None:
        r, _ = prepared(representation)
        views.append(View(r[: len(x)], False, "representation"))
    T = len(x)
    if T - w + 1 < 2 * (edge * w + 1):  # too short for the window: shrink it
        w = max(MIN_WINDOW, (T - 2) // (2 * edge + 1) - 1)
        if T - w + 1 < 2 * (edge * w + 1):
            return [], block, w
    return tree(views, w, k, floor, edge=edge), block, w


def path(
    values: np.ndarray,
    thresholds: Sequence[float],
    representation: np.ndarray | None = None,
    design: Design = "raw",
    edge: int = EDGE,
) -> dict[float, list[Node]]:
    """The kept splits at each threshold multiplier (THRESHOLD x t in place of THRESHOLD), from
    one tree, each moved within half a window to where the series' values and steps split best
    (``search.place``), its index in the series' rows: what the benchmark's folds pick the
    threshold from."""
    floor = THRESHOLD * min(thresholds)
    nodes, block, w = nodes_of(values, representation, design, floor, edge)
    x = np.asarray(values, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    T = len(x)
    out = {}
    for t in thresholds:
        kept = select(nodes, THRESHOLD * t)
        rows = place([min(n.index * block, T - 1) for n in kept], x, max(block, w * block // 2))
        out[t] = [replace(n, index=r) for n, r in zip(kept, rows)]
    return out


def segment(
    values: np.ndarray,
    representation: np.ndarray | None = None,
    design: Design = "raw",
    sensitivity: float = 1.0,
) -> list[int]:
    """Change points (rows where a new segment starts) of a series by its classification score
    profile, each split kept while its rank-sum evidence reaches THRESHOLD / sensitivity.

    Args:
        values: (T,) or (T, K) the series.
        representation: (T, D) a per-step representation (the model's gate components), read
            by the "representation" and "both" designs.
        design: "shape", "raw", "representation" or "both" (see ``nodes_of``).
        sensitivity: > 1 finds more change points, < 1 fewer.

    Returns:
        Sorted rows; ``path`` gives the splits themselves (evidence, the view that decided).
    """
    assert sensitivity > 0, "sensitivity must be positive"
    return [
        n.index for n in path(values, (1 / sensitivity,), representation, design)[1 / sensitivity]
    ]


@dataclass(frozen=True)
class Split:
    """A split the profile tried, as a candidate change point: ``needed`` is the sensitivity at
    which it and every split above it in the tree pass (THRESHOLD / the weakest evidence on its
    chain), so a kept split needs at most the sensitivity used."""

    node: Node  # its ``index`` in the series' rows (kept splits placed as ``path`` places them)
    needed: float
    kept: bool


def splits(
    values: np.ndarray,
    representation: np.ndarray | None = None,
    design: Design = "raw",
    sensitivity: float = 1.0,
    liberal: float = 4.0,
    edge: int = EDGE,
) -> list[Split]:
    """Every split of the tree grown down to sensitivity ``max(liberal, sensitivity)``, with the
    sensitivity each needs, strongest first; the kept ones (``needed <= sensitivity``) are the
    points ``segment`` returns at ``sensitivity``."""
    assert sensitivity > 0 and liberal > 0, "sensitivities must be positive"
    floor = THRESHOLD / max(liberal, sensitivity)
    nodes, block, w = nodes_of(values, representation, design, floor, edge)
    x = np.asarray(values, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    T = len(x)
    needed = []
    for node in nodes:
        weakest, chain = node.evidence, node
        while chain.parent >= 0:
            chain = nodes[chain.parent]
            weakest = min(weakest, chain.evidence)
        needed.append(THRESHOLD / weakest if weakest > 0 else math.inf)
    kept = select(nodes, THRESHOLD / sensitivity)
    rows = place([min(n.index * block, T - 1) for n in kept], x, max(block, w * block // 2))
    placed = {id(n): r for n, r in zip(kept, rows)}
    out = [
        Split(
            replace(n, index=placed.get(id(n), min(n.index * block, T - 1))), need, id(n) in placed
        )
        for n, need in zip(nodes, needed)
    ]
    return sorted(out, key=lambda s: (s.needed, -s.node.score))
