"""Forecaster: fit/predict/backtest/explain on a tiny model, and the honest baseline verdict."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from lstm_core import baselines
from lstm_core.errors import DataError, SeriesTooShort
from lstm_core.fitted import TIE
from lstm_core.forecaster import LINEAR, LINEAR_AT_L, Forecaster, future_index

BASELINES = {"naive (last value)", "seasonal naive (m=24)", LINEAR}


def test_fitted_attributes(fitted, tiny_cfg):
    assert fitted.inputs_ == ("y", "x1", "x2") and fitted.targets_ == ("y",)
    assert fitted.config_.lstm.hidden_size == 4 and fitted.freq_ == "h"
    assert len(fitted.history_.val_loss) == 2 and len(fitted.data_hash_) == 64
    assert {"AttentiveLSTM", *BASELINES} <= set(fitted.metrics_)
    assert fitted.config_.lstm.patch_len == 1  # lookback 16: step by step


def test_scaler_is_fitted_on_the_training_rows_only(fitted, series):
    train = series[["y", "x1", "x2"]].to_numpy()[: fitted.split_]
    assert np.allclose(fitted.scaler_.mean, train.mean(0))
    assert not np.allclose(fitted.scaler_.mean, series[["y", "x1", "x2"]].to_numpy().mean(0))


def test_predict_continues_the_timestamps_with_ordered_quantiles(fitted, series):
    out = fitted.predict(series)
    assert list(out.columns) == ["time", "target", "q0.1", "q0.5", "q0.9"]
    assert len(out) == 4
    assert out["time"].iloc[0] == series["time"].iloc[-1] + pd.Timedelta(hours=1)
    assert (out["q0.1"] <= out["q0.5"]).all() and (out["q0.5"] <= out["q0.9"]).all()


def test_backtest_reports_model_and_baselines(fitted, series):
    bt = fitted.backtest(series)
    assert list(bt.table.columns) == ["MAE", "RMSE", "MASE", "sMAPE", "coverage80"]
    assert {"AttentiveLSTM", *BASELINES} <= set(bt.table.index)
    assert (LINEAR_AT_L in bt.table.index) == (bt.linear_lookback != 16)
    assert bt.season == 24 and bt.windows > 0
    held = fitted.held_out(series)
    inside = (held.actual >= held.model[..., 0]) & (held.actual <= held.model[..., 2])
    coverage = bt.table.loc["AttentiveLSTM", "coverage80"]
    assert coverage == pytest.approx(inside.mean()) and 0 < coverage < 1, "a real band, not all"
    assert np.isnan(bt.table.loc["naive (last value)", "coverage80"])
    assert bt.best_baseline == bt.table.drop("AttentiveLSTM")["MAE"].idxmin()
    model, best = bt.table.loc["AttentiveLSTM", "MAE"], bt.table.loc[bt.best_baseline, "MAE"]
    assert bt.beats_baselines == (model < best * (1 - TIE)), "a difference under TIE is a tie"
    assert f"({bt.best_baseline})" in bt.verdict and (("lower" in bt.verdict) == bt.beats_baselines)


@pytest.mark.parametrize(
    "toward_truth, beats",
    [(0.0, False), (0.0005, False), (0.5, True)],
    ids=["tie", "0.05%", "half"],
)
def test_the_model_beats_the_best_baseline_only_by_more_than_the_tie(
    fitted, series, toward_truth, beats
):
    """The tie rule: a model whose MAE equals the best baseline's (one that kept its linear
    start) or is lower by under TIE does not beat it, though it heads the MAE column; half the
    baseline's error does."""
    held = fitted.held_out(series)
    best = fitted.score(held).best_baseline
    median = held.baselines[best] + toward_truth * (held.actual - held.baselines[best])
    model = np.stack([median - 1, median, median + 1], axis=-1)
    bt = fitted.score(dataclasses.replace(held, model=model))
    assert bt.best_baseline == best
    ratio = bt.table.loc["AttentiveLSTM", "MAE"] / bt.table.loc[best, "MAE"]
    assert ratio == pytest.approx(1 - toward_truth, rel=1e-6)
    assert bt.beats_baselines is beats and (("lower" in bt.verdict) == beats)


