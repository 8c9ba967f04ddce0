"""Array helpers shared by detection, interpretation and plotting: blocks of consecutive rows."""

from __future__ import annotations

import numpy as np


def blocks(x: np.ndarray, size: int, axis: int = 0) -> np.ndarray:
    """Consecutive runs of ``size`` entries along ``axis`` as a new axis, NaN-padded at the end.

    (T, ...) with axis 0 -> (ceil(T / size), size, ...); for another axis the new block axis is
    inserted after it. Reduce with ``np.nanmean`` (or nanmin...) over ``axis + 1``.
    """
    x = np.moveaxis(np.asarray(x, dtype=np.float64), axis, 0)
    n = -(-len(x) // size)
    pad = np.full((n * size,) + x.shape[1:], np.nan)
    pad[: len(x)] = x
    out = pad.reshape((n, size) + x.shape[1:])  # (blocks, size, rest...)
    return np.moveaxis(out, (0, 1), (axis, axis + 1))


def block_means(x: np.ndarray, size: int, axis: int = 0) -> np.ndarray:
    """Means of consecutive runs of ``size`` entries along ``axis`` (the last run may be
    shorter): (T, ...) -> (ceil(T / size), ...)."""
    if size <= 1:
        return np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.nanmean(blocks(x, size, axis), axis=axis + 1)
