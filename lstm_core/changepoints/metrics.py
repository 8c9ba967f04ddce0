"""Scoring change points: one matcher, F1 and covering as TCPDBench defines them, agreement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lstm_core.changepoints.results import Agreement, Metrics

MARGIN = 5  # observations: a detection this close to a true change point counts (TCPD)
Annotations = Mapping[str, Sequence[int]] | Sequence[int]


def match(a: Sequence[int], b: Sequence[int], margin: int = MARGIN) -> list[tuple[int, int]]:
    """One-to-one pairs (x, y) of ``a`` and ``b`` within ``margin`` of each other: each x in
    increasing order takes the closest y still free (TCPDBench's rule for true positives)."""
    free = sorted({int(y) for y in b})
    pairs = []
    for x in sorted({int(x) for x in a}):
        close = [y for y in free if abs(x - y) <= margin]
        if close:
            y = min(close, key=lambda y: (abs(x - y), y))
            pairs.append((x, y))
            free.remove(y)
    return pairs


def _annotators(known: Annotations) -> list[set[int]]:
    """One set per annotator, each holding the trivial change point 0."""
    groups = known.values() if isinstance(known, Mapping) else [known]
    return [{int(i) for i in g} | {0} for g in groups]


def f1_score(
    known: Annotations, predicted: Sequence[int], margin: int = MARGIN
) -> tuple[float, float, float]:
    """F1, precision and recall of ``predicted`` against one or more annotators.

    Precision is over the union of the annotators' points, recall the mean over annotators;
    0 (the start of the series) is added to every set as a trivial change point.

    Returns:
        (f1, precision, recall)
    """
    sets = _annotators(known)
    pred = {int(p) for p in predicted} | {0}
    union = set().union(*sets)
    precision = len(match(union, pred, margin)) / len(pred)
    recall = float(np.mean([len(match(s, pred, margin)) / len(s) for s in sets]))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def _segments(points: Sequence[int] | set[int], n_obs: int) -> np.ndarray:
    """(S, 2) [start, end) of the segments that change points cut [0, n_obs) into."""
    cuts = sorted({int(p) for p in points if 0 < p < n_obs})
    edges = np.array([0, *cuts, n_obs])
    return np.column_stack([edges[:-1], edges[1:]])


def covering(known: Annotations, predicted: Sequence[int], n_obs: int) -> float:
    """Mean over annotators of the covering of their segmentation by the predicted one: each
    true segment weighs its length times its best Jaccard overlap with a predicted segment."""
    pred = _segments(predicted, n_obs)  # (P, 2)
    out = []
    for s in _annotators(known):
        true = _segments(s, n_obs)  # (S, 2)
        inter = np.clip(
            np.minimum(true[:, None, 1], pred[None, :, 1])
            - np.maximum(true[:, None, 0], pred[None, :, 0]),
            0,
            None,
        )
        lengths_t = (true[:, 1] - true[:, 0])[:, None]
        union = lengths_t + (pred[:, 1] - pred[:, 0])[None, :] - inter
        out.append(float((lengths_t[:, 0] * (inter / union).max(axis=1)).sum() / n_obs))
    return float(np.mean(out))


def score(
    known: Annotations, predicted: Sequence[int], n_obs: int, margin: int = MARGIN
) -> Metrics:
    """F1 (with precision, recall), covering and the plain count of ``predicted`` against known
    change points. The count is for the annotator whose points were matched best, without the
    trivial start point, so finding nothing reads "found 0 of 1", whatever F1 says."""
    f1, p, r = f1_score(known, predicted, margin)
    counts = [
        (len(match(s - {0}, predicted, margin)), len(s - {0})) for s in _annotators(known)
    ]
    found, total = max(counts, key=lambda c: (c[0] / c[1] if c[1] else 1.0, c[1]))
    return Metrics(
        f1=f1,
        precision=p,
        recall=r,
        covering=covering(known, predicted, n_obs),
        found=found,
        known=total,
    )


def agreement(a: Sequence[int], b: Sequence[int], margin: int = MARGIN) -> Agreement:
    """Pairs of change points of ``a`` and ``b`` within ``margin`` of each other (one-to-one)."""
    pairs = match(a, b, margin)
    total = len(set(a)) + len(set(b))
    share = 1.0 if total == 0 else 2 * len(pairs) / total
    return Agreement(tuple(pairs), share, margin)