def test_linear_row_is_the_ridge_fit_at_its_own_best_lookback(fitted, series):
    """Chosen on the windows between validation's start and the test part, refitted on every
    row before the test part, scored on the test windows alone."""
    from lstm_core.forecaster import linear_lookbacks

    H, split, test = 4, fitted.split_, fitted.history_.test_start
    assert split < test < len(series) - H
    y = series["y"].to_numpy()
    z = (y - fitted.scaler_.mean[0]) / fitted.scaler_.std[0]

    def mae(lookback: int, rows: int, origins: np.ndarray) -> float:
        lin = baselines.fit_linear(z[:rows, None], lookback, H)
        windows = np.stack([z[o - lookback : o] for o in origins])[:, :, None]
        truth = np.stack([z[o : o + H] for o in origins])[:, :, None]
        return float(np.abs(lin.predict(windows) - truth).mean())

    valid = np.arange(split, test - H + 1)
    tried = [lb for lb in linear_lookbacks(16, "h") if split - lb - H + 1 >= 2 * lb]
    best = min(tried, key=lambda lb: mae(lb, split, valid))
    bt = fitted.backtest(series)
    assert bt.linear_lookback == best and bt.scored_on == "test"
    scaled = mae(best, test, np.arange(test, len(y) - H + 1))
    assert bt.table.loc[LINEAR, "MAE"] == pytest.approx(scaled * fitted.scaler_.std[0], rel=1e-9)
    assert f"its own best lookback, {best}" in bt.verdict or best == 16
    assert "Scored on the held-out end after validation (its windows chose nothing)" in bt.verdict


def test_the_backtest_scores_only_windows_after_validation(fitted, series):
    """Validation chose the epoch, the check part the start or the LSTM; the test chose nothing."""
    from lstm_core.forecaster import held_out_parts

    n, H, split = len(series), 4, fitted.split_
    val_end, test = held_out_parts(n, split, H)
    assert split < val_end < test < n and fitted.history_.test_start == test
    held = fitted.held_out(series)
    assert held.origins[0] == test and held.scored_on == "test"
    assert len(fitted.history_.check_loss) in (0, 2)  # 2 when an epoch beat the start
    assert held_out_parts(100, 90, 4) == (95, 95)  # too short for three parts: two halves
    assert held_out_parts(100, 94, 4) == (100, 100)  # too short for two: validation alone


def test_the_start_is_kept_unless_the_lstm_wins_on_the_check_windows(fitted, series):
    import copy
    import dataclasses

    import torch

    from lstm_core.data import make_windows
    from lstm_core.network import _check_start

    net = copy.deepcopy(fitted.model_)
    good = copy.deepcopy(net.state_dict())
    worse = {k: v + 0.5 * torch.randn_like(v) if v.is_floating_point() else v
             for k, v in good.items()}
    x = fitted.scaled_inputs(series)
    check = make_windows(x[200:], 16, 4, 1)
    trained = dataclasses.replace(fitted.history_, best_epoch=2)
    net.load_state_dict(worse)  # "trained" weights worse than the start: back to the start
    h = _check_start(net, good, check, trained)
    assert h.best_epoch == 0 and h.check_loss[0] > h.check_loss[1]
    assert all(torch.equal(net.state_dict()[k], good[k]) for k in good)
    assert "did not beat the linear fit it starts from" in h.message
    net.load_state_dict(good)  # trained weights better than the "start": kept
    h = _check_start(net, worse, check, trained)
    assert h.best_epoch == 2 and h.check_loss[0] < h.check_loss[1]
    assert all(torch.equal(net.state_dict()[k], good[k]) for k in good)
    gain = 1 - h.check_loss[0] / h.check_loss[1]  # a margin above the gain: back to "start"
    assert _check_start(net, worse, check, trained, margin=min(0.99, gain + 0.01)).best_epoch == 0


def test_a_model_that_cannot_beat_naive_says_so(tiny_cfg):
    walk = np.cumsum(np.random.default_rng(0).normal(size=300))  # a random walk: naive is optimal
    df = pd.DataFrame({"v": walk})
    cfg = tiny_cfg.replace(data={"time_col": None, "targets": ["v"], "covariates": []},
                           training={"epochs": 1})
    bt = Forecaster(cfg).fit(df).backtest(df)
    assert not bt.beats_baselines
    assert f"does not beat the best baseline ({bt.best_baseline})" in bt.verdict


def test_a_backtest_of_few_windows_says_it_cannot_rank_the_methods(fitted, series, tiny_cfg):
    assert "held-out window" not in fitted.backtest(series).verdict  # 77 windows
    short = series.iloc[:60]  # 12 held-out rows: 6 validate, the last 6 hold 3 test windows
    bt = Forecaster(tiny_cfg.replace(training={"epochs": 1})).fit(short).backtest(short)
    assert bt.windows == 3
    assert bt.verdict.endswith(
        "Only 3 held-out windows could be scored: too few to rank the methods with confidence."
    )


