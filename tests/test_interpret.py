"""Stitching per-window attention and skip-gate activations onto the timeline."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from lstm_core.interpret import coverage, last_steps, stitch, trace
from lstm_core.interpret.readings import attention_reading, gate_reading


def naive_average(windows: np.ndarray, n_steps: int) -> np.ndarray:
    """Reference: loop over windows and lags, average per step."""
    total = np.zeros((n_steps,) + windows.shape[2:])
    count = np.zeros(n_steps)
    for i in range(len(windows)):
        for j in range(windows.shape[1]):
            total[i + j] += windows[i, j]
            count[i + j] += 1
    return total / count.reshape((-1,) + (1,) * (windows.ndim - 2))


def test_stitch_equals_naive_loop():
    rng = np.random.default_rng(0)
    n_steps, lookback = 23, 5
    w = rng.normal(size=(n_steps - lookback + 1, lookback, 3))
    got = stitch(w, n_steps) / coverage(n_steps, lookback)[:, None]
    np.testing.assert_allclose(got, naive_average(w, n_steps))
    # chunks add up to the whole
    acc = stitch(w[:7], n_steps)
    stitch(w[7:], n_steps, start=7, out=acc)
    np.testing.assert_allclose(acc, stitch(w, n_steps))


def test_coverage_counts_windows():
    cov = coverage(10, 4)
    np.testing.assert_array_equal(cov, [1, 2, 3, 4, 4, 4, 4, 3, 2, 1])


def test_trace_matches_per_window_model(fitted, series):
    tr = trace(fitted, series, chunk=37, map_rows=50)
    x = fitted.scaled_inputs(series)
    L = fitted.config_.data.lookback
    windows = x.unfold(0, L, 1).transpose(1, 2)
    with torch.no_grad():
        _, inner = fitted.model_(windows, return_internals=True)
    gate = naive_average(inner["gate"].double().numpy(), len(x))
    attn = naive_average(inner["attention"].mean(1).double().numpy(), len(x))
    np.testing.assert_allclose(tr.gate, gate, atol=1e-6)
    np.testing.assert_allclose(tr.attention, attn, atol=1e-6)
    assert tr.gate.shape == (len(x), fitted.model_.encoder.output_size)
    # heatmap: rows average blocks of consecutive windows; each window's attention sums to 1
    n_windows = len(x) - L + 1
    assert tr.attention_map.shape == (-(-n_windows // tr.map_block), L) and len(tr.map_starts) <= 50
    np.testing.assert_allclose(tr.attention_map.sum(axis=1), 1.0, atol=1e-5)
    block = tr.map_block
    np.testing.assert_allclose(
        tr.attention_map[1],
        inner["attention"].mean(1)[block : 2 * block].mean(0).numpy(),
        atol=1e-6,
    )


def test_trace_memory_is_bounded(fitted):
    """A long series goes through the model in chunks: no (windows x lookback x width) array."""
    import pandas as pd

    n = 10_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.normal(size=n), "x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    cfg_time = fitted.config_.data.time_col
    assert cfg_time == "time"
    df.insert(0, "time", pd.date_range("2020-01-01", periods=n, freq="h"))
    sizes = []
    model = fitted.model_
    forward = model.forward

    def spy(x, return_internals=False):
        sizes.append(len(x))
        return forward(x, return_internals=return_internals)

    model.forward = spy
    try:
        tracemalloc.start()
        tr = trace(fitted, df, chunk=512)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        del model.forward
    L, W = fitted.config_.data.lookback, tr.gate.shape[1]
    assert max(sizes) <= 512
    full = n * L * W * 8  # what holding every window's gate at once would cost
    assert peak < 4 * tr.gate.nbytes + 8 * 512 * L * W * 8 < full


def test_trace_of_a_patched_model_stays_per_step(series, tiny_cfg):
    """With tokens of 4 steps the trace is still one attention value and one gate row per step,
    and explain's window still has one attention weight per step, summing to one per head."""
    from lstm_core.forecaster import Forecaster

    cfg = tiny_cfg.replace(lstm={"patch_len": 4}, training={"epochs": 1})
    fc = Forecaster(cfg).fit(series)
    assert fc.model_.encoder.bilstm.lstm.input_size == 3 * 4
    tr = trace(fc, series)
    x = fc.scaled_inputs(series)
    windows = x.unfold(0, 16, 1).transpose(1, 2)
    with torch.no_grad():
        _, inner = fc.model_(windows, return_internals=True)
    assert tr.attention.shape == (len(x),) and tr.gate.shape == (len(x), 8)
    np.testing.assert_allclose(
        tr.gate, naive_average(inner["gate"].double().numpy(), len(x)), atol=1e-6
    )
    e = fc.explain(series, origin=100)
    assert e.attention.shape == (fc.model_.encoder.num_heads, 16) and e.gate.shape == (16, 8)
    np.testing.assert_allclose(e.attention.sum(-1), 1, atol=1e-5)
    np.testing.assert_array_equal(e.gate[0], e.gate[3])  # one token: steps 0-3


