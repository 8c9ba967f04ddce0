"""Attention and skip-gate activations of every window, stitched onto the series timeline."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lstm_core import threads
from lstm_core.arrays import block_means
from lstm_core.data import Prepared
from lstm_core.errors import SeriesTooShort
from lstm_core.forecaster import Forecaster

CHUNK = 1024  # windows per forward pass: bounds memory; larger chunks ran slower (cache)
MAP_ROWS = 400  # at most this many rows in the attention heatmap
# Longer series run every k-th window only (k <= lookback / 4, so each step is still averaged
# over at least 4 windows): the model's cost is per window, and a 1M-step series would take
# half a minute on 2 cores (benchmarks/scale.py). None = every window.
MAX_WINDOWS = 250_000


@dataclass(frozen=True)
class Trace:
    """What the model did at each step of the series, averaged over the windows that contain it.

    A step t belongs to the windows that start at t - lookback + 1 ... t (those that exist), so
    the first and last ``lookback - 1`` steps are averaged over fewer windows (see ``coverage``).
    With ``stride`` k > 1 (very long series) only windows starting at multiples of k, and the
    last window, were run.
    """

    index: pd.Index  # (T,) the prepared series' time index
    lookback: int
    attention: np.ndarray  # (T,) attention (mean over heads) the step received, window-averaged
    gate: np.ndarray  # (T, W) float32 skip-gate activation per channel (1 = LSTM, 0 = skip)
    coverage: np.ndarray  # (T,) number of windows (that were run) containing the step
    attention_map: np.ndarray  # (R, L) attention per window (row) and lag (column, oldest first)
    map_starts: np.ndarray  # (R,) first row of the first window averaged into each heatmap row
    map_block: int  # consecutive windows (that were run) averaged per heatmap row
    stride: int = 1  # steps between the starts of the windows that were run

    @property
    def gate_mean(self) -> np.ndarray:
        """(T,) gate averaged over channels; nearly flat in practice, kept for display."""
        return self.gate.mean(axis=1)


def stitch(
    windows: np.ndarray | torch.Tensor,
    n_steps: int,
    start: int = 0,
    out: np.ndarray | torch.Tensor | None = None,
    step: int = 1,
) -> np.ndarray | torch.Tensor:
    """Sum per-window values onto the timeline: window i covers steps s_i ... s_i+L-1, with
    s_i = start + i * step.

    Vectorised over windows and channels; loops only over the L lags. NumPy arrays or torch
    tensors (then pass ``out``), in place.

    Args:
        windows: (N, L) or (N, L, C) values of N windows, ``step`` apart.
        n_steps: length T of the timeline.
        start: step at which the first window starts.
        out: (T,) or (T, C) accumulator to add into (created as float64 zeros if None).
        step: steps between consecutive windows' starts.

    Returns:
        The accumulator: sums, not means; divide by ``coverage(...)`` for the average.
    """
    n, lookback = windows.shape[:2]
    if out is None:
        out = np.zeros((n_steps,) + tuple(windows.shape[2:]), dtype=np.float64)
    for j in range(lookback):
        first = start + j
        out[first : first + (n - 1) * step + 1 : step] += windows[:, j]
    return out


def coverage(n_steps: int, lookback: int, stride: int = 1) -> np.ndarray:
    """(T,) number of windows of length ``lookback`` containing each step, for windows starting
    every ``stride`` steps plus the last one (stride 1: every window)."""
    if stride == 1:
        t = np.arange(n_steps)
        n_windows = n_steps - lookback + 1
        return (np.minimum(t, n_windows - 1) - np.maximum(t - lookback + 1, 0) + 1).astype(
            np.float64
        )
    delta = np.zeros(n_steps + 1)  # +1 where a window starts, -1 after it ends
    starts = window_starts(n_steps - lookback + 1, stride)
    np.add.at(delta, starts, 1)
    np.add.at(delta, starts + lookback, -1)
    return np.cumsum(delta)[:n_steps]


def window_starts(n_windows: int, stride: int) -> np.ndarray:
    """First steps of the windows run at ``stride``: every stride-th, and the last."""
    starts = np.arange(0, n_windows, stride)
    return starts if starts[-1] == n_windows - 1 else np.append(starts, n_windows - 1)


OnChunk = Callable[[int, int], None]  # (windows done, windows in all)


@torch.inference_mode()
def trace(
    forecaster: Forecaster,
    data: pd.DataFrame | Prepared,
    chunk: int = CHUNK,
    map_rows: int = MAP_ROWS,
    on_chunk: OnChunk | None = None,
    max_windows: int | None = MAX_WINDOWS,
    workers: int | None = None,
) -> Trace:
    """Run the fitted model over the windows of ``data`` and stitch its internals.

    Windows are views of the scaled series (``Tensor.unfold``) and go through the model
    ``chunk`` at a time, on ``workers`` threads of one torch thread each (see ``threads``); the
    sums stay in tensors, so memory holds the (T, W) float32 gate plus a chunk per worker.
    benchmarks/scale.py gives the time and peak memory at 10k, 100k and 1M steps.

    Args:
        forecaster: a fitted Forecaster.
        data: the series (raw frame or already prepared).
        chunk: windows per forward pass.
        map_rows: most rows of the attention heatmap; longer series average consecutive windows.
        on_chunk: called as ``on_chunk(windows done, windows in all)`` after every chunk, in
            the calling thread (a progress bar; raising from it, e.g. ``background.Cancelled``, stops
            the trace after the chunks already running).
        max_windows: above this many windows, run every k-th window only (``Trace.stride``);
            None runs every window.
        workers: threads to spread the chunks over (default: one per core).

    Returns:
        Trace with the stitched attention (T,) and gate (T, W) and the heatmap (R, L).

    Raises:
        SeriesTooShort: the series has fewer rows than the lookback.
    """
    # Whole on purpose past its docstring: the windows, the jobs and ``run`` share the sums
    # (attention, gate), their lock and the heatmap's block size, read top to bottom.
    prep = forecaster.prepare(data)
    x = forecaster.scaled_inputs(prep)  # (T, F)
    lookback = forecaster.config_.data.lookback
    T = len(x)
    if T < lookback:
        raise SeriesTooShort(
            f"the series has {T} rows, fewer than the model's lookback {lookback}", lookback
        )
    n_all = T - lookback + 1
    stride = 1
    if max_windows is not None and n_all > max_windows:
        stride = max(1, min(-(-n_all // max_windows), lookback // 4))
    starts = window_starts(n_all, stride)
    windows = x.unfold(0, lookback, stride).transpose(1, 2)  # (N, L, F) views, stride apart
    N = len(windows)  # every stride-th window; the last window may follow, off the stride
    block = max(1, -(-N // map_rows))  # ceil: windows per heatmap row
    chunk = max(block, chunk // block * block)  # chunks hold whole heatmap blocks
    model = forecaster.model_
    attention = torch.zeros(T, dtype=torch.float64)
    # float32: half the memory of the largest array (128 MB at a million steps, 32 channels);
    # a step's sum of at most ``lookback`` values in [0, 1] stays within 1e-6 of float64's
    gate = torch.zeros(T, model.encoder.output_size, dtype=torch.float32)
    lock = threading.Lock()
    jobs = [(s, windows[s : s + chunk], s * stride, stride) for s in range(0, N, chunk)]
    if len(starts) > N:  # the last window, off the stride
        jobs.append((None, x[starts[-1] :].unsqueeze(0), int(starts[-1]), 1))

    def run(job) -> np.ndarray | None:
        first, w, at, step = job
        with torch.inference_mode(), threads.limit(1):
            _, internals = model(w, return_internals=True)
            a = internals["attention"].mean(dim=1).double()  # (B, L), mean over heads
            g = internals["gate"].float()  # (B, L, W)
            with lock:
                stitch(a, T, at, attention, step)
                stitch(g, T, at, gate, step)
        return None if first is None else block_means(a.numpy(), block)  # (B / block, L)

    n_workers = max(1, min(workers or threads.cores(), len(jobs)))
    rows = _run_in_order(jobs, run, n_workers, on_chunk, len(starts))  # the heatmap's rows
    cov = torch.from_numpy(coverage(T, lookback, stride))
    return Trace(
        index=prep.frame.index,
        lookback=lookback,
        attention=(attention / cov).numpy(),
        gate=gate.div_(cov[:, None].float()).numpy(),
        coverage=cov.numpy(),
        attention_map=np.concatenate(rows),
        map_starts=np.arange(-(-N // block)) * block * stride,
        map_block=block,
        stride=stride,
    )


def _run_in_order(
    jobs: list, run: Callable, n_workers: int, on_chunk: OnChunk | None, total: int
) -> list[np.ndarray]:
    """``run(job)`` for every job on ``n_workers`` threads; the results that are not None in
    the jobs' order, with ``on_chunk(windows done, total)`` after each. An exception (from a
    job or from ``on_chunk``) cancels the jobs not started and propagates."""
    out: list[np.ndarray] = []
    with ThreadPoolExecutor(n_workers, thread_name_prefix="lstm-trace") as pool:
        futures = [pool.submit(run, job) for job in jobs]
        done = 0
        try:
            for job, future in zip(jobs, futures):
                result = future.result()
                if result is not None:
                    out.append(result)
                done += len(job[1])
                if on_chunk is not None:
                    on_chunk(done, total)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return out


def last_steps(tr: Trace, n: int | None) -> Trace:
    """The trace of the last ``n`` steps only (all when None), for charts that show only
    the recent history. Heatmap rows are kept when their window
    ends inside that span."""
    T = len(tr.index)
    if n is None or n >= T:
        return tr
    start = T - n
    ends = tr.map_starts + tr.lookback - 1
    rows = ends >= start
    return Trace(
        index=tr.index[start:],
        lookback=tr.lookback,
        attention=tr.attention[start:],
        gate=tr.gate[start:],
        coverage=tr.coverage[start:],
        attention_map=tr.attention_map[rows],
        map_starts=tr.map_starts[rows] - start,
        map_block=tr.map_block,
    )
