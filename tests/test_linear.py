"""Straight lines in time: the piecewise-linear cost, its PELT and the union's line filter."""

from __future__ import annotations

import numpy as np

from lstm_core.changepoints import linear as LN
from lstm_core.changepoints.classical import classical


def test_costs_equal_a_least_squares_line_per_column():
    z = np.random.default_rng(0).normal(size=(120, 2)).cumsum(axis=0)
    sums = LN._sums(z)
    t = np.linspace(-1.0, 1.0, len(z))
    starts = np.array([0, 30, 77])
    direct = [
        sum(np.polyfit(t[s:100], z[s:100, k], 1, full=True)[1][0] for k in range(2)) for s in starts
    ]
    assert np.allclose(LN.costs(sums, starts, 100), direct)


def kink(n: int = 400, at: int = 250, seed: int = 0) -> np.ndarray:
    """A continuous line whose slope turns at ``at``, plus unit noise."""
    t = np.arange(n, dtype=float)
    level = 0.03 * t - 0.08 * np.maximum(t - at, 0)
    return (level + np.random.default_rng(seed).normal(size=n))[:, None]


def test_linear_pelt_marks_a_change_of_slope_once_and_a_line_not_at_all():
    (found,) = LN.linear_pelt(kink(), 1.0, 5)
    assert abs(found - 250) <= 20  # a kink is located less sharply than a step
    t = np.arange(400, dtype=float)
    ramp = 0.03 * t + np.random.default_rng(1).normal(size=400)
    assert LN.linear_pelt(ramp[:, None], 1.0, 5) == []


def test_line_kept_drops_the_steps_pelt_cuts_in_a_ramp_and_keeps_a_level_shift():
    t = np.arange(400, dtype=float)
    ramp = (0.03 * t + np.random.default_rng(2).normal(size=400))[:, None]
    steps = classical(ramp, "pelt", 0.35, 5)
    assert steps  # the mean-shift cost cuts a ramp into steps ...
    assert LN.line_kept(ramp, steps) == []  # ... and a line over them explains them
    shift = (np.where(t < 200, 0.0, 2.5) + np.random.default_rng(3).normal(size=400))[:, None]
    assert LN.line_kept(shift, [200]) == [200]
