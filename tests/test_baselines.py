"""The linear baseline: closed-form NLinear ridge, checked against a direct least-squares fit."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_core import baselines


def ar_series(n=500, seed=0, k=1):
    """A level-shifting AR(2) with a daily cycle: forecastable, and not by the last value alone."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, k))
    for j in range(k):
        e = rng.normal(size=n)
        x = np.zeros(n)
        for i in range(2, n):
            x[i] = 1.2 * x[i - 1] - 0.4 * x[i - 2] + e[i]
        out[:, j] = x + 3 * np.sin(2 * np.pi * np.arange(n) / 24) + 5 * j
    return out


def windows(x, L, H):
    w = np.lib.stride_tricks.sliding_window_view(x, L + H, axis=0).transpose(0, 2, 1)
    return w[:, :L], w[:, L:]


def test_without_penalty_it_is_least_squares_relative_to_the_last_value():
    x = ar_series()
    L, H = 10, 3
    lin = baselines.fit_linear(x, L, H, penalties=(0.0,))
    xw, y = windows(x, L, H)
    last = xw[:, -1:, 0]
    features = np.hstack([xw[:, :-1, 0] - last, np.ones((len(xw), 1))])
    coef = np.linalg.lstsq(features, y[:, :, 0] - last, rcond=None)[0]
    np.testing.assert_allclose(lin.weight[:, :-1], coef[:-1].T, atol=1e-6)
    np.testing.assert_allclose(lin.bias, coef[-1], atol=1e-6)
    assert (lin.weight[:, -1] == 0).all()
    np.testing.assert_allclose(lin.predict(xw), (features @ coef + last)[:, :, None], atol=1e-6)


def test_it_beats_the_naive_forecast_and_follows_a_level_shift():
    x = ar_series(800)
    L, H = 48, 12
    lin = baselines.fit_linear(x[:600], L, H)
    xw, y = windows(x[600 - L :], L, H)
    naive = np.repeat(xw[:, -1:], H, axis=1)
    assert ((lin.predict(xw) - y) ** 2).mean() < 0.7 * ((naive - y) ** 2).mean()
    np.testing.assert_allclose(lin.predict(xw + 100.0), lin.predict(xw) + 100.0)


def test_targets_share_one_map_and_blocks_do_not_change_the_fit(monkeypatch):
    x = ar_series(400, k=2)
    whole = baselines.fit_linear(x, 16, 4)
    monkeypatch.setattr(baselines, "CHUNK", 7)  # many small blocks of windows
    blocks = baselines.fit_linear(x, 16, 4)
    np.testing.assert_allclose(blocks.weight, whole.weight, atol=1e-8)
    assert whole.penalty == blocks.penalty and whole.penalty in baselines.PENALTIES
    xw, _ = windows(x, 16, 4)
    pred = whole.predict(xw)
    assert pred.shape == (len(xw), 4, 2)
    np.testing.assert_allclose(pred[..., 1], whole.predict(xw[..., 1:])[..., 0])


def test_noise_gets_a_larger_penalty_than_a_clean_signal():
    rng = np.random.default_rng(3)
    t = np.arange(600)
    clean = np.sin(2 * np.pi * t / 24)[:, None]
    noise = rng.normal(size=(600, 1))
    assert baselines.fit_linear(clean, 48, 6).penalty < baselines.fit_linear(noise, 48, 6).penalty


def drifting_series(n, seed):
    """A wandering level (random walk) under AR(1) noise and a daily cycle: far lags mislead."""
    rng = np.random.default_rng(seed)
    level = np.cumsum(rng.normal(scale=0.3, size=n))
    e = rng.normal(size=n)
    a = np.zeros(n)
    for i in range(1, n):
        a[i] = 0.5 * a[i - 1] + e[i]
    return (level + a + 2 * np.sin(2 * np.pi * np.arange(n) / 24))[:, None]


def test_nested_lookbacks_halve_down_to_the_shortest():
    assert baselines.nested_lookbacks(720) == (720, 360, 180, 90)
    assert baselines.nested_lookbacks(336) == (336, 168, 84)
    assert baselines.nested_lookbacks(96) == (96, 48)
    assert baselines.nested_lookbacks(60) == (60,)
    # too few windows to cross-validate the choice in FOLDS blocks: the single fit
    short = drifting_series(96 + 24 + baselines.FOLDS * 25 - 2, 0)
    assert baselines.fit_linear(short, 96, 24).lookbacks == (96,)


