"""Work in background threads: training with progress and a clean cancel, and one-shot tasks.

Why a thread: a Streamlit script run that trains inline blocks its own session (no Cancel
click gets through; leaving the page stops the script and loses the run). A ``TrainingJob``
runs ``Forecaster.fit`` in a daemon thread owned by one session; the page reads
``snapshot()`` from a fragment that reruns every half second, and ``cancel()`` sets an event
that the per-batch callback turns into ``StopTraining``, so training stops within one batch
and keeps the best weights so far. Other sessions are not blocked: torch releases the GIL
inside its kernels, and small models train on one thread (see ``train.cpu_threads``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from lstm_core.config import Config
from lstm_core.data import Prepared
from lstm_core.errors import LstmCoreError
from lstm_core.forecaster import Forecaster
from lstm_core.train import StopTraining

Status = Literal["running", "done", "failed"]

# Trainings that may run at once in this server process; more wait for a slot, so a crowd of
# visitors shares the CPU/GPU instead of slowing every run to a crawl. Process-wide by nature.
MAX_CONCURRENT = 2
_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)
MAX_CONCURRENT_TASKS = 4  # the same for other slow calls (detection, whole-series traces)
_TASK_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_TASKS)
T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """A consistent copy of a job's state at one moment."""

    status: Status
    epoch: int  # epochs finished
    epochs: int  # epochs configured
    batch: int  # batches finished in the current epoch
    batches: int  # batches per epoch (0 until the first batch)
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    seconds: float
    cancelling: bool
    error: str | None  # why a failed job failed, in words
    queued: bool = False  # waiting for a free training slot (MAX_CONCURRENT run at once)

    @property
    def fraction(self) -> float:
        """Share of the configured epochs done, in [0, 1]."""
        if self.status != "running":
            return 1.0
        within = self.batch / self.batches if self.batches else 0.0
        return min(1.0, (self.epoch + within) / max(self.epochs, 1))

    @property
    def text(self) -> str:
        if self.status == "failed":
            return f"training failed: {self.error}"
        if self.status == "done":
            return f"finished {self.epoch} epoch(s) in {self.seconds:.1f} s"
        if self.queued and not self.cancelling:
            return (f"waiting for a free training slot ({MAX_CONCURRENT} trainings run at once "
                    f"on this server; {self.seconds:.0f} s)")
        if self.cancelling:
            return "cancelling: finishing the current batch, then keeping the best weights"
        loss = f", validation loss {self.val_loss[-1]:.4f}" if self.val_loss else ""
        return (
            f"epoch {min(self.epoch + 1, self.epochs)}/{self.epochs}, batch "
            f"{self.batch}/{self.batches or '?'}{loss} ({self.seconds:.0f} s)"
        )


class TrainingJob:
    """``Forecaster(cfg).fit(data)`` in a background thread. Start it with ``TrainingJob.start``."""

    def __init__(self, cfg: Config, data: Prepared):
        self.cfg, self.data = cfg, data
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._status: Status = "running"
        self._epoch = self._batch = self._batches = 0
        self._train: list[float] = []
        self._val: list[float] = []
        self._error: str | None = None
        self._queued = True
        self._started = time.monotonic()
        self._ended: float | None = None
        self.result: Forecaster | None = None  # set once, when the job is done

    @classmethod
    def start(cls, cfg: Config, data: Prepared) -> TrainingJob:
        job = cls(cfg, data)
        job._thread = threading.Thread(target=job._run, name="lstm-training", daemon=True)
        job._thread.start()
        return job

    def _on_batch(self, epoch: int, batch: int, batches: int) -> None:
        with self._lock:
            self._batch, self._batches = batch, batches
        if self._cancel.is_set():
            raise StopTraining

    def _on_epoch(self, epoch: int, train_loss: float, val_loss: float) -> None:
        with self._lock:
            self._epoch, self._batch = epoch, 0
            self._train.append(train_loss)
            self._val.append(val_loss)
        if self._cancel.is_set():
            raise StopTraining

    def _run(self) -> None:
        while not _SLOTS.acquire(timeout=0.2):  # queued: wait for a slot, or a cancel
            if self._cancel.is_set():
                self._finish("failed", error="cancelled while waiting for a free training slot")
                return
        with self._lock:
            self._queued = False
        try:
            fc = Forecaster(self.cfg).fit(
                self.data, on_epoch=self._on_epoch, on_batch=self._on_batch
            )
        except LstmCoreError as e:
            self._finish("failed", error=str(e))
        except Exception as e:  # noqa: BLE001 - a thread must report every failure, not die silently
            self._finish("failed", error=f"{type(e).__name__}: {e}")
        else:
            self._finish("done", result=fc)
        finally:
            _SLOTS.release()

    def _finish(
        self, status: Status, error: str | None = None, result: Forecaster | None = None
    ) -> None:
        with self._lock:
            self.result, self._error = result, error
            self._ended = time.monotonic()
            self._status = status

    def cancel(self) -> None:
        """Ask the job to stop after the current batch; the best weights so far are kept."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests, CLI); True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot().status != "running"

    def snapshot(self) -> Progress:
        with self._lock:
            end = self._ended or time.monotonic()
            return Progress(
                self._status,
                self._epoch,
                self.cfg.training.epochs,
                self._batch,
                self._batches,
                tuple(self._train),
                tuple(self._val),
                end - self._started,
                self._cancel.is_set(),
                self._error,
                self._queued,
            )


class Task(Generic[T]):
    """One slow call (e.g. change point detection) in a background thread, for a page to poll.

    Unlike TrainingJob it reports no progress, only running/done/failed and the elapsed time.
    """

    def __init__(self, fn: Callable[[], T]):
        self._fn = fn
        self._done = threading.Event()
        self._started = time.monotonic()
        self._ended: float | None = None
        self.result: T | None = None
        self.error: str | None = None
        self.shown = False  # a page has drawn the finished result (and stopped polling)
        self._thread = threading.Thread(target=self._run, name="lstm-task", daemon=True)

    @classmethod
    def start(cls, fn: Callable[[], T]) -> Task[T]:
        task = cls(fn)
        task._thread.start()
        return task

    def _run(self) -> None:
        try:
            with _TASK_SLOTS:  # waits while MAX_CONCURRENT_TASKS others run
                self.result = self._fn()
        except LstmCoreError as e:
            self.error = str(e)
        except Exception as e:  # noqa: BLE001 - a thread must report every failure, not die silently
            self.error = f"{type(e).__name__}: {e}"
        self._ended = time.monotonic()
        self._done.set()

    @property
    def status(self) -> Status:
        if not self._done.is_set():
            return "running"
        return "failed" if self.error is not None else "done"

    @property
    def seconds(self) -> float:
        return (self._ended or time.monotonic()) - self._started

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the call returns (tests); True if it has."""
        return self._done.wait(timeout)
