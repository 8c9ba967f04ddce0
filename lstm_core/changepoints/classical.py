"""The reference detectors at their benchmark defaults (ruptures): PELT and BinSeg on the mean,
KernelCPD on the whole distribution; the "union" detector runs PELT as its first part."""

from __future__ import annotations

import math
import warnings

import numpy as np
import ruptures as rpt

import lstm_core.changepoints.segment as seg
from lstm_core.arrays import block_means
from lstm_core.changepoints.features import standardise
from lstm_core.changepoints.results import Classical


def blocked(z: np.ndarray, min_size: int) -> tuple[np.ndarray, int, int]:
    """(T, K) -> its block means beyond ``seg.MAX_POINTS`` rows (the O(n^2) searches' cap), the
    rows per block and ``min_size`` in blocks."""
    block = max(1, -(-len(z) // seg.MAX_POINTS))
    return (block_means(z, block) if block > 1 else z), block, max(1, -(-min_size // block))


def classical(
    raw: np.ndarray, method: Classical = "pelt", sensitivity: float = 1.0, min_size: int = 2
) -> list[int]:
    """The reference detectors at their benchmark defaults, on the standardised columns.

    "pelt" and "binseg" are TCPDBench's defaults (R changepoint's ``cpt.mean``, Normal, MBIC): a
    mean-shift (L2) cost with the penalty (2 + columns) x log n (3 log n for one column); BinSeg
    keeps at most 5 changes. PELT's exact penalised optimum is computed by ruptures' compiled
    KernelCPD with the linear kernel (the same cost, 50x faster than ``rpt.Pelt(model="l2")``).
    "kernel" is KernelCPD with the RBF kernel and the penalty log n (any change of
    distribution). Series longer than ``seg.MAX_POINTS`` use block means, with n the number of
    blocks: there they are not TCPDBench's PELT on every
    row (block means average the noise away, so the same penalty keeps fewer points).
    """
    z, block, size = blocked(standardise(np.asarray(raw, dtype=np.float64)), min_size)
    n, d = z.shape
    if n < 2 * size:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruptures warns about its bias on constant segments
        pen = (2 + d) * math.log(n) / sensitivity
        if method == "kernel":
            algo = rpt.KernelCPD(kernel="rbf", min_size=size).fit(z)
            bkps = algo.predict(pen=math.log(n) / sensitivity)[:-1]
        elif method == "pelt":
            bkps = rpt.KernelCPD(kernel="linear", min_size=size).fit(z).predict(pen=pen)[:-1]
        else:
            algo = rpt.Binseg(model="l2", min_size=size, jump=1).fit(z)
            bkps = algo.predict(pen=pen)[:-1]
            if len(bkps) > 5:
                bkps = algo.predict(n_bkps=5)[:-1]
    return [int(b) * block for b in bkps]
