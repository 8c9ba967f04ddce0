"""The warm process that forks trainings (``python -m lstm_core.background.process --serve``),
seen from the server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path


class Forker:
    """The warm process that forks trainings (``background.process``): torch and lstm_core are
    imported once, so a training starts in a fraction of a second, not ~4 s. Started on first
    use and again after it exited (idle for ``process.IDLE_EXIT`` s)."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
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
                    return int.from_bytes(answer, "little")
                except OSError:
                    self.close()
            raise OSError("could not start a training process")

    def _start(self) -> None:
        here, there = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])  # the repository: lstm_core's parent
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
            # idle OpenMP workers sleep instead of spinning: a core another process holds
            # would otherwise stall every batch (benchmarks/README.md)
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
        }
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "lstm_core.background.process", "--serve",
                 str(there.fileno()), "--nice", str(self.nice)],
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
