"""M4 scores on tiny series worked out by hand (the working is in each test's comments)."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_core import scores


def test_smape_by_hand():
    # 200 * 10 / 210 = 9.5238..., 200 * 20 / 380 = 10.5263...; mean 10.0250...
    assert scores.smape([100, 200], [110, 180]) == pytest.approx((2000 / 210 + 4000 / 380) / 2)
    assert scores.smape([0, 5], [0, 5]) == 0.0  # both zero: error 0, not a division by zero


def test_mase_scales_by_seasonal_differences_of_the_training_values():
    # m = 2: |3-1|, |4-2|, |5-3|, |6-4| are all 2 -> scale 2; errors |7-6| = 1 and |8-10| = 2
    # -> mean 1.5 -> MASE 0.75
    x = np.array([1, 2, 3, 4, 5, 6.0])
    assert scores.mase_scale(x, 2) == 2.0
    assert scores.mase(x, [7, 8], [6, 10], 2) == pytest.approx(0.75)
    # m = 1 is the one-step naive's error: every difference is 1
    assert scores.mase_scale(x, 1) == 1.0
    with pytest.raises(ValueError, match="more than m"):
        scores.mase_scale(x[:2], 2)


def test_acf_as_m4_computes_it():
    # x = 1..4: mean 2.5, deviations -1.5 -0.5 0.5 1.5, sum of squares 5;
    # lag 1: 0.75 - 0.25 + 0.75 = 1.25 -> 0.25
    assert scores.acf(np.array([1, 2, 3, 4.0]), 1) == pytest.approx(0.25)


def test_seasonality_test_threshold():
    # [2, 4] repeated, m = 2. Deviations are -1, 1, ...; acf(1) = -(n-1)/n, acf(2) = (n-2)/n.
    # n = 6: acf(2) = 0.667 < 1.645 sqrt((1 + 2 (5/6)^2) / 6) = 0.7915 -> not seasonal.
    # n = 12: acf(2) = 0.833 > 1.645 sqrt((1 + 2 (11/12)^2) / 12) = 0.7775 -> seasonal.
    assert not scores.is_seasonal(np.array([2, 4.0] * 3), 2)
    assert scores.is_seasonal(np.array([2, 4.0] * 6), 2)
    assert not scores.is_seasonal(np.array([2, 4.0] * 2), 2)  # under 3 cycles: never tested
    assert not scores.is_seasonal(np.ones(30), 2)  # constant


def test_seasonal_indices_flat_trend():
    # m = 2 -> centred 2x2 moving average, weights .25 .5 .25: the trend of [2, 4, 2, 4, ...]
    # is 3 everywhere, ratios 2/3 (even steps) and 4/3 (odd), which already average 1
    si = scores.seasonal_indices(np.array([2, 4.0] * 3), 2)
    np.testing.assert_allclose(si, [2 / 3, 4 / 3])


def test_seasonal_indices_with_a_trend():
    # x = 1 3 2 6 3 9 (a rising level times [1, 3]-ish cycle), m = 2:
    # trend at steps 1..4: .25*1+.5*3+.25*2 = 2.25, 3.25, 4.25, 5.25
    # ratios: step 1 3/2.25, step 2 2/3.25, step 3 6/4.25, step 4 3/5.25
    # position 0: mean(2/3.25, 3/5.25) = 0.5934; position 1: mean(3/2.25, 6/4.25) = 1.3725
    # divided by their mean 0.9830: 0.6037, 1.3963
    even = (2 / 3.25 + 3 / 5.25) / 2
    odd = (3 / 2.25 + 6 / 4.25) / 2
    si = scores.seasonal_indices(np.array([1, 3, 2, 6, 3, 9.0]), 2)
    np.testing.assert_allclose(si, np.array([even, odd]) / ((even + odd) / 2))
    np.testing.assert_allclose(si, [0.6037, 1.3963], atol=1e-4)


def test_naive2_seasonal_and_not():
    # seasonal (n = 12, see the threshold test): indices [2/3, 4/3]; the last value 4 sits at
    # position 1 -> adjusted level 4 / (4/3) = 3; steps 12, 13, 14 are positions 0, 1, 0
    # -> 3 * [2/3, 4/3, 2/3] = [2, 4, 2]
    np.testing.assert_allclose(scores.naive2(np.array([2, 4.0] * 6), 3, 2), [2, 4, 2])
    # not seasonal (n = 6): the plain naive repeats the last value
    np.testing.assert_allclose(scores.naive2(np.array([2, 4.0] * 3), 3, 2), [4, 4, 4])


def test_seasonal_naive_repeats_the_last_cycle():
    # m = 3: the last cycle is 4 5 6; four steps: 4 5 6 4
    np.testing.assert_allclose(scores.seasonal_naive(np.arange(1, 7.0), 4, 3), [4, 5, 6, 4])


def test_owa_divides_the_set_means():
    # sMAPE 10 against Naive2's 20 -> 0.5; MASE 1 against 4 -> 0.25; OWA 0.375
    assert scores.owa(10, 1, 20, 4) == pytest.approx(0.375)


def test_score_set_by_hand():
    # two non-seasonal lines (m = 2, n = 6), so Naive2 is the plain naive (last value)
    # series A: x = 1..6, scale (m = 2) 2
    #   actual [8, 8], forecast [6, 8], interval [5, 7] and [7, 9]
    #   sMAPE: 200*2/14 = 28.571, 0 -> 14.286; MASE: mean(2, 0)/2 = 0.5
    #   Naive2 [6, 6]: sMAPE 200*2/14 twice -> 28.571; MASE 2/2 = 1
    # series B: x = 2 4 6 8 10 12, scale 4, actual [12, 16], forecast [12, 12]
    #   sMAPE: 0 and 200*4/28 = 28.571 -> 14.286; MASE mean(0, 4)/4 = 0.5
    #   Naive2 [12, 12] is the same forecast: 14.286, 0.5
    # means: model 14.286, 0.5; Naive2 21.429, 0.75 -> OWA 0.5 (2/3 + 2/3) = 0.6667
    # coverage: A's 8 in [5, 7]? no; 8 in [7, 9]? yes; B: 12 in [11, 13] yes, 16 in [11, 13] no
    a, b = np.arange(1, 7.0), np.arange(2, 13, 2.0)
    assert not scores.is_seasonal(a, 2) and not scores.is_seasonal(b, 2)
    got = scores.score_set(
        [a, b],
        [np.array([8, 8.0]), np.array([12, 16.0])],
        [np.array([6, 8.0]), np.array([12, 12.0])],
        2,
        lower=[np.array([5, 7.0]), np.array([11, 11.0])],
        upper=[np.array([7, 9.0]), np.array([13, 13.0])],
    )
    assert got.smape == pytest.approx(100 / 7)
    assert got.mase == pytest.approx(0.5)
    assert got.owa == pytest.approx(2 / 3)
    assert got.coverage80 == pytest.approx(0.5)


def test_naive2_scores_owa_one():
    rng = np.random.default_rng(0)
    t = np.arange(24 * 10)
    xs = [50 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, len(t)) for _ in range(3)]
    ys = [50 + 10 * np.sin(2 * np.pi * np.arange(len(t), len(t) + 48) / 24) for _ in xs]
    f = [scores.naive2(x, 48, 24) for x in xs]
    assert scores.score_set(xs, ys, f, 24).owa == pytest.approx(1.0)
