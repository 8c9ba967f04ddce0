"""Background work for a server: trainings in processes of their own, other slow calls in
threads, both queued behind a few slots and cancellable.

A Streamlit script run that trains inline blocks its own session, so work runs in the
background and pages poll it. One ``Scheduler`` per server process (the app creates it and
holds it; nothing here is module-level state) owns the slots and the queues:

- ``scheduler.train(cfg, prepared) -> TrainingJob``: ``Forecaster(cfg).fit`` (given a
  ``Panel``: ``PanelForecaster(cfg).fit``, one model over every series) in a separate
  process (``lstm_core.worker``), at a lower CPU priority, with its own torch thread count
  (every core for one training, a fair share for several, updated as trainings start and end)
  and its own random generator. Three trainings in server threads once slowed other sessions'
  page loads from 3 s to 68 s; in processes at a lower priority they cannot starve page
  rendering (benchmarks/load.py). Progress comes back per batch, a cancel stops training
  within one batch, and the model comes back as checkpoint bytes, never as a pickle.
- ``scheduler.run(fn, label) -> Task``: ``fn(report)`` in a thread (detection, whole-series
  traces); ``report(fraction, text)`` gives progress and raises ``Cancelled`` once the task was
  cancelled, so the thread ends at its next report.

Work of an ``Owner`` (one per browser session) is cancelled when the owner is closed (the
session expired), goes unseen for ``orphan_after_s`` (its tab was closed) or is
garbage-collected; a new task of an owner cancels that owner's unfinished task of the same
label (a new detection replaces the old one). ``training_limit_s`` stops a training that runs
too long, as a cancel does (best weights kept).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Generic, Literal, TypeVar

from lstm_core import checkpoint, threads
from lstm_core.config import Config
from lstm_core.data.prepare import Prepared
from lstm_core.data.windows import check_length
from lstm_core.errors import DataError, LstmCoreError
from lstm_core.forecaster import Forecaster
from lstm_core.panel import Panel
from lstm_core.panel_forecaster import PanelForecaster, prepare_series

Status = Literal["running", "done", "failed"]
Phase = Literal["queued", "training", "validating", "done"]
TaskStatus = Literal["queued", "running", "done", "failed", "cancelled"]
T = TypeVar("T")
NICE = 19  # training processes run at the lowest priority: page rendering comes first
MAX_LIVE_POINTS = 2000  # points of the live loss curve kept (thinned when more arrive)
KILL_AFTER = 30.0  # seconds a cancelled training may take to stop before it is killed


class Cancelled(LstmCoreError):
    """The task was cancelled (raised by its ``report`` callback)."""


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


@dataclass(frozen=True)
class Progress:
    """A consistent copy of a training job's state at one moment."""

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
    queued: bool = False  # waiting for a free training slot
    phase: Phase = "training"
    queue_position: int | None = None  # 1 = next to start; None when not queued
    slots: int = 2  # trainings this server runs at once
    # (fractional epoch, the epoch's training loss so far): a live curve from the first batches
    batch_loss: tuple[tuple[float, float], ...] = ()
    limit_s: float | None = None  # the server stops a training after this long (None: never)
    timed_out: bool = False  # it was stopped at that limit (best weights so far kept)

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
            if self.timed_out:
                kept = "the best weights so far are kept" if self.epoch else "no model came of it"
                return (
                    f"stopped at this server's time limit ({duration(self.limit_s)}) after "
                    f"{self.epoch} epoch(s); {kept}"
                )
            if self.epoch == 0:
                return "cancelled before the first epoch finished; the previous model is kept"
            return f"finished {self.epoch} epoch(s) in {self.seconds:.1f} s"
        if self.queued and not self.cancelling:
            return (
                f"waiting for a free training slot ({self.slots} trainings run at once on this "
                f"server; number {self.queue_position} in the queue; {self.seconds:.0f} s)"
            )
        if self.cancelling:
            return "cancelling: finishing the current batch, then keeping the best weights"
        if not self.batches and not self.epoch:
            return f"starting the training process ({self.seconds:.0f} s)"
        loss = f", validation loss {self.val_loss[-1]:.4f}" if self.val_loss else ""
        doing = "validating" if self.phase == "validating" else "batch"
        where = f"batch {self.batch}/{self.batches or '?'}" if doing == "batch" else doing
        return (
            f"epoch {min(self.epoch + 1, self.epochs)}/{self.epochs}, {where}{loss} "
            f"({self.seconds:.0f} s)"
        )