def test_explain_returns_attention_and_gate(fitted, series):
    e = fitted.explain(series, origin=100)
    assert e.attention.shape == (fitted.model_.encoder.num_heads, 16)
    assert np.allclose(e.attention.sum(-1), 1, atol=1e-5)
    assert e.gate.shape == (16, 8) and len(e.times) == 16
    assert e.forecast["time"].iloc[0] == series["time"].iloc[100]
    with pytest.raises(DataError, match="origin"):
        fitted.explain(series, origin=3)


def test_predict_refuses_data_without_the_trained_columns(fitted, series):
    with pytest.raises(DataError, match="x2"):
        fitted.predict(series.drop(columns="x2"))


def test_too_short_series_is_refused_with_advice(tiny_cfg, series):
    with pytest.raises(SeriesTooShort, match="try data.lookback"):
        Forecaster(tiny_cfg).fit(series.head(22))


def test_fit_is_repeatable_on_cpu(tiny_cfg, series):
    a = Forecaster(tiny_cfg).fit(series).predict(series)
    b = Forecaster(tiny_cfg).fit(series).predict(series)
    pd.testing.assert_frame_equal(a, b)


def test_baselines_by_hand():
    hist = np.arange(10.0)[:, None]
    origins = np.array([5, 8])
    assert baselines.naive(hist, origins, 2)[:, :, 0].tolist() == [[4, 4], [7, 7]]
    assert baselines.seasonal_naive(hist, origins, 3, m=2)[:, :, 0].tolist() == [[3, 4, 3], [6, 7, 6]]
    m = baselines.metrics(np.ones((1, 2, 1)), np.array([[[2.0], [1.0]]]), np.array([0.5]))
    assert m["MAE"] == 0.5 and m["MASE"] == 1.0 and m["RMSE"] == pytest.approx(np.sqrt(0.5))
    assert m["sMAPE"] == pytest.approx(100 * (2 / 3) / 2)
    assert baselines.season_length("h") == 24 and baselines.season_length("MS") == 12
    assert baselines.season_length(None) == 1


@pytest.mark.parametrize(
    ("freq", "m"),
    [("h", 24), ("2h", 12), ("15min", 96), ("D", 7), ("B", 5), ("W-SUN", 52), ("QE-DEC", 4),
     ("7h", 1), ("1461D", 1), ("YS-JAN", 1), ("5s", 17_280)],
)
def test_a_multiple_of_a_unit_divides_its_cycle(freq, m):
    """A day of 2-hour steps is 12 of them; a step that does not divide the cycle has none
    (a 4-year step read as 'D' once gave a 'weekly' season of 7 steps, 28 years)."""
    assert baselines.season_length(freq) == m


def test_the_seasonal_baseline_finds_a_cycle_the_timestamps_do_not_name(tiny_cfg):
    rng = np.random.default_rng(0)
    t = np.arange(400)
    weekly = pd.DataFrame({"v": 5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.5, 400)})
    cfg = tiny_cfg.replace(data={"time_col": None, "targets": ["v"], "covariates": []},
                           training={"epochs": 1})
    bt = Forecaster(cfg).fit(weekly).backtest(weekly)
    assert bt.season == 7 and "seasonal naive (m=7)" in bt.table.index
    assert bt.table.loc["seasonal naive (m=7)", "MAE"] < 0.5 * bt.table.loc["naive (last value)", "MAE"]
    walk = np.cumsum(rng.normal(size=(400, 1)), axis=0)
    assert baselines.baseline_season(None, walk) == 1  # no cycle: the seasonal naive is the naive
    short = weekly.to_numpy()[:40]  # "hourly" but under two days: the data's cycle is used
    assert baselines.baseline_season("h", short) == 7 and baselines.baseline_season("h", walk[:40]) == 1


def test_without_a_cycle_the_seasonal_naive_is_named_the_naive_and_drawn_once(tiny_cfg):
    from lstm_core.report_text import backtest_caption

    walk = pd.DataFrame({"v": np.cumsum(np.random.default_rng(4).normal(size=300))})
    cfg = tiny_cfg.replace(data={"time_col": None, "targets": ["v"], "covariates": []},
                           training={"epochs": 1})
    model = Forecaster(cfg).fit(walk)
    bt, held = model.backtest(walk), model.held_out(walk)
    assert bt.season == 1 and "seasonal naive (m=1)" in bt.table.index  # the table keeps it
    assert set(held.baselines) - {LINEAR_AT_L} == {"naive (last value)", LINEAR}  # drawn once
    assert "no seasonal cycle was found" in backtest_caption(bt, 4)


