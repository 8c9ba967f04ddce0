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


def test_line_kept_with_a_bend_as_a_knot_drops_the_steps_either_side_of_it():
    """A tent (up, then down) is two lines: one line across the bend fits neither, so PELT's
    steps on each slope survive the filter alone; with the bend as a fixed edge (the kink
    part's hinge) a line each side explains them. A level shift beside the bend stays."""
    t = np.arange(400, dtype=float)
    noise = np.random.default_rng(4).normal(size=400)
    tent = (np.where(t < 250, 0.05 * t, 12.5 - 0.05 * (t - 250)) + noise)[:, None]
    steps = classical(tent, "pelt", 0.35, 5)
    assert LN.line_kept(tent, steps)  # a step survives: no single line spans the tent
    assert LN.line_kept(tent, steps, knots=(250,)) == []
    shifted = tent + np.where(t < 120, 0.0, 10.0)[:, None]
    assert LN.line_kept(shifted, [120], knots=(250,)) == [120]


def test_a_knot_beside_a_point_is_no_edge_and_knots_outside_the_series_are_ignored():
    """A level shift at row 200 with a knot two rows on: judged against a 2-row stretch the
    shift could go (review: kept 17 of 20 times); with ``near`` the knot is no edge while the
    point stands. Knots outside the series are ignored, not an IndexError."""
    t = np.arange(400, dtype=float)
    kept = 0
    for seed in range(20):
        x = (np.where(t < 200, 0.0, 1.5) + np.random.default_rng(seed).normal(size=400))[:, None]
        kept += LN.line_kept(x, [200], knots=(202,), near=5) == [200]
        assert LN.line_kept(x, [200], knots=(-3, 0, 400, 500)) == LN.line_kept(x, [200])
    assert kept == 20
