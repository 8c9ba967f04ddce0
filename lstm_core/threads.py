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

Training takes the cores that are free (``for_training``): the cores this process may use less
the one-minute load average of the rest of the machine. Torch's default is every core, and on a
2-core machine that another job kept busy a training batch then took 1.1 s against 18 ms on
one thread (issue 21; ``benchmarks/threads.py`` measures it).
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


def load() -> float:
    """The machine's one-minute load average (runnable processes), 0.0 where unknown."""
    try:
        return max(0.0, os.getloadavg()[0])
    except (AttributeError, OSError):  # no load average on this platform
        return 0.0


def free_cores(total: int | None = None, own: float = 0.0) -> int:
    """Cores not kept busy by other work: ``total`` (default ``cores()``) less the load average,
    of which ``own`` is this program's own running work; at least 1.

    The load average counts runnable processes (and their threads) over the last minute,
    rounded to the nearest whole core: 1.4 busy cores leave 2 of 4 free, 0.3 leave all 4.
    """
    total = total or cores()
    busy = max(0.0, load() - own)
    return max(1, min(total, total - int(busy + 0.5)))


def for_training(requested: int | None = None) -> int:
    """Threads a training uses: ``requested`` if given, else the free cores, at most the
    count this process already has (a training process's share, ``background.Scheduler``)."""
    if requested is not None:
        return max(1, int(requested))
    return max(1, min(torch.get_num_threads(), free_cores()))


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
