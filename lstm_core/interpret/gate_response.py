"""The skip gate at change points, measured: the shift in the share of units leaning on memory
across each point, and a permutation p-value against random points of the same series."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05  # the gate responds at a point when its shift is rarer than this among random points
RANDOM_POINTS = 200  # random points of the same series, the reference


@dataclass(frozen=True)
class GateResponse:
    """The gate's response at one point (row ``index``)."""

    index: int
    shift: float  # mean share over (index, index + w] minus over [index - w, index)
    p: float  # permutation p-value: share of random points shifting at least as much (+1 rule)
    w: int

    @property
    def responds(self) -> bool:
        return bool(self.p < ALPHA)


def shifts(share: np.ndarray, points: np.ndarray, w: int) -> np.ndarray:
    """(N,) mean of ``share`` over the ``w`` steps from each point minus the ``w`` before it."""
    c = np.concatenate([[0.0], np.cumsum(np.asarray(share, dtype=np.float64))])
    p = np.asarray(points, dtype=np.int64)
    return (c[p + w] - c[p]) / w - (c[p] - c[p - w]) / w


def gate_response(
    share: np.ndarray,
    points: Sequence[int],
    w: int,
    n_random: int = RANDOM_POINTS,
    seed: int = 0,
) -> list[GateResponse]:
    """The gate's shift at each point, with its p-value against ``n_random`` random points.

    Args:
        share: (T,) share of gate units leaning on memory (``readings.gate_reading``).
        points: rows of the change points; those closer than ``w`` to an end are left out.
        w: steps on each side (the trace averages each step over ``lookback`` windows, so a
            lookback is a fair width).

    Returns:
        One GateResponse per point that has ``w`` steps on both sides, in the given order.
    """
    T = len(share)
    w = max(1, int(w))
    if T < 2 * w + 1:
        return []
    valid = [int(p) for p in points if w <= int(p) <= T - w]
    rng = np.random.default_rng(seed)
    ref = np.abs(shifts(share, rng.integers(w, T - w + 1, n_random), w))
    out = []
    for p, s in zip(valid, shifts(share, np.asarray(valid, dtype=np.int64), w) if valid else []):
        p_value = (1 + int((ref >= abs(s) - 1e-12).sum())) / (1 + n_random)
        out.append(GateResponse(p, float(s), p_value, w))
    return out


def response_rate(responses: Sequence[GateResponse]) -> float:
    """Share of points where the gate responds (NaN without points)."""
    return sum(r.responds for r in responses) / len(responses) if responses else math.nan