def test_future_index_without_time_uses_row_numbers():
    assert list(future_index(pd.RangeIndex(0, 5), 2, None)) == [5, 6]


def test_backtest_on_new_data_holds_out_its_own_end(fitted, series):
    from lstm_core.data import synthetic

    other, _ = synthetic(n=1000, seed=5)
    bt = fitted.backtest(other)
    n, H = 1000, fitted.config_.data.horizon
    assert bt.windows == n - (n - int(np.ceil(n * 0.2))) - H + 1
    assert bt.scored_on == "other data"
    test = fitted.history_.test_start
    assert fitted.backtest(series).windows == len(series) - test - H + 1


def test_fingerprint_is_the_same_after_a_round_trip_and_differs_between_models(
    fitted, tiny_cfg, series, tmp_path
):
    from lstm_core import checkpoint

    again = checkpoint.load(checkpoint.save(fitted, "fp", tmp_path))
    assert again.fingerprint() == fitted.fingerprint()
    other = Forecaster(tiny_cfg.replace(training={"seed": 7})).fit(series)
    assert other.fingerprint() != fitted.fingerprint()


def test_several_targets(series, tiny_cfg):
    cfg = tiny_cfg.replace(data={"targets": ["y", "x1"], "covariates": ["x2"]})
    fc = Forecaster(cfg).fit(series)
    out = fc.predict(series)
    assert list(out["target"].unique()) == ["y", "x1"] and len(out) == 2 * 4
    bt = fc.backtest(series)
    assert bt.table.shape == (4 + (bt.linear_lookback != 16), 5)


def test_a_model_that_is_the_linear_fit_is_a_tie_not_a_win(fitted, series):
    """The network before training is the ridge fit: the verdict must not call it a winner,
    and says the model kept its start."""
    import dataclasses

    import torch

    from lstm_core.network import build_net

    x = fitted.scaled_inputs(series)
    lin = baselines.fit_linear(x[: fitted.split_, :1].double().numpy(), 16, 4)
    net = build_net(fitted.config_, 3, 1).eval()
    net.init_linear(torch.from_numpy(lin.weight), torch.from_numpy(lin.bias))
    start = Forecaster.restore(dataclasses.replace(
        fitted.fitted_, model=net,
        history=dataclasses.replace(fitted.history_, best_epoch=0),  # the start was kept
    ))
    held = start.held_out(series)
    bt = start.score(held)
    windows = np.stack([x[o - 16 : o, :1].double().numpy() for o in held.origins])
    plain = lin.predict(windows)[:, :, 0] * fitted.scaler_.std[0] + fitted.scaler_.mean[0]
    assert np.allclose(held.model[:, :, 0, 1], plain, atol=1e-3 * fitted.scaler_.std[0])
    assert not bt.beats_baselines and "does not beat the best baseline" in bt.verdict
    assert "No training epoch beat the linear fit it starts from by 1% on validation" in bt.verdict


# ---------------------------------------------------------------- never a NaN result (issue 10)


def test_a_model_that_outputs_nan_raises_instead_of_forecasting(fitted, series):
    import copy

    import torch

    from lstm_core.errors import NonFiniteForecast

    broken = copy.deepcopy(fitted)
    with torch.no_grad():
        broken.model_.head.bias.fill_(float("nan"))
    for call in (broken.predict, broken.backtest, broken.explain):
        with pytest.raises(NonFiniteForecast, match="NaN or infinite"):
            call(series)


def test_data_far_outside_the_training_scale_is_refused(fitted, series):
    far = series.copy()
    far.loc[far.index[-1], "x1"] = 1e140
    with pytest.raises(DataError, match="standard deviations from the training rows' mean"):
        fitted.predict(far)


def test_a_failed_refit_keeps_the_previous_model(fitted, series, monkeypatch):
    import copy

    from lstm_core import network
    from lstm_core.errors import TrainingError

    fc = copy.deepcopy(fitted)
    before = fc.fingerprint()

    def nan_loss(*args, **kwargs):
        raise TrainingError("the loss became nan in epoch 1")

    monkeypatch.setattr(network, "train", nan_loss)
    with pytest.raises(TrainingError):
        fc.fit(series)
    assert fc.fingerprint() == before


