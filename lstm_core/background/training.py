"""One training in a process of its own (``TrainingJob``), and ``Progress``, the numbers a page
reads from it (the words are ``ui.background.training_text``'s)."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Literal, Protocol

from lstm_core import checkpoint
from lstm_core.background.forker import Forker
from lstm_core.config import Config
from lstm_core.data.prepare import Prepared
from lstm_core.data.windows import check_length
from lstm_core.errors import DataError, LstmCoreError
from lstm_core.forecaster import Forecaster
from lstm_core.panel import Panel
from lstm_core.panel_forecaster import PanelForecaster, prepare_series

Status = Literal["running", "done", "failed"]
Phase = Literal["queued", "training", "validating", "refitting", "done"]
MAX_LIVE_POINTS = 2000  # points of the live loss curve kept (thinned when more arrive)
KILL_AFTER = 30.0  # seconds a cancelled training may take to stop before it is killed


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
    # a panel's model trained again on every row after validation: (its epoch, its epochs)
    refit: tuple[int, int] = (0, 0)

    @property
    def fraction(self) -> float:
        """Share of the configured epochs done, in [0, 1]."""
        if self.status != "running":
            return 1.0
        within = self.batch / self.batches if self.batches else 0.0
        if self.phase == "refitting":  # its own epochs
            return min(1.0, (self.refit[0] - 1 + within) / max(self.refit[1], 1))
        return min(1.0, (self.epoch + within) / max(self.epochs, 1))


class TrainingSlots(Protocol):
    """What a training asks of its scheduler (``scheduler.Scheduler``)."""

    max_trainings: int
    training_limit_s: float | None
    forker: Forker

    def acquire_training(self, job: TrainingJob) -> bool: ...

    def release_training(self, job: TrainingJob) -> None: ...

    def queue_position(self, job: TrainingJob) -> int | None: ...

    def budget(self) -> int: ...

    def wake(self) -> None: ...


class TrainingJob:
    """One training, queued by a Scheduler and run in a process of its own: one series
    (``data`` a Prepared) or a panel (``data`` a Panel: one global model)."""

    def __init__(self, cfg: Config, data: Prepared | Panel, scheduler: TrainingSlots):
        self.cfg, self.data = cfg, data
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._cancel = threading.Event()
        self._ended_event = threading.Event()
        self._changed = threading.Condition()  # notified on every progress message and the end
        self._thread = threading.Thread(target=self._run, name="lstm-training", daemon=True)
        self._conn: Connection | None = None
        self._pid: int | None = None  # the training process, once forked
        self._status: Status = "running"
        self._phase: Phase = "queued"
        self._epoch = self._batch = self._batches = 0
        self._refit = (0, 0)  # (epoch, epochs) of a panel's refit once it runs
        self._train: list[float] = []
        self._val: list[float] = []
        self._batch_loss: list[tuple[float, float]] = []
        self._error: str | None = None
        self._started = time.monotonic()
        self._ended: float | None = None
        self._timed_out = False
        self._limit_timer: threading.Timer | None = None
        self.result: Forecaster | PanelForecaster | None = None  # set once, when the job is done

    # ------------------------------------------------------------ the page's side

    def cancel(self) -> None:
        """Stop after the current batch and keep the best weights so far; a queued job is
        dropped. A run cancelled before one full epoch ends with ``result`` None."""
        first = not self._cancel.is_set()
        self._cancel.set()
        self._send(cancel=True)
        self._scheduler.wake()
        if first and self._pid is not None:  # a process stuck in one long step is stopped
            timer = threading.Timer(KILL_AFTER, self._kill)
            timer.daemon = True
            timer.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests, CLI); True if it has ended."""
        return self._ended_event.wait(timeout)

    def wait_for(
        self, condition: Callable[[Progress], bool], timeout: float | None = None
    ) -> bool:
        """Block until ``condition(self.snapshot())`` holds, checked at every progress message
        and at the end (tests wait on it instead of sleeping); True if it does."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self.snapshot()), timeout)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

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
                self._scheduler.queue_position(self) if queued else None,
                self._scheduler.max_trainings,
                tuple(self._batch_loss),
                self._scheduler.training_limit_s,
                self._timed_out,
                self._refit,
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
        if not self._scheduler.acquire_training(self):
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
            self._scheduler.release_training(self)

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
            self._pid = self._scheduler.forker.fork(there.fileno())
        finally:
            there.close()
        self._notify()
        self._conn = Connection(here.detach())
        # the data pickles as the app's own objects (a Panel via Panel.__reduce__)
        job = {"config": self.cfg.to_yaml(), "data": self.data}
        job["threads"] = self._scheduler.budget()
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
        """Apply the worker's messages until it ends (see ``background.process``)."""
        assert self._conn is not None
        while True:
            try:
                msg = json.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                return
            if "batch" in msg and msg.get("refit"):  # the refit: its own epochs, no curve
                epoch, batch, batches = msg["batch"]
                with self._lock:
                    self._refit = (epoch, int(msg["refit"]))
                    self._batch, self._batches, self._phase = batch, batches, "refitting"
                self._notify()
            elif "batch" in msg:
                epoch, batch, batches = msg["batch"]
                with self._lock:
                    self._batch, self._batches = batch, batches
                    if msg.get("loss") is not None:
                        self._batch_loss.append((epoch - 1 + batch / batches, msg["loss"]))
                        if len(self._batch_loss) > MAX_LIVE_POINTS:  # every other point
                            self._batch_loss = self._batch_loss[::2]
                    self._phase = "validating" if batch == batches else "training"
                self._notify()
            elif "epoch" in msg:
                epoch, train_loss, val_loss = msg["epoch"]
                with self._lock:
                    self._epoch, self._batch, self._phase = epoch, 0, "training"
                    self._train.append(train_loss)
                    self._val.append(val_loss)
                self._notify()
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
        self._notify()


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
