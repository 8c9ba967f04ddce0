"""CPU threads for torch, per calling thread: never torch's process-wide setting.

``torch.set_num_threads`` changes the count for every thread of the process that starts torch
work afterwards, so one session's setting would reach every other session of a server. But the
OpenMP thread count torch's CPU kernels use is per thread (each thread's own ``nthreads-var``),
so ``limit`` sets it for the calling thread only, and puts it back on exit.

Why limit at all: a small LSTM's matrices are too small to split, and OpenMP's spinning workers
wait on a sibling that another process preempted: on 2 shared cores, 2 threads ran the
detection model's forward 5 to 10 times slower than 1 (benchmarks/README.md). So inference in
a server thread runs on one thread (``for_model``), and long traces split their windows over
several such threads instead (``interpret.trace``).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch

SMALL_MODEL = 2_000_000  # parameters below which inference runs on one thread

_libc = ctypes.CDLL(None)  # torch has loaded its OpenMP runtime into the process
_omp_set_num_threads = getattr(_libc, "omp_set_num_threads", None)


def cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def budget(jobs: int, total: int | None = None) -> int:
    """Threads each of ``jobs`` concurrent jobs gets: every core for one, a fair share for more."""
    return max(1, (total or cores()) // max(1, jobs))


@contextmanager
def limit(n: int) -> Iterator[None]:
    """Run torch's CPU kernels of the calling thread on at most ``n`` threads; other threads
    keep theirs. Without an OpenMP runtime (other torch builds) it changes nothing."""
    if _omp_set_num_threads is None:
        yield
        return
    before = torch.get_num_threads()  # also makes torch set up this thread's count first
    _omp_set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        _omp_set_num_threads(before)


def for_model(model: torch.nn.Module) -> AbstractContextManager[None]:
    """One thread for a small model's inference (see the module docstring), else unchanged."""
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL
    return limit(1) if small else nullcontext()