def test_restore_rebuilds_a_fitted_forecaster_from_its_parts(fitted, series):
    from lstm_core.fitted import Fitted, SeriesFit
    from lstm_core.network import load_network

    net = load_network(fitted.config_, fitted.model_.state_dict(), 3, 1)
    again = Forecaster.restore(Fitted(
        fitted.config_, net, fitted.history_, inputs=fitted.inputs_, targets=fitted.targets_,
        time_col=fitted.time_col_, series={"": SeriesFit(fitted.scaler_, fitted.split_,
                                                          fitted.freq_)},
        metrics=fitted.metrics_, data_hash=fitted.data_hash_,
    ))
    pd.testing.assert_frame_equal(again.predict(series), fitted.predict(series))
    assert again.fingerprint() == fitted.fingerprint() and again.model_ is not fitted.model_


def test_a_network_too_large_is_refused_before_allocation(tiny_cfg):
    from lstm_core.errors import ConfigError
    from lstm_core.network import MAX_PARAMETERS, build_net

    big = tiny_cfg.replace(lstm={"hidden_size": 1024, "num_layers": 8},
                           data={"lookback": 10_000, "horizon": 2000})
    with pytest.raises(ConfigError, match=f"over the {MAX_PARAMETERS:,} allowed"):
        build_net(big, 1000, 1000)  # ~12.5e9 weights: 50 GB if it were allocated
    shapes = build_net(tiny_cfg, 3, 1, meta=True)
    assert all(p.is_meta for p in shapes.parameters())


def test_batches_too_large_for_memory_are_refused_before_training(tiny_cfg, monkeypatch):
    from lstm_core import network
    from lstm_core.errors import ConfigError

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(network, "train", no_training)
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(3000, 200)),
                        columns=[f"c{i}" for i in range(200)])
    cfg = tiny_cfg.replace(
        data={"time_col": None, "targets": ["c0"], "covariates": [f"c{i}" for i in range(1, 200)],
              "lookback": 2000, "horizon": 4},
        lstm={"hidden_size": 512, "num_layers": 4}, training={"batch_size": 4096},
    )
    with pytest.raises(ConfigError, match="would take about .* GB at once, over 4 GB"):
        Forecaster(cfg).fit(wide)


def test_held_out_holds_every_window_the_backtest_scores(fitted, series):
    from lstm_core import baselines

    bt, held = fitted.backtest(series), fitted.held_out(series)
    H = fitted.config_.data.horizon
    assert held.model.shape == (bt.windows, H, 1, 3) and held.actual.shape == (bt.windows, H, 1)
    model_mae = np.abs(held.model[..., 1] - held.actual).mean()
    assert model_mae == pytest.approx(bt.table.loc["AttentiveLSTM", "MAE"])
    for name, forecasts in held.baselines.items():
        assert np.abs(forecasts - held.actual).mean() == pytest.approx(bt.table.loc[name, "MAE"])
    last = held.origins[-1]
    np.testing.assert_allclose(held.actual[-1, :, 0], bt.forecasts["actual"])
    assert held.index[last] == bt.forecasts["time"].iloc[0]
    steps = baselines.error_by_step(held.actual, {"model": held.model[..., 1]})
    assert steps["model"].mean() == pytest.approx(model_mae)


def test_strong_baselines_join_the_backtest_on_rolling_origins(fitted, series):
    from lstm_core.forecaster import STRONG_ORIGINS

    plain, bt = fitted.backtest(series), fitted.backtest(series, strong=True)
    assert {baselines.MSTL_NAME, baselines.ETS_NAME} <= set(bt.table.index)
    assert bt.windows <= min(STRONG_ORIGINS, plain.windows) and bt.scored_on == "test"
    assert bt.best_baseline == bt.table.drop("AttentiveLSTM")["MAE"].idxmin()


def test_an_unfitted_forecaster_says_so_and_has_no_fitted_attributes(tiny_cfg, series):
    """scikit-learn's pattern: one NotFittedError, which is also an AttributeError."""
    from lstm_core.errors import LstmCoreError, NotFittedError
    from lstm_core.panel_forecaster import PanelForecaster

    for fresh in (Forecaster(tiny_cfg), PanelForecaster(tiny_cfg)):
        assert not hasattr(fresh, "model_") and not hasattr(fresh, "config_")
        with pytest.raises(NotFittedError, match="not fitted; call fit"):
            fresh.predict(series)
        with pytest.raises(LstmCoreError):
            fresh.fingerprint()