def test_a_long_lookback_averages_nested_fits_where_far_lags_mislead():
    L, H = 384, 24
    plain, nested, kept = [], [], 0
    for seed in range(8):
        x = drifting_series(2500, seed)
        xw, y = windows(x[1200:], L, H)
        one = baselines.fit_linear(x[:1200], L, H, nested=False)
        mean = baselines.fit_linear(x[:1200], L, H)
        assert one.lookbacks == (L,) and mean.lookbacks in ((L,), baselines.nested_lookbacks(L))
        kept += len(mean.lookbacks) > 1
        plain.append(((one.predict(xw) - y) ** 2).mean())
        nested.append(((mean.predict(xw) - y) ** 2).mean())
        assert nested[-1] <= plain[-1] * 1.02  # the held-out windows guard each choice
        if len(mean.lookbacks) == 1:
            np.testing.assert_allclose(mean.weight, one.weight)
    # chosen on most series, and at least one keeps the single fit (its weights checked above)
    assert 4 <= kept < 8
    assert np.mean(nested) < 0.95 * np.mean(plain)  # and it pays on the unseen rows


@pytest.mark.parametrize("rows", [7, 9])
def test_short_or_flat_series(rows):
    L, H = 4, 3
    if rows < L + H:
        with pytest.raises(ValueError, match="no window"):
            baselines.fit_linear(np.ones((rows, 1)), L, H)
        return
    lin = baselines.fit_linear(np.ones((rows, 1)), L, H)  # three windows, all flat
    assert np.isfinite(lin.weight).all()
    np.testing.assert_allclose(lin.predict(np.ones((1, L, 1))), 1.0)


def test_error_by_step_is_the_mae_at_each_step():
    actual = np.zeros((3, 2, 1))
    model = np.array([[[1.0], [2.0]], [[1.0], [4.0]], [[1.0], [0.0]]])  # (N=3, H=2, K=1)
    table = baselines.error_by_step(actual, {"model": model, "zero": actual})
    assert list(table.index) == [1, 2] and table.index.name == "step"
    np.testing.assert_allclose(table["model"], [1.0, 2.0])
    np.testing.assert_allclose(table["zero"], [0.0, 0.0])


def test_tiled_origins_end_with_the_last_window_one_horizon_apart():
    np.testing.assert_array_equal(baselines.tiled_origins(10, 3), [0, 3, 6, 9])
    np.testing.assert_array_equal(baselines.tiled_origins(10, 3, most=2), [6, 9])
    np.testing.assert_array_equal(baselines.tiled_origins(2, 5), [1])


def test_a_panel_fit_is_one_map_over_every_series_windows():
    a, b = ar_series(300, seed=1), ar_series(300, seed=2) + 4
    L, H = 12, 3
    # series of one length are the same samples as the columns of one table
    pooled = baselines.fit_linear([a, b], L, H)
    stacked = baselines.fit_linear(np.hstack([a, b]), L, H)
    np.testing.assert_allclose(pooled.weight, stacked.weight, atol=1e-10)
    assert pooled.penalty == stacked.penalty
    # of different lengths: least squares over each series' own windows, none spanning two
    short = b[:80]
    lin = baselines.fit_linear([a, short], L, H, penalties=(0.0,))
    xs, ys = zip(*(windows(x, L, H) for x in (a, short)))
    xw, y = np.concatenate(xs), np.concatenate(ys)
    last = xw[:, -1:, 0]
    features = np.hstack([xw[:, :-1, 0] - last, np.ones((len(xw), 1))])
    coef = np.linalg.lstsq(features, y[:, :, 0] - last, rcond=None)[0]
    np.testing.assert_allclose(lin.weight[:, :-1], coef[:-1].T, atol=1e-6)
    # a series too short for any window adds nothing; none at all is an error
    np.testing.assert_allclose(baselines.fit_linear([a, b[:5]], L, H).weight,
                               baselines.fit_linear(a, L, H).weight)
    with pytest.raises(ValueError, match="no window"):
        baselines.fit_linear([b[:5], b[:9]], L, H)


