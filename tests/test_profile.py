"""The classification score profile: neighbours, the profile's peak, the learned threshold."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_core.changepoints import profile as P


def two_shapes(n: int = 1200, change: int = 700, seed: int = 0) -> np.ndarray:
    """A sine, then a square wave of the same period scaled to the same mean and spread."""
    t = np.arange(n)
    a = np.sin(2 * np.pi * t[:change] / 30)
    b = np.sign(np.sin(2 * np.pi * t[change:] / 30))
    b = (b - b.mean()) / b.std() * a.std() + a.mean()
    return np.concatenate([a, b]) + 0.1 * np.random.default_rng(seed).normal(size=n)


def test_neighbours_match_a_brute_force_search():
    x = np.random.default_rng(1).normal(size=(120, 2))
    w, k = 8, 3
    nn = P.neighbours(x, w, k, normalise=True)
    subs = np.lib.stride_tricks.sliding_window_view(x, w, axis=0)  # (n, 2, w)
    z = (subs - subs.mean(axis=2, keepdims=True)) / subs.std(axis=2, keepdims=True)
    d = ((z[:, None] - z[None]) ** 2).sum(axis=(2, 3))  # (n, n)
    for i in range(len(d)):
        d[i, max(0, i - w + 1) : i + w] = np.inf
    expected = np.argsort(d, axis=1, kind="stable")[:, :k]
    assert (nn == expected).mean() > 0.99  # ties aside, the same neighbours in the same order


def test_profile_peaks_at_a_change_of_shape_with_the_same_mean_and_spread():
    x = two_shapes()
    w = P.window(x)
    pr = P.profile(x, w)
    split = int(np.nanargmax(pr)) + w // 2
    assert abs(split - 700) <= 2 * w
    assert np.nanmax(pr) > 0.9


def test_segment_finds_the_change_of_shape_within_a_few_windows():
    x = two_shapes()
    found = P.segment(x)
    assert len(found) == 1 and abs(found[0] - 700) <= 2 * P.window(x)


def test_pure_noise_gets_no_change_point():
    for seed in range(3):
        assert P.segment(np.random.default_rng(seed).normal(size=1500)) == []


def test_sensitivity_moves_the_learned_threshold():
    x = two_shapes()
    nodes, _, _ = P.nodes_of(x)
    root = nodes[0]
    assert P.segment(x, sensitivity=passing(root.evidence)) == [root.index]
    assert P.segment(x, sensitivity=P.THRESHOLD / root.evidence * 0.9) == []
    paths = P.path(x, (0.5, 1.0, 4.0))
    assert len(paths[0.5]) >= len(paths[1.0]) >= len(paths[4.0])


def passing(evidence: float) -> float:
    """A sensitivity at which a split of this evidence passes."""
    return P.THRESHOLD / evidence * 1.1


def test_representation_view_tells_a_change_of_state():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(900, 1))
    state = np.column_stack([np.where(np.arange(900) < 400, 0.0, 1.5), np.zeros(900)])
    state = state + 0.3 * rng.normal(size=state.shape)
    assert P.segment(x, design="shape") == []
    found = P.segment(x, state, design="representation")
    assert len(found) == 1 and abs(found[0] - 400) <= 3 * P.window(x)


def test_too_short_a_series_is_left_alone():
    assert P.segment(np.arange(12.0)) == []
    with pytest.raises(ValueError):
        P.neighbours(np.arange(10.0), 8)