def test_one_series_keeps_the_contract_of_a_panel(fitted, series):
    """The same questions for either kind: how many series, which, and one series' view."""
    assert fitted.n_series == 1 and not fitted.per_series and fitted.holds == ""
    assert fitted.for_series(None) is fitted and fitted.for_series(fitted.series_ids[0]) is fitted
    with pytest.raises(DataError, match="forecasts one series"):
        fitted.for_series("other")


def test_window_norm_level_divides_by_the_level_and_forecasts_in_the_data_units(tiny_cfg, series):
    cfg = tiny_cfg.replace(data={"window_norm": "level"})
    fc = Forecaster(cfg).fit(series)
    train = series[["y", "x1", "x2"]].to_numpy()[: fc.split_]
    assert fc.scaler_.mean == (0.0, 0.0, 0.0)
    assert np.allclose(fc.scaler_.std, np.abs(train).mean(0)) and fc.model_.window_level
    out = fc.predict(series)
    y = series["y"]
    assert out["q0.5"].between(y.min() - y.std(), y.max() + y.std()).all()


# ------------------------------------------ single series stay safe (issue 21, item 7)


def ar_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    v = np.zeros(n)
    for t in range(1, n):
        v[t] = 0.8 * v[t - 1] + rng.normal()
    return pd.DataFrame({"v": v})


def test_the_linear_start_is_the_baseline_where_a_shorter_lookback_is_best(tiny_cfg):
    """On 120 rows a lookback of 32 leaves fewer than 2 training windows per weight, so the
    linear baseline takes 16, the longest these rows afford. The model's linear start is that
    same fit over its 32 steps (zero weights on the older 16); where the start is kept it ends
    refitted on the same rows as the baseline, and the two forecasts are the same."""
    df = ar_frame()
    cfg = tiny_cfg.replace(
        data={"time_col": None, "targets": ["v"], "covariates": [], "lookback": 32},
        training={"start_margin": 0.99},  # no epoch can replace the start
    )
    fc = Forecaster(cfg).fit(df)
    h, held = fc.history_, fc.held_out(df)
    assert h.best_epoch == 0 and h.start_lookback == held.linear_lookback == 16
    assert held.scored_on == "test" and not fc.model_.nlinear.weight[:, :16].any()
    std = fc.scaler_.std[0]
    assert np.allclose(held.model[..., 1], held.baselines[LINEAR], rtol=0, atol=1e-5 * std)
    bt = fc.score(held)
    assert bt.table.loc["AttentiveLSTM", "MAE"] == pytest.approx(bt.table.loc[LINEAR, "MAE"])
    assert not bt.beats_baselines and "the two forecasts are the same" in bt.verdict


def test_the_start_takes_the_baselines_choice_among_lookbacks_that_fit_the_window():
    """Candidates longer than the model's lookback do not fit its window: the start chooses
    among the others, as the baseline's choice would if it had only those."""
    import torch

    from lstm_core.network import linear_start

    x = torch.as_tensor(ar_frame(400, seed=2).to_numpy(), dtype=torch.float32)
    targets = x.double().numpy()
    start = linear_start(x[:360], 320, 16, 4, 1, [8, 16, 32])
    assert start.lookback == baselines.choose_lookback(targets, 320, 360, 4, [8, 16])
    assert start.fit.weight.shape == start.refit.weight.shape == (4, 16)
    lb = start.lookback
    windows = targets[None, 360 - 16 : 360]
    assert np.allclose(
        start.refit.predict(windows),
        baselines.fit_linear(targets[:360], lb, 4).predict(windows[:, -lb:]),
        atol=1e-12,
    )
    only = linear_start(x[:320], 320, 16, 4, 1, [16])  # no rows to choose on: the refit is the fit
    assert only.lookback == 16 and only.refit is only.fit


def test_a_history_from_before_the_chosen_start_reads_as_a_start_at_the_models_lookback(
    fitted, series
):
    """Checkpoints saved before ``start_lookback`` existed load as before (0: the plain fit at
    the model's lookback), and their verdict never claims the start is the baseline."""
    from lstm_core.train import History

    old = fitted.history_.to_dict()
    assert old.pop("start_lookback") in (8, 16)  # the lookbacks up to 16 the baseline tries
    history = dataclasses.replace(History.from_dict(old), best_epoch=0)
    assert history.start_lookback == 0
    kept = Forecaster.restore(dataclasses.replace(fitted.fitted_, history=history))
    assert "the two forecasts are the same" not in kept.backtest(series).verdict