@pytest.mark.parametrize(
    "coverage, windows, said",
    [
        (0.17, 40, "too narrow"),  # seatbelts' 80% interval (issue 20)
        (0.99, 40, "too wide"),
        (0.78, 40, None),
        (0.17, 5, None),  # too few windows to judge
        (float("nan"), 40, None),  # a method without an interval
    ],
)
def test_an_80_interval_far_from_its_coverage_is_flagged(coverage, windows, said):
    note = baselines.interval_note(coverage, windows)
    assert (note is None) if said is None else (said in note and f"{coverage:.0%}" in note)


def test_the_backtest_verdict_flags_a_miscalibrated_interval(fitted, series):
    from dataclasses import replace

    held = fitted.held_out(series)
    bt = fitted.score(held)
    assert 0.65 <= bt.table.iloc[0]["coverage80"] <= 0.95 and "80% interval" not in bt.verdict
    point = np.repeat(held.model[..., 1:2], 3, axis=-1)  # a band of zero width: covers ~nothing
    narrow = fitted.score(replace(held, model=point))
    assert narrow.table.iloc[0]["coverage80"] < 0.65
    assert "The 80% interval held" in narrow.verdict and "too narrow" in narrow.verdict


def test_strong_baselines_forecast_every_origin_with_fixed_parameters():
    """MSTL and AutoETS fitted once before the origins; on a clean daily cycle they beat the
    naive forecast, and an origin's forecast uses only the rows before it."""
    t = np.arange(400)
    y = (10 + np.sin(2 * np.pi * t / 24) + 0.05 * np.random.default_rng(0).normal(size=400))
    values = y[:, None]
    origins = np.array([300, 324, 348])
    out = baselines.strong_baselines(values, 300, origins, 24, [24])
    assert set(out) == {baselines.MSTL_NAME, baselines.ETS_NAME}
    truth = np.stack([values[o : o + 24] for o in origins])
    naive = np.abs(baselines.naive(values, origins, 24) - truth).mean()
    for forecast in out.values():
        assert forecast.shape == (3, 24, 1) and np.abs(forecast - truth).mean() < naive / 3
    changed = values.copy()
    changed[348:] += 100.0  # the future of the last origin: its forecast must not move
    again = baselines.strong_baselines(changed, 300, origins, 24, [24])
    assert all(np.allclose(again[k][-1], out[k][-1]) for k in out)
    assert set(baselines.strong_baselines(values, 300, origins, 24, [])) == {baselines.ETS_NAME}  # no cycle


def test_a_map_padded_to_a_longer_window_forecasts_the_same():
    """A linear map over L' steps is a map over L >= L' with zero weights on the older steps."""
    x = ar_series()
    lin = baselines.fit_linear(x[:400], 24, 6)
    wide = lin.padded(72)
    assert wide.weight.shape == (6, 72) and not wide.weight[:, :48].any()
    long_windows, _ = windows(x[400:], 72, 6)
    assert np.allclose(wide.predict(long_windows), lin.predict(long_windows[:, -24:]), atol=1e-12)


def test_the_lookback_is_chosen_without_reading_the_test_rows():
    """Fitted on rows before ``split``, scored on the windows whose targets end before
    ``test``: rows from ``test`` on may be anything."""
    x = ar_series()
    hidden = x.copy()
    hidden[440:] = np.nan
    chosen = baselines.choose_lookback(x, 360, 440, 6, [12, 24, 48])
    assert baselines.choose_lookback(hidden, 360, 440, 6, [12, 24, 48]) == chosen

    def mae(lb: int) -> float:
        lin = baselines.fit_linear(x[:360], lb, 6)
        w, y = windows(x[360 - lb : 440], lb, 6)
        return float(np.abs(lin.predict(w) - y).mean())

    assert chosen == min([12, 24, 48], key=mae)
    # 2 windows per weight: 100 rows afford 24 (71 windows) but not 48 (47)
    assert baselines.choose_lookback(x, 100, 140, 6, [48]) == (100 - 6 + 1) // 3
