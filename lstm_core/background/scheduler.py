"""Slots and queues for one server process (``Scheduler``), and the ``Owner`` whose closed
session's work it cancels."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

from lstm_core import threads
from lstm_core.background.forker import Forker
from lstm_core.background.tasks import Report, Task
from lstm_core.background.training import TrainingJob
from lstm_core.config import Config
from lstm_core.data.prepare import Prepared
from lstm_core.panel import Panel

T = TypeVar("T")
NICE = 19  # training processes run at the lowest priority: page rendering comes first


class Owner:
    """A token for one session's work (``Scheduler.train/run(..., owner=...)``). Its unfinished
    work is cancelled when the owner is closed (the session expired), when it has not been
    ``touch``ed for the scheduler's ``orphan_after_s`` (its browser tab was closed: an open tab
    touches it on every run and on a heartbeat), or when it is garbage-collected. Any object
    that supports weak references can own work too; only an ``Owner`` can be closed or orphaned."""

    def __init__(self) -> None:
        self.last_seen = time.monotonic()
        self.closed = False

    def touch(self, now: float | None = None) -> None:
        """Its session is alive (a script run or a heartbeat)."""
        self.last_seen = time.monotonic() if now is None else now

    def close(self) -> None:
        """Its session has ended: the scheduler cancels its work at the next ``reap``."""
        self.closed = True


def _reap_until(ref: weakref.ref, stop: threading.Event, every: float) -> None:
    """The reaper thread: ``scheduler.reap()`` every ``every`` s while the scheduler lives."""
    while not stop.wait(every):
        scheduler = ref()
        if scheduler is None:
            return
        scheduler.reap()
        del scheduler


class Scheduler:
    """Slots and queues for one server process: at most ``max_trainings`` trainings and
    ``max_tasks`` other tasks run at once; more wait in order (first come, first served).

    Args:
        max_trainings: trainings at once (each in a process of its own).
        max_tasks: tasks at once (each in a thread).
        nice: how much lower the training processes' CPU priority is.
        cores: cores the trainings share (default: those this process may use).
        training_limit_s: a training still running after this many seconds in its slot is
            stopped and keeps its best weights so far (None: no limit).
        orphan_after_s: work of an ``Owner`` not touched for this long is cancelled, as is
            the work of a closed owner; checked every ``orphan_after_s / 4`` s by a reaper
            thread and on every ``reap()`` (None: only closed or collected owners).
    """

    def __init__(
        self,
        max_trainings: int = 2,
        max_tasks: int = 4,
        *,
        nice: int = NICE,
        cores: int | None = None,
        training_limit_s: float | None = None,
        orphan_after_s: float | None = None,
    ):
        self.max_trainings, self.max_tasks, self.nice = max_trainings, max_tasks, nice
        self.cores = cores or threads.cores()
        self.training_limit_s, self.orphan_after_s = training_limit_s, orphan_after_s
        self._owners: dict[int, weakref.ref] = {}
        self._cond = threading.Condition()
        self._training_queue: list[TrainingJob] = []
        self._trainings: list[TrainingJob] = []
        self._task_queue: list[Task] = []
        self._tasks: list[Task] = []
        self._owned: dict[int, list[TrainingJob | Task]] = {}
        self.forker = Forker(nice)
        weakref.finalize(self, self.forker.close)
        if orphan_after_s is not None:
            stop = threading.Event()
            weakref.finalize(self, stop.set)
            reaper = threading.Thread(
                target=_reap_until,
                args=(weakref.ref(self), stop, orphan_after_s / 4),
                name="lstm-reaper",
                daemon=True,
            )
            reaper.start()

    # ------------------------------------------------------------ public

    def train(
        self, cfg: Config, prepared: Prepared | Panel, owner: object | None = None
    ) -> TrainingJob:
        """Queue ``Forecaster(cfg).fit(prepared)`` (``PanelForecaster(cfg).fit`` for a Panel);
        poll the returned job's ``snapshot()``."""
        job = TrainingJob(cfg, prepared, self)
        self._own(owner, job)
        job._thread.start()
        return job

    def run(
        self, fn: Callable[[Report], T], label: str = "task", owner: object | None = None
    ) -> Task[T]:
        """Queue ``fn(report)`` in a thread. With an ``owner``, that owner's unfinished task
        of the same ``label`` is cancelled first (a new detection replaces the old one)."""
        task: Task[T] = Task(fn, label, self)
        if owner is not None:
            for old in self._owned.get(id(owner), []):
                if isinstance(old, Task) and old.label == label:
                    old.cancel()
        self._own(owner, task)
        task._thread.start()
        return task

    def running(self) -> tuple[int, int]:
        """(trainings, tasks) running now."""
        with self._cond:
            return len(self._trainings), len(self._tasks)

    # ------------------------------------------------------------ slots

    def budget(self) -> int:
        with self._cond:
            return threads.budget(len(self._trainings), self.cores)

    def queue_position(self, job: TrainingJob) -> int | None:
        with self._cond:
            q = self._training_queue
            return q.index(job) + 1 if job in q else None

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _acquire(self, item, queue: list, running: list, limit: int) -> bool:
        """Wait until ``item`` is first in ``queue`` and a slot is free; False if cancelled."""
        with self._cond:
            queue.append(item)
            while not (queue[0] is item and len(running) < limit):
                if item._cancel.is_set():
                    queue.remove(item)
                    self._cond.notify_all()
                    return False
                self._cond.wait(0.5)
            queue.pop(0)
            running.append(item)
            self._cond.notify_all()
            return True

    def _release(self, item, running: list) -> None:
        with self._cond:
            if item in running:
                running.remove(item)
            self._cond.notify_all()
        self._disown(item)

    def acquire_training(self, job: TrainingJob) -> bool:
        ok = self._acquire(job, self._training_queue, self._trainings, self.max_trainings)
        if ok:
            self._rebalance()
        return ok

    def release_training(self, job: TrainingJob) -> None:
        self._release(job, self._trainings)
        self._rebalance()

    def acquire_task(self, task: Task) -> bool:
        return self._acquire(task, self._task_queue, self._tasks, self.max_tasks)

    def release_task(self, task: Task) -> None:
        self._release(task, self._tasks)

    def _rebalance(self) -> None:
        """Every running training's thread count: the cores shared among them."""
        with self._cond:
            running, n = list(self._trainings), threads.budget(len(self._trainings), self.cores)
        for job in running:
            job._send(threads=n)

    # ------------------------------------------------------------ owners

    def _own(self, owner: object | None, item: TrainingJob | Task) -> None:
        if owner is None:
            return
        key = id(owner)
        with self._cond:
            if key not in self._owned:
                weakref.finalize(owner, self._abandon, key)  # TypeError without weak references
                self._owned[key] = []
                self._owners[key] = weakref.ref(owner)
            self._owned[key].append(item)

    def reap(self, now: float | None = None) -> int:
        """Cancel the work of owners that are closed or, with ``orphan_after_s``, not touched
        for that long (their session ended); returns how many items were cancelled."""
        now = time.monotonic() if now is None else now
        with self._cond:
            gone = []
            for key, ref in self._owners.items():
                owner = ref()
                if not isinstance(owner, Owner):
                    continue
                idle = now - owner.last_seen
                if owner.closed or (self.orphan_after_s is not None and idle > self.orphan_after_s):
                    gone.append(key)
            items = [item for key in gone for item in self._owned.pop(key, [])]
            for key in gone:
                self._owners.pop(key, None)
        for item in items:
            item.cancel()
        return len(items)

    def _disown(self, item: TrainingJob | Task) -> None:
        with self._cond:
            for items in self._owned.values():
                if item in items:
                    items.remove(item)

    def _abandon(self, key: int) -> None:
        """The owner is gone (its session closed): cancel what it left running."""
        with self._cond:
            items = self._owned.pop(key, [])
            self._owners.pop(key, None)
        for item in items:
            item.cancel()
