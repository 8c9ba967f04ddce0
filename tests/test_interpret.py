"""Stitching per-window attention and skip-gate activations onto the timeline."""

from __future__ import annotations

import tracemalloc

import numpy as np
import torch

from lstm_core.interpret import coverage, stitch, trace


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
    np.testing.assert_allclose(tr.gate, naive_average(inner["gate"].double().numpy(), len(x)),
                               atol=1e-6)
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
    import pytest

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