def test_long_series_run_every_kth_window_and_say_so(fitted, series):
    """Above ``max_windows`` only windows k steps apart (and the last) run: each step is the
    average over those of them that contain it."""
    x = fitted.scaled_inputs(series)
    L = fitted.config_.data.lookback
    n_windows = len(x) - L + 1
    tr = trace(fitted, series, chunk=64, max_windows=n_windows // 3)
    k = tr.stride
    assert 2 <= k <= L // 4
    starts = list(range(0, n_windows, k))
    starts += [] if starts[-1] == n_windows - 1 else [n_windows - 1]
    windows = torch.stack([x[s : s + L] for s in starts])
    with torch.no_grad():
        _, inner = fitted.model_(windows, return_internals=True)
    total = np.zeros((len(x), inner["gate"].shape[-1]))
    count = np.zeros(len(x))
    for i, s in enumerate(starts):
        total[s : s + L] += inner["gate"][i].double().numpy()
        count[s : s + L] += 1
    np.testing.assert_array_equal(tr.coverage, count)
    np.testing.assert_allclose(tr.gate, total / count[:, None], atol=1e-6)
    assert tr.map_starts[1] == tr.map_block * k


def test_progress_is_reported_per_chunk_and_can_stop_the_trace(fitted, series):

    from lstm_core.errors import LstmCoreError

    calls = []
    trace(fitted, series, chunk=50, on_chunk=lambda done, total: calls.append((done, total)))
    n_windows = len(series) - fitted.config_.data.lookback + 1
    assert calls[-1] == (n_windows, n_windows) and len(calls) == -(-n_windows // 50)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    class Stop(LstmCoreError):
        pass

    def stop(done, total):
        raise Stop("cancelled")

    with pytest.raises(Stop):
        trace(fitted, series, chunk=50, on_chunk=stop)


def test_coverage_with_a_stride_counts_the_windows_run():
    from lstm_core.interpret import window_starts

    np.testing.assert_array_equal(window_starts(10, 4), [0, 4, 8, 9])
    np.testing.assert_array_equal(coverage(12, 3, stride=4), [1, 1, 1, 0, 1, 1, 1, 0, 1, 2, 2, 1])
    np.testing.assert_array_equal(coverage(10, 4, stride=1), coverage(10, 4))


# ---------------------------------------------------------------- issue 20: what is explained


def _only_step(fitted, step: int):
    """A copy of ``fitted`` whose forecast is the target's value at ``step`` of the window and
    nothing else: NLinear y = x[-1] + sum_j w_j (x_j - x[-1]) with w = one-hot at ``step``, and
    the LSTM's head at zero (it adds nothing)."""
    import copy

    fc = copy.deepcopy(fitted)
    net = fc.model_
    with torch.no_grad():
        net.nlinear.weight.zero_()
        net.nlinear.weight[:, step] = 1.0
        net.nlinear.bias.zero_()
        net.head.weight.zero_()
        net.head.bias.zero_()
    return fc


def test_share_is_nil_when_the_head_adds_nothing_and_measured_when_it_does(fitted, series):
    from lstm_core.interpret.share import network_share, origin_share, share_of, split_forecast

    fc = _only_step(fitted, 3)
    s = network_share(fc, series)
    assert s.at_origin == 0 and s.held_out == 0 and s.nil
    assert s.windows == len(series) - fc._held_out_start(fc.prepare(series)) - 3  # H = 4
    with torch.no_grad():
        fc.model_.head.bias.fill_(0.5)  # a correction of 0.5 window-sd at every step
    x = fc.scaled_inputs(series)[-16:].unsqueeze(0)
    parts = split_forecast(fc.model_, x)
    sd = x[0, :, 0].std(unbiased=False).clamp_min(1e-3)
    np.testing.assert_allclose(parts.correction.numpy(), 0.5 * sd.item(), rtol=1e-5)
    np.testing.assert_allclose(parts.linear[0, :, 0].numpy(), x[0, 3, 0].item(), rtol=1e-6)
    c, lin = 4 * 0.5 * sd.item(), 4 * abs(x[0, 3, 0] - x[0, -1, 0]).item()
    assert share_of(parts) == pytest.approx(c / (c + lin), rel=1e-5)
    s = network_share(fc, series)
    assert s.at_origin == pytest.approx(c / (c + lin), rel=1e-5) and not s.nil
    assert origin_share(fc, series) == s.at_origin
    assert origin_share(fc, series, 100) == network_share(fc, series, 100).at_origin
    assert 0 < s.held_out < 1


def test_deletion_test_finds_the_only_step_that_matters(fitted, series):
    from lstm_core.interpret.attributions import attribute
    from lstm_core.interpret.faithfulness import deletion_test, window_at

    fc = _only_step(fitted, 5)
    L = fc.config_.data.lookback  # 16: 10% is 2 steps
    origin = 200
    window = window_at(fc, series, origin)
    right, wrong = np.zeros(L), np.zeros(L)
    right[5] = 1.0
    wrong[[0, 1]] = 1.0
    scores = deletion_test(fc.model_, window, {"right": right, "wrong": wrong}, draws=200)
    move = abs(window[5, 0] - window[:, 0].mean()).item()  # the forecast becomes that value
    assert scores["right"].effect == pytest.approx(move, rel=1e-4)
    assert scores["wrong"].effect == pytest.approx(0.0, abs=1e-6)
    # random pairs of 16 steps hit step 5 with chance 1/8: about 8x less on average
    assert 5 < scores["right"].ratio < 13 and scores["right"].reliable
    lo, hi = scores["right"].interval
    assert 1 < lo < scores["right"].ratio < hi
    assert scores["wrong"].ratio == 0 and not scores["wrong"].reliable
    assert scores["right"].steps == 2 and scores["right"].draws == 200
    flat = deletion_test(fc.model_, window, {"flat": np.ones(L)}, draws=200)["flat"]
    assert flat.effect == 0 or not flat.reliable, "ties pick the latest steps, not step 5"
    # Captum's Integrated Gradients and ablation put everything on step 5 of the target
    att = attribute(fc, series, origin)
    assert att.integrated_gradients.shape == (L, 3)
    assert int(np.argmax(att.ig_steps)) == 5 and int(np.argmax(att.ablation_steps)) == 5
    rest = np.delete(np.abs(att.integrated_gradients).ravel(), 5 * 3)
    assert rest.max() < 1e-4 * att.ig_steps[5]
    assert att.delta < 1e-3


def test_one_way_keeps_the_direction_whose_top_steps_add_up_to_more():
    from lstm_core.interpret.faithfulness import one_way, top_steps

    totals = np.array([3.0, -3.5, 2.0, 0.0, -1.0])
    np.testing.assert_array_equal(one_way(totals, 2), totals)  # up 3 + 2 against down 3.5 + 1
    assert set(top_steps(one_way(totals, 2), 2)) == {0, 2}
    assert set(top_steps(one_way(totals, 1), 1)) == {1}  # one step: the largest |total|
    np.testing.assert_array_equal(one_way(-totals, 2), totals)


def test_the_lead_step_is_in_the_scored_set_and_says_its_way():
    from lstm_core.interpret.faithfulness import lead

    totals = np.array([3.0, -3.5, 2.0, 0.0, -1.0])
    assert lead(totals, 2) == (0, 1)  # the set raises it; -3.5 is the largest |total| but not in it
    assert lead(-totals, 2) == (0, -1)
    assert lead(totals, 1) == (1, -1)


def test_ig_deletes_the_steps_that_push_one_way_not_those_that_cancel(fitted):
    """A model whose forecast is (x_a + x_b + x_c) / 3 of the target: step b pulls against a
    and c. Ranked by |IG| the top two steps are a and b, whose deletions cancel; IG's totals
    taken one way delete a and c, and the move is what IG predicts for them together."""
    from lstm_core.interpret.attributions import attribute_window
    from lstm_core.interpret.faithfulness import deletion_test, one_way

    fc = _only_step(fitted, 0)
    L, H = fc.config_.data.lookback, fc.config_.data.horizon  # 16 (10%: 2 steps), 4
    a, b, c = 3, 8, 12
    with torch.no_grad():
        fc.model_.nlinear.weight.zero_()
        fc.model_.nlinear.weight[:, [a, b, c]] = 1 / 3
    window = torch.zeros(L, 3)
    window[[a, b, c], 0] = torch.tensor([3.0, -3.5, 2.0])
    window[:, 1] = torch.linspace(-1, 1, L)  # a covariate the forecast ignores
    d = window[:, 0] - window[:, 0].mean()  # each step against the window's mean
    ig, _, delta = attribute_window(fc.model_, window, 0)
    totals = ig.sum(axis=1)
    np.testing.assert_allclose(totals[[a, b, c]], H * d[[a, b, c]].numpy() / 3, rtol=1e-4)
    assert np.abs(np.delete(totals, [a, b, c])).max() < 1e-5 and delta < 1e-4
    scores = deletion_test(
        fc.model_, window, {"|IG|": np.abs(ig).sum(axis=1), "ig": one_way(totals, 2)}, target=0
    )
    assert scores["|IG|"].effect == pytest.approx(abs(d[a] + d[b]).item() / 3, rel=1e-4)
    assert scores["ig"].effect == pytest.approx((d[a] + d[c]).item() / 3, rel=1e-4)
    assert scores["ig"].effect == pytest.approx((totals[a] + totals[c]) / H, rel=1e-4)
    assert scores["ig"].ratio > 3 * scores["|IG|"].ratio


def test_ig_is_gradient_times_input_for_this_network(fitted, series):
    """The LSTM reads the window normalised by its own mean and spread and its correction is
    scaled back by the spread; the linear path is linear: so the forecast is linear along IG's
    straight path from the mean window, and IG is the gradient at the window times (window -
    mean), its path integral exact (benchmarks/README.md, faithfulness)."""
    import copy

    from captum.attr import IntegratedGradients

    from lstm_core.interpret.attributions import attribute_window, forecast_sum, neutral

    fc = copy.deepcopy(fitted)
    with torch.no_grad():  # an LSTM correction that is far from zero
        fc.model_.head.weight.normal_(generator=torch.Generator().manual_seed(0))
    window = fc.scaled_inputs(series)[100:116]
    ig, _, _ = attribute_window(fc.model_, window, 0)
    x = window.unsqueeze(0).clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(forecast_sum(fc.model_)(x).sum(), x)
    gxi = (grad[0] * (window - neutral(window))).double().numpy()
    np.testing.assert_allclose(ig, gxi, atol=2e-3 * np.abs(gxi).max())
    # not so from a baseline that is not flat in time (the window reversed): the path bends
    back = window.flip(0).unsqueeze(0)
    with torch.inference_mode(False), torch.enable_grad():
        ig_back = IntegratedGradients(forecast_sum(fc.model_)).attribute(
            x.detach().clone().requires_grad_(True), baselines=back, n_steps=64
        )
    gxi_back = grad * (x.detach() - back)
    assert (ig_back - gxi_back).abs().max() > 0.05 * gxi_back.abs().max()


def test_deletion_measures_the_target_explained():
    from lstm_core.interpret.faithfulness import deleted, moves
    from lstm_core.model import ForecastNet

    net = ForecastNet(2, 2, lookback=8, horizon=2).eval()  # untrained: repeats the last value
    window = torch.stack([torch.ones(8), torch.arange(8.0)], dim=1)  # target 0 flat, 1 a ramp
    last = deleted(window, [np.array([7])])
    move = 7 - 3.5  # target 1's last value against its window's mean
    assert moves(net, window, last, target=0)[0] == 0
    assert moves(net, window, last, target=1)[0] == pytest.approx(move)
    assert moves(net, window, last)[0] == pytest.approx(move / 2)


def test_gate_response_measures_a_shift_against_random_points():
    from lstm_core.interpret.gate_response import gate_response, response_rate, shifts

    share = np.r_[np.full(100, 0.3), np.full(100, 0.7)]
    share += np.random.default_rng(0).normal(0, 0.01, 200)
    np.testing.assert_allclose(shifts(share, np.array([100]), 10), [0.4], atol=0.02)
    at, flat = gate_response(share, [100, 50, 3], w=10)
    assert [r.index for r in (at, flat)] == [100, 50], "a point without w steps each side drops"
    assert at.responds and at.p < 0.05 and at.shift > 0.35
    assert not flat.responds
    assert response_rate([at, flat]) == 0.5
    still = gate_response(np.full(200, 0.5), [100], w=10)[0]
    assert still.shift == 0 and still.p == 1 and not still.responds


def test_gate_reading_is_the_share_of_units_leaning_on_memory():
    gate = np.array([[0.9, 0.8, 0.2, 0.6], [0.1, 0.2, 0.3, 0.6], [0.9, 0.9, 0.9, 0.9]])
    r = gate_reading(gate)
    np.testing.assert_allclose(r.memory_share, [0.75, 0.25, 1.0])
    assert (r.low, r.high) == (1, 2) and r.mean_share == pytest.approx(2 / 3)
    times = pd.date_range("2020-01-01", periods=3, freq="D")
    text = r.sentence(times, "D")
    assert "67% of the gate's units lean on the LSTM's memory" in text
    assert "25% (at 2020-01-02" in text and "100% (at 2020-01-03)" in text
    flat = gate_reading(np.full((5, 4), 0.7))
    assert "the mix hardly changes" in flat.sentence()


def test_attention_reading_says_where_forecasts_look():
    attention = np.zeros((2, 20))
    attention[:, -2:] = 0.5  # all attention on the last two steps
    text = attention_reading(attention)
    assert text.startswith("100% of the attention goes to the latest 2 of 20 steps (more than")
    assert "the most attended lag is 2 steps back" in text
    times = pd.date_range("2020-01-01", periods=20, freq="h")
    assert "the step it weighs most is 2020-01-01 18:00" in attention_reading(
        attention[0], times, "h"
    )


def test_last_steps_keeps_the_windows_that_end_in_the_span(fitted, series):
    from lstm_core.interpret import trace

    tr = trace(fitted, series)
    short = last_steps(tr, 100)
    assert len(short.index) == 100 and short.gate.shape == (100, tr.gate.shape[1])
    assert short.index[-1] == tr.index[-1]
    ends = short.map_starts + tr.lookback - 1  # relative to the span's first step
    assert ends.min() >= 0 and ends.max() <= 99 + tr.map_block
    assert last_steps(tr, None) is tr


def test_the_banner_says_which_check_kept_the_linear_start():
    """Validation keeping the start and the check after validation reverting to it are two
    different stories; the banner tells the one that happened."""
    from lstm_core.interpret.share import NetworkShare
    from lstm_core.train import History
    from ui.interpret_text import nil_banner

    on_validation = History((1.0,), (1.0,), 0, "completed", "", "CPU", 0.0, 0.0, 0.9)
    on_check = replace(on_validation, check_loss=(0.8, 0.7))  # validation chose epoch 1
    assert not on_validation.kept_by_check and on_check.kept_by_check
    assert not replace(on_check, best_epoch=1).kept_by_check  # the check kept the network

    def banner(h: History) -> str:
        share = NetworkShare(0, 0.0, 0.0, 10, 0.0, True, h.kept_by_check)
        return nil_banner(share)

    assert banner(on_validation).startswith("No training epoch beat the linear fit")
    assert banner(on_check).startswith(
        "The trained network did not beat the linear fit it "
        "starts from on the check windows after validation"
    )
