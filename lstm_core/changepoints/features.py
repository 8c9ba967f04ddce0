"""What the segmentation sees: the series' columns, the skip gate's main directions, or both,
and the change score curve drawn under the series."""

from __future__ import annotations

import numpy as np

from lstm_core.changepoints.results import Features

MAX_GATE_COMPONENTS = 4


def standardise(x: np.ndarray) -> np.ndarray:
    """Columns to zero mean and unit spread; constant columns become zeros."""
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 1e-12, sd, 1.0)


def gate_components(gate: np.ndarray, variance: float = 0.9) -> np.ndarray:
    """The stitched gate's main directions: (T, W) -> (T, k) principal components that explain
    ``variance`` of it (k <= MAX_GATE_COMPONENTS), each standardised.

    From the eigenvectors of the (W, W) covariance, not an SVD of the centred (T, W) gate: the
    same components (each signed so that its largest loading is positive), without the copies
    of the gate an SVD needs (0.7 GB and 7 s at a million steps, against none and 0.7 s).
    """
    gate = np.asarray(gate)
    T, W = gate.shape
    mean, second = np.zeros(W), np.zeros((W, W))
    for s in range(0, T, 65_536):  # float64 sums of a float32 gate, a slice at a time
        g = gate[s : s + 65_536].astype(np.float64)
        mean += g.sum(axis=0)
        second += g.T @ g
    mean /= max(T, 1)
    cov = second / max(T, 1) - np.outer(mean, mean)  # (W, W)
    variances, vectors = np.linalg.eigh(cov)  # ascending
    variances, vectors = variances[::-1].clip(min=0), vectors[:, ::-1]
    explained = np.cumsum(variances) / max(float(variances.sum()), 1e-300)
    k = min(int(np.searchsorted(explained, variance) + 1), MAX_GATE_COMPONENTS, len(variances))
    v = vectors[:, :k]
    v = v * np.where(v[np.abs(v).argmax(axis=0), np.arange(k)] < 0, -1.0, 1.0)
    return standardise(gate @ v.astype(gate.dtype) - mean @ v)


def change_features(
    raw: np.ndarray,
    gate: np.ndarray | None,
    features: Features = "combined",
    names: tuple[str, ...] = (),
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The columns the segmentation tests, and their names.

    Args:
        raw: (T, K) the series' columns.
        gate: (T, W) stitched skip-gate activations (needed unless ``features="raw"``).
        features: "raw" (the columns), "gate" (the gate's principal components) or "combined"
            (both side by side: the detector searches both for candidates and tests the
            series' columns; with "gate" a change is reported as "dynamics").
        names: the K column names (default V1, V2...).

    Returns:
        (T, D) features and their D names ("gate PC1"... for the gate's components).
    """
    names = tuple(names) or tuple(f"V{i + 1}" for i in range(raw.shape[1]))
    parts, labels = [], []
    if features in ("raw", "combined"):
        parts.append(np.asarray(raw, dtype=np.float64))
        labels += list(names)
    if features in ("gate", "combined"):
        if gate is None:
            raise ValueError(f"features={features!r} needs the stitched gate")
        g = gate_components(gate)
        parts.append(g)
        labels += [f"gate PC{i + 1}" for i in range(g.shape[1])]
    return np.column_stack(parts), tuple(labels)


def change_score(feats: np.ndarray, half: int) -> np.ndarray:
    """(T,) squared distance between the mean standardised features of the ``half`` steps
    before and after each step, averaged over features; 0 where either side is shorter than
    ``half``. O(T D) via cumulative sums. Drawn under the series as the "change score"."""
    feats = standardise(np.asarray(feats, dtype=np.float64))
    T = len(feats)
    c = np.vstack([np.zeros(feats.shape[1]), np.cumsum(feats, axis=0)])
    t = np.arange(half, T - half + 1)
    out = np.zeros(T)
    if len(t):
        left = (c[t] - c[t - half]) / half
        right = (c[t + half] - c[t]) / half
        out[t] = ((left - right) ** 2).mean(axis=1)
    return out