class TrainingJob:
    """One training, queued by a Scheduler and run in a process of its own: one series
    (``data`` a Prepared) or a panel (``data`` a Panel: one global model)."""

    def __init__(self, cfg: Config, data: Prepared | Panel, scheduler: Scheduler):
        self.cfg, self.data = cfg, data
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._cancel = threading.Event()
        self._ended_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lstm-training", daemon=True)
        self._conn: Connection | None = None
        self._pid: int | None = None  # the training process, once forked
        self._status: Status = "running"
        self._phase: Phase = "queued"
        self._epoch = self._batch = self._batches = 0
        self._train: list[float] = []
        self._val: list[float] = []
        self._batch_loss: list[tuple[float, float]] = []
        self._error: str | None = None
        self._started = time.monotonic()
        self._ended: float | None = None
        self._timed_out = False
        self._limit_timer: threading.Timer | None = None
        self.result: Forecaster | PanelForecaster | None = None  # set once, when the job is done

    @classmethod
    def start(
        cls, cfg: Config, data: Prepared | Panel, scheduler: Scheduler | None = None
    ) -> TrainingJob:
        """``scheduler.train(cfg, data)``. Without a scheduler the job has a slot of its own,
        and the process that forks it exits at once (nothing stays warm for a next one)."""
        if scheduler is None:
            scheduler = Scheduler()
            scheduler._forker.keep = False
        return scheduler.train(cfg, data)

    # ------------------------------------------------------------ the page's side

    def cancel(self) -> None:
        """Stop after the current batch and keep the best weights so far; a queued job is
        dropped. A run cancelled before one full epoch ends with ``result`` None."""
        first = not self._cancel.is_set()
        self._cancel.set()
        self._send(cancel=True)
        self._scheduler._wake()
        if first and self._pid is not None:  # a process stuck in one long step is stopped
            timer = threading.Timer(KILL_AFTER, self._kill)
            timer.daemon = True
            timer.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests, CLI); True if it has ended."""
        return self._ended_event.wait(timeout)

    def snapshot(self) -> Progress:
        with self._lock:
            end = self._ended or time.monotonic()
            queued = self._phase == "queued"
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
                queued,
                self._phase,
                self._scheduler._queue_position(self) if queued else None,
                self._scheduler.max_trainings,
                tuple(self._batch_loss),
                self._scheduler.training_limit_s,
                self._timed_out,
            )

    # ------------------------------------------------------------ the runner's side

    def _run(self) -> None:
        try:
            self._run_in_slot()
        finally:
            self._ended_event.set()  # after the slot is free again

    def _run_in_slot(self) -> None:
        try:
            check_trainable(self.cfg, self.data)
        except LstmCoreError as e:  # no process for a run that cannot start
            self._finish("failed", error=str(e))
            return
        if not self._scheduler._acquire_training(self):
            self._finish("failed", error="cancelled while waiting for a free training slot")
            return
        limit = self._scheduler.training_limit_s
        if limit is not None:  # the clock starts with the slot: waiting in the queue is free
            self._limit_timer = threading.Timer(limit, self._time_up)
            self._limit_timer.daemon = True
            self._limit_timer.start()
        try:
            self._train_in_process()
        except Exception as e:  # noqa: BLE001 - a thread must report every failure
            self._finish("failed", error=f"{type(e).__name__}: {e}")
        finally:
            if self._limit_timer is not None:
                self._limit_timer.cancel()
            self._scheduler._release_training(self)

    def _time_up(self) -> None:
        """The training ran past the server's limit: stop it as a cancel does (best weights
        so far are kept), and say why."""
        if self._ended_event.is_set() or self._cancel.is_set():
            return
        with self._lock:
            self._timed_out = True
        self.cancel()

    def _train_in_process(self) -> None:
        here, there = socket.socketpair()
        with self._lock:
            self._phase = "training"
        try:
            self._pid = self._scheduler._forker.fork(there.fileno())
        finally:
            there.close()
        self._conn = Connection(here.detach())
        # the data pickles as the app's own objects (a Panel via Panel.__reduce__)
        job = {"config": self.cfg.to_yaml(), "data": self.data}
        job["threads"] = self._scheduler._budget()
        try:
            self._conn.send(job)
            if self._cancel.is_set():
                self._send(cancel=True)
            self._read()
        finally:
            self._conn.close()
            if self._cancel.is_set():  # it ended without a word after a cancel: cancelled
                self._finish("done")
            self._finish(
                "failed",
                error="the training process ended unexpectedly (out of "
                "memory, or stopped by the system); the server's log may say why",
            )

    def _read(self) -> None:
        """Apply the worker's messages until it ends (see ``lstm_core.worker``)."""
        assert self._conn is not None
        while True:
            try:
                msg = json.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                return
            if "batch" in msg:
                epoch, batch, batches = msg["batch"]
                with self._lock:
                    self._batch, self._batches = batch, batches
                    if msg.get("loss") is not None:
                        self._batch_loss.append((epoch - 1 + batch / batches, msg["loss"]))
                        if len(self._batch_loss) > MAX_LIVE_POINTS:  # every other point
                            self._batch_loss = self._batch_loss[::2]
                    self._phase = "validating" if batch == batches else "training"
            elif "epoch" in msg:
                epoch, train_loss, val_loss = msg["epoch"]
                with self._lock:
                    self._epoch, self._batch, self._phase = epoch, 0, "training"
                    self._train.append(train_loss)
                    self._val.append(val_loss)
            elif "result" in msg:
                data = self._conn.recv_bytes()
                self._finish("done", result=checkpoint.loads(data, "the trained model"))
                return
            elif "cancelled" in msg:
                self._finish("done")  # no epoch finished: no model, the app keeps its own
                return
            elif "error" in msg:
                self._finish("failed", error=msg["error"])
                return

    def _kill(self) -> None:
        if self._pid is not None and not self._ended_event.is_set():
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _send(self, **msg) -> None:
        """A control message to the worker, if it runs (cancel, thread count)."""
        conn = self._conn
        if conn is None:
            return
        with self._send_lock:
            try:
                conn.send_bytes(json.dumps(msg).encode())
            except (OSError, ValueError):
                pass  # it has just ended

    def _finish(
        self,
        status: Status,
        error: str | None = None,
        result: Forecaster | PanelForecaster | None = None,
    ) -> None:
        with self._lock:
            if self._status != "running":
                return
            self.result, self._error = result, error
            self._ended = time.monotonic()
            self._status, self._phase = status, "done"


