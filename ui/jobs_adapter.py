"""A stand-in for the runtime branch's ``jobs.Scheduler`` on top of today's ``lstm_core.jobs``.

The app codes against this contract: ``Scheduler(max_trainings, max_tasks)``; ``train(cfg,
prepared) -> TrainingJob`` with ``snapshot() -> Progress`` (status, epoch, epochs, batch,
batches, train_loss, val_loss, seconds, cancelling, error, queued, phase, queue_position),
``cancel()``, ``wait(timeout)`` and ``result`` (None when cancelled before a full epoch);
``run(fn, label) -> Task`` where ``fn(report)`` reports ``report(fraction, text)``, which raises
``Cancelled`` once the task is cancelled; ``Task.status`` in queued/running/done/failed/
cancelled, ``progress``, ``seconds``, ``eta``, ``cancel()``, ``result``, ``error``, ``wait``.

What this adapter does with today's module, and what it cannot do:
  * trainings run through ``jobs.TrainingJob.start`` and tasks through ``jobs.Task.start``, whose
    slots are that module's globals (2 trainings, 4 tasks): ``max_trainings``/``max_tasks`` are
    recorded but not used, and ``queue_position`` is always None;
  * ``result`` is None when the run was cancelled before its first epoch ended (today's job
    returns the untrained start as a model then);
  * ``phase`` is "validating" between the last batch of an epoch and its end;
  * a cancelled task reports "cancelled" at once, but its thread runs on until ``fn`` next calls
    ``report`` (never, for a call that does not report) and its result is dropped;
  * ``trace`` runs ``interpret.trace`` without per-chunk progress (today's has no callback).
When the runtime branch lands, ``ui.work`` imports ``Scheduler``/``Cancelled`` from
``lstm_core.jobs`` and ``interpret.trace`` directly, and this file goes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import pandas as pd

from lstm_core import interpret, jobs
from lstm_core.config import Config
from lstm_core.data import Prepared
from lstm_core.forecaster import Forecaster

T = TypeVar("T")
Report = Callable[[float, str], None]
TaskStatus = Literal["queued", "running", "done", "failed", "cancelled"]
Phase = Literal["queued", "training", "validating", "done"]


class Cancelled(Exception):
    """Raised by ``report`` once the task it reports for was cancelled."""


@dataclass(frozen=True)
class Progress:
    """A consistent copy of a training job's state (the runtime branch's fields)."""

    status: str  # "running", "done", "failed"
    epoch: int
    epochs: int
    batch: int
    batches: int
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    seconds: float
    cancelling: bool
    error: str | None
    queued: bool
    phase: Phase
    queue_position: int | None = None


class TrainingJob:
    """Today's ``jobs.TrainingJob`` seen through the contract."""

    def __init__(self, cfg: Config, prepared: Prepared):
        self._job = jobs.TrainingJob.start(cfg, prepared)
        self.cfg = cfg

    def snapshot(self) -> Progress:
        s = self._job.snapshot()
        if s.status != "running":
            phase: Phase = "done"
        elif s.queued:
            phase = "queued"
        elif s.batches and s.batch >= s.batches:
            phase = "validating"
        else:
            phase = "training"
        return Progress(
            s.status,
            s.epoch,
            s.epochs,
            s.batch,
            s.batches,
            s.train_loss,
            s.val_loss,
            s.seconds,
            s.cancelling,
            s.error,
            s.queued,
            phase,
        )

    def cancel(self) -> None:
        self._job.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        return self._job.wait(timeout)

    @property
    def result(self) -> Forecaster | None:
        fc = self._job.result
        if fc is not None and not fc.history_.train_loss and fc.history_.stopped == "cancelled":
            return None  # cancelled before one epoch: no model worth using
        return fc


class Task(Generic[T]):
    """Today's ``jobs.Task`` with progress, cancel and an estimate of the time left."""

    def __init__(self, fn: Callable[[Report], T], label: str):
        self.label = label
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._progress: tuple[float, str] = (0.0, "")
        self._task = jobs.Task.start(lambda: fn(self._report))

    def _report(self, fraction: float, text: str) -> None:
        if self._cancel.is_set():
            raise Cancelled
        with self._lock:
            self._progress = (min(max(float(fraction), 0.0), 1.0), text)

    @property
    def status(self) -> TaskStatus:
        if self._cancel.is_set():
            return "cancelled"
        return self._task.status  # running, done or failed

    @property
    def progress(self) -> tuple[float, str]:
        with self._lock:
            return self._progress

    @property
    def seconds(self) -> float:
        return self._task.seconds

    @property
    def eta(self) -> float | None:
        """Seconds left, from the share done so far (None until some progress is reported)."""
        done = self.progress[0]
        if self.status != "running" or not 0 < done < 1:
            return None
        return self.seconds * (1 - done) / done

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def result(self) -> T | None:
        return None if self._cancel.is_set() else self._task.result

    @property
    def error(self) -> str | None:
        return None if self._cancel.is_set() else self._task.error

    def wait(self, timeout: float | None = None) -> bool:
        return self._task.wait(timeout)


class Scheduler:
    """Starts trainings and tasks; one per server process (the app holds it in a resource)."""

    def __init__(self, max_trainings: int = 2, max_tasks: int = 4):
        self.max_trainings, self.max_tasks = max_trainings, max_tasks

    def train(self, cfg: Config, prepared: Prepared) -> TrainingJob:
        return TrainingJob(cfg, prepared)

    def run(self, fn: Callable[[Report], T], label: str) -> Task[T]:
        return Task(fn, label)


def trace(
    fc: Forecaster, data: pd.DataFrame | Prepared, on_chunk: Callable[[int, int], None]
) -> interpret.Trace:
    """``interpret.trace`` with the runtime branch's ``on_chunk(done, total)``: today's trace
    has no callback, so only the start and the end are reported."""
    on_chunk(0, 1)
    result = interpret.trace(fc, data)
    on_chunk(1, 1)
    return result
