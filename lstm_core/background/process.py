"""Trainings in processes of their own, forked by a warm process that ``background.Scheduler``
starts once (through ``background.forker``).

    python -m lstm_core.background.process --serve FD [--nice N]

The serving process lowers its CPU priority by N (its trainings inherit it: page rendering in
the server comes first), imports torch and lstm_core once (about 4 s) and then, for each socket the
server passes it over FD, forks a process that runs one training on that socket and exits; it
answers with the new process's id. A closed FD (the server went away) ends it.

On a training's socket the server sends one pickled job (its own objects, never a user's file):
the config as YAML, the data (a Prepared series, or a Panel: one model over every series) and
the thread count. The training sends
back JSON messages only, and the fitted model as checkpoint bytes (``lstm_core.checkpoint``), so
the server unpickles nothing that came from here:

- ``{"batch": [epoch, batch, batches], "loss": running loss}`` at most every PROGRESS_EVERY
  seconds, and at the end of each epoch's batches (the loss is the epoch's so far, read only
  then: one host synchronisation per message, none per batch), with ``"refit": epochs`` while
  a panel's model is trained again on every row (``PanelForecaster._refit``: its own epochs,
  counted from 1);
- ``{"epoch": [epoch, train loss, val loss]}`` after each epoch;
- then one of ``{"result": n_bytes}`` followed by the checkpoint, ``{"cancelled": true}`` (stopped
  before one full epoch: no model), or ``{"error": message}``.

The server may send ``{"cancel": true}`` or ``{"threads": n}`` at any time; they are read
between batches. A thread count is capped by the cores other work leaves free
(``threads.free_cores``), and ignored when the config names ``training.threads``. A closed socket (the server went away) counts as a cancel.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import sys
import tempfile
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

import torch

from lstm_core import checkpoint, threads
from lstm_core.config import Config
from lstm_core.errors import LstmCoreError
from lstm_core.panel_forecaster import forecaster_for
from lstm_core.train import RunningLoss, StopTraining

PROGRESS_EVERY = 0.1  # seconds between batch messages
IDLE_EXIT = 300.0  # seconds without a training after which the serving process exits


class _Control:
    """Messages from the server, read between batches; raises StopTraining on a cancel."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.cancelled = False
        self.last = 0.0
        self.running = RunningLoss()
        self.fixed: int | None = None  # training.threads, when the config names a count

    def poll(self) -> None:
        try:
            while self.conn.poll():
                msg = json.loads(self.conn.recv_bytes())
                if msg.get("cancel"):
                    self.cancelled = True
                if msg.get("threads") and self.fixed is None:
                    # the server's fair share, less what other work keeps busy (this
                    # training's own threads are part of the load)
                    free = threads.free_cores(own=torch.get_num_threads())
                    torch.set_num_threads(min(int(msg["threads"]), free))  # this process's own
        except (EOFError, OSError):
            self.cancelled = True  # the server is gone
        if self.cancelled:
            raise StopTraining

    def send(self, **msg) -> None:
        self.conn.send_bytes(json.dumps(msg).encode())

    def on_batch(self, epoch: int, batch: int, batches: int) -> None:
        now = time.monotonic()
        if batch == batches or now - self.last >= PROGRESS_EVERY:
            self.last = now
            loss = self.running.value()
            refit = {"refit": self.running.refit_epochs} if self.running.refit_epochs else {}
            self.send(
                batch=[epoch, batch, batches], loss=loss if math.isfinite(loss) else None, **refit
            )
        self.poll()

    def on_epoch(self, epoch: int, train_loss: float, val_loss: float) -> None:
        self.send(epoch=[epoch, train_loss, val_loss])
        self.poll()


def run(conn: Connection) -> None:
    """Receive the job, train, send the result (see the module docstring)."""
    job = conn.recv()  # pickled by the server that started this process
    torch.set_num_threads(int(job["threads"]))  # this process alone: no other session's
    control = _Control(conn)
    try:
        cfg = Config.from_yaml(job["config"])
        control.fixed = cfg.training.threads
        torch.manual_seed(cfg.training.seed)  # dropout's generator: this process's own
        try:
            control.poll()
        except StopTraining:  # cancelled before it started
            control.send(cancelled=True)
            return
        model = forecaster_for(job["data"], cfg)
        fc = model.fit(job["data"], control.on_epoch, control.on_batch, running=control.running)
        if control.cancelled and not fc.history_.train_loss:
            control.send(cancelled=True)
            return
        with tempfile.TemporaryDirectory() as tmp:
            data = checkpoint.save(fc, "result", tmp).read_bytes()
        control.send(result=len(data))
        conn.send_bytes(data)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the server went away: nobody to tell
    except LstmCoreError as e:
        control.send(error=str(e))
    except Exception as e:  # noqa: BLE001 - the server must hear of every failure
        control.send(error=f"{type(e).__name__}: {e}")


def serve(control: socket.socket) -> None:
    """Fork one training per socket received over ``control``, until it closes."""
    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])  # imports what every training needs
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished trainings are reaped by the system
    control.settimeout(IDLE_EXIT)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 16, 1)
        except (OSError, EOFError):  # idle for IDLE_EXIT s (the server starts another), or gone
            return
        if not msg or not fds:
            return  # the server went away
        pid = os.fork()
        if pid == 0:  # the training: one job, then exit without running the server's cleanup
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            control.close()
            code = 1
            try:
                conn = Connection(fds[0])
                run(conn)
                conn.close()
                code = 0
            except BaseException:  # noqa: BLE001 - the server's log gets what the job could not send
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(fds[0])
        control.sendall(pid.to_bytes(8, "little"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ok = len(argv) in (2, 4) and argv[0] == "--serve" and argv[1].isdigit()
    if ok and len(argv) == 4:
        ok = argv[2] == "--nice" and argv[3].isdigit()
    if not ok:
        print(f"usage: python -m lstm_core.background.process --serve FD [--nice N] "
              f"({Path(__file__).name} is started by lstm_core.background.Scheduler, not by "
              "hand)", file=sys.stderr)
        return 2
    if len(argv) == 4:
        os.nice(int(argv[3]))  # before the imports: they are work too
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C ends it by closing FD
    with socket.socket(fileno=int(argv[1])) as control:
        serve(control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