def duration(seconds: float | None) -> str:
    """A span of time in words: seconds below two minutes, else minutes ("none" for None)."""
    if seconds is None:
        return "none"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _reap_until(ref: weakref.ref, stop: threading.Event, every: float) -> None:
    """The reaper thread: ``scheduler.reap()`` every ``every`` s while the scheduler lives."""
    while not stop.wait(every):
        scheduler = ref()
        if scheduler is None:
            return
        scheduler.reap()
        del scheduler


def check_trainable(cfg: Config, data: Prepared | Panel) -> None:
    """Raise unless ``data`` holds a training and a validation window (a panel: in at least
    one series), so that no process starts for a run that cannot.

    Raises:
        SeriesTooShort / DataError: why not, in words.
    """
    d, t = cfg.data, cfg.training
    if not isinstance(data, Panel):
        check_length(len(data.frame), d.lookback, d.horizon, t.val_fraction)
        return
    usable, skipped = prepare_series(data, data.config(cfg))
    if not usable:
        sid, why = next(iter(skipped.items()), ("", "the panel is empty"))
        raise DataError(
            f"none of the panel's {len(data)} series can be trained on (series {sid}: {why})"
        )


class _Forker:
    """The warm process that forks trainings (``python -m lstm_core.worker --serve``): torch and
    lstm_core are imported once, so a training starts in a fraction of a second, not ~4 s.
    Started on first use and again after it exited (idle for ``worker.IDLE_EXIT`` s)."""

    def __init__(self, nice: int, keep: bool = True) -> None:
        self.nice, self.keep = nice, keep
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None

    def fork(self, fd: int) -> int:
        """A new training process that runs the job sent on socket ``fd``; its pid."""
        with self._lock:
            for _ in range(2):  # a second try with a fresh process if this one just exited
                if self._proc is None or self._proc.poll() is not None:
                    self._start()
                assert self._control is not None
                try:
                    socket.send_fds(self._control, [b"job"], [fd])
                    answer = b""
                    while len(answer) < 8:
                        more = self._control.recv(8 - len(answer))
                        if not more:
                            raise ConnectionError("the serving process exited")
                        answer += more
                    if not self.keep:
                        self.close()
                    return int.from_bytes(answer, "little")
                except OSError:
                    self.close()
            raise OSError("could not start a training process")

    def _start(self) -> None:
        here, there = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
            # idle OpenMP workers sleep instead of spinning: a core another process holds
            # would otherwise stall every batch (benchmarks/README.md)
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
        }
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "lstm_core.worker", "--serve", str(there.fileno()),
                 "--nice", str(self.nice)],
                pass_fds=(there.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C of the server reaches it as a closed socket
            )
        finally:
            there.close()
        self._control = here

    def close(self) -> None:
        """Let the serving process exit (trainings it started run on)."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._proc is not None:
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None


Report = Callable[[float, str], None]  # (fraction done in [0, 1], what is being done)


class Task(Generic[T]):
    """One slow call, ``fn(report)``, in a background thread, for a page to poll."""

    def __init__(self, fn: Callable[[Report], T], label: str, scheduler: Scheduler):
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

    @classmethod
    def start(cls, fn: Callable[[], T], scheduler: Scheduler | None = None) -> Task[T]:
        """``fn()`` (no report) as a task; without a scheduler it has slots of its own."""
        return (scheduler or Scheduler()).run(lambda report: fn(), getattr(fn, "__name__", "task"))

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
        if not self._scheduler._acquire_task(self):
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
            self._scheduler._release_task(self)

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
        self._scheduler._wake()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until it has ended; True if it has."""
        return self._done.wait(timeout)


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
        self._forker = _Forker(nice)
        weakref.finalize(self, self._forker.close)
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

    def _budget(self) -> int:
        with self._cond:
            return threads.budget(len(self._trainings), self.cores)

    def _queue_position(self, job: TrainingJob) -> int | None:
        with self._cond:
            q = self._training_queue
            return q.index(job) + 1 if job in q else None

    def _wake(self) -> None:
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

    def _acquire_training(self, job: TrainingJob) -> bool:
        ok = self._acquire(job, self._training_queue, self._trainings, self.max_trainings)
        if ok:
            self._rebalance()
        return ok

    def _release_training(self, job: TrainingJob) -> None:
        self._release(job, self._trainings)
        self._rebalance()

    def _acquire_task(self, task: Task) -> bool:
        return self._acquire(task, self._task_queue, self._tasks, self.max_tasks)

    def _release_task(self, task: Task) -> None:
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
