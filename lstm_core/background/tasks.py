"""Slow calls in a background thread (``Task``), queued for a slot and cancellable through
their progress reports."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, Literal, Protocol, TypeVar

from lstm_core import threads
from lstm_core.errors import LstmCoreError

TaskStatus = Literal["queued", "running", "done", "failed", "cancelled"]
T = TypeVar("T")
Report = Callable[[float, str], None]  # (fraction done in [0, 1], what is being done)


class Cancelled(LstmCoreError):
    """The task was cancelled (raised by its ``report`` callback)."""


class TaskSlots(Protocol):
    """What a task asks of its scheduler (``scheduler.Scheduler``)."""

    def acquire_task(self, task: Task) -> bool: ...

    def release_task(self, task: Task) -> None: ...

    def wake(self) -> None: ...


class Task(Generic[T]):
    """One slow call, ``fn(report)``, in a background thread, for a page to poll."""

    def __init__(self, fn: Callable[[Report], T], label: str, scheduler: TaskSlots):
        self._fn, self.label = fn, label
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._status: TaskStatus = "queued"
        self._progress: tuple[float, str] = (0.0, "waiting for a free slot")
        self._created = time.monotonic()
        self._began: float | None = None
        self._ended: float | None = None
        self.result: T | None = None
        self.error: str | None = None
        self.shown = False  # a page has drawn the finished result (and stopped polling)
        self._thread = threading.Thread(target=self._run, name=f"lstm-task-{label}", daemon=True)

    def _report(self, fraction: float, text: str) -> None:
        if self._cancel.is_set():
            raise Cancelled(f"{self.label} was cancelled")
        with self._lock:
            self._progress = (min(1.0, max(0.0, float(fraction))), str(text))

    def _run(self) -> None:
        try:
            self._run_in_slot()
        finally:
            self._done.set()  # after the slot is free again

    def _run_in_slot(self) -> None:
        if not self._scheduler.acquire_task(self):
            self._end("cancelled")
            return
        with self._lock:
            self._status, self._began = "running", time.monotonic()
            self._progress = (0.0, "started")
        try:
            with threads.limit(1):  # this thread's torch work (trace spreads over its own)
                result = self._fn(self._report)
        except Cancelled:
            self._end("cancelled")
        except LstmCoreError as e:
            self._end("failed", error=str(e))
        except Exception as e:  # noqa: BLE001 - a thread must report every failure
            self._end("failed", error=f"{type(e).__name__}: {e}")
        else:
            self._end("cancelled" if self._cancel.is_set() else "done", result)
        finally:
            self._scheduler.release_task(self)

    def _end(self, status: TaskStatus, result: T | None = None, error: str | None = None):
        with self._lock:
            self._status, self.error = status, error
            if status == "done":
                self.result = result
                self._progress = (1.0, "done")
            self._ended = time.monotonic()

    @property
    def status(self) -> TaskStatus:
        """"cancelled" from the moment ``cancel`` is called: the page says so at once, and the
        thread's result, if it still comes, is dropped."""
        if self._cancel.is_set() and self._status in ("queued", "running"):
            return "cancelled"
        return self._status

    @property
    def progress(self) -> tuple[float, str]:
        """(fraction done, what is being done), as last reported."""
        with self._lock:
            return self._progress

    @property
    def seconds(self) -> float:
        """Since the task was created (waiting included)."""
        return (self._ended or time.monotonic()) - self._created

    @property
    def eta(self) -> float | None:
        """Seconds left, from the reported fraction and the time running; None until known."""
        with self._lock:
            fraction, began, ended = self._progress[0], self._began, self._ended
        if began is None or ended is not None or not 0 < fraction < 1:
            return None
        return (time.monotonic() - began) * (1 - fraction) / fraction

    def cancel(self) -> None:
        """Stop at the next report (or drop it from the queue); its thread then ends."""
        self._cancel.set()
        self._scheduler.wake()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until it has ended; True if it has."""
        return self._done.wait(timeout)
