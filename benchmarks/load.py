"""A bounded load test of the real app server on loopback: page latency while others train.

    python benchmarks/load.py                          # 3 trainings, 2 browsing sessions
    python benchmarks/load.py --trainings 3 --browsers 2 --rounds 4 --json load.json
    python benchmarks/load.py --app-dir /tmp/old-checkout      # the same test of another version

Starts ``streamlit run app.py`` on 127.0.0.1 (a free port; nothing leaves the machine) and talks
to it as browsers do, over its websocket with Streamlit's own protocol messages (BackMsg /
ForwardMsg), so that a 2-core machine measures the server, not a browser's rendering:

1. idle: the browsing sessions load every page (``--pages``) ``--rounds`` times each;
2. load: ``--trainings`` other sessions open the Train page and press "Train a new model",
   poll its progress fragment as a browser does (every ``auto_rerun`` the server asks for),
   and press it again when a run ends, so that the trainings keep running; meanwhile the
   browsing sessions load every page again ``--rounds`` times.

A page load is the time from the request (a navigation) to the server's ``script_finished``:
the page's whole script run and every message it sends, not the browser's drawing. Errors are
exceptions shown on a page, failed runs and timeouts. RSS is sampled every 0.5 s for the server
and for all its descendants together (the training processes and the process that forks them).
Target (issue 10): with 3 trainings running, another session's page loads within 2x its idle
time (median).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.serve import free_port, streamlit_command  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("forecast", "data", "explain", "settings", "training")
TIMEOUT = 180.0  # seconds a page may take before it counts as an error
TRAIN = "Train a new model"  # the Train page's button


def start_server(port: int, app_dir: Path = ROOT) -> subprocess.Popen:
    cmd = streamlit_command(port)
    proc = subprocess.Popen(cmd, cwd=app_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit("the server did not start within 60 s")


class Session:
    """One browser tab, speaking the app's websocket protocol."""

    def __init__(self, port: int):
        self.ws: ClientConnection = connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=["streamlit"],
            origin=f"http://127.0.0.1:{port}",
            max_size=None,
            open_timeout=60,
        )
        self.buttons: dict[str, tuple[str, bool]] = {}  # label -> (widget id, disabled)
        self.labels: set[str] = set()  # buttons drawn by the last run
        self.auto: dict[str, float] = {}  # fragment id -> seconds between its reruns
        self.errors: list[str] = []

    def run(self, page: str, click: str | None = None, fragment: str | None = None) -> float:
        """Rerun ``page`` (pressing the button labelled ``click``, or only ``fragment``) and
        wait for the run to finish; its seconds."""
        msg = BackMsg()
        state = msg.rerun_script
        state.page_name = page
        if fragment:
            state.fragment_id, state.is_auto_rerun = fragment, True
        if click:
            widget = state.widget_states.widgets.add()
            widget.id, widget.trigger_value = self.buttons[click][0], True
        if not fragment:
            self.buttons.clear()
            self.auto.clear()
        self.labels = set()
        start = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        while True:
            fwd = ForwardMsg.FromString(self.ws.recv(timeout=TIMEOUT))
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                if el.WhichOneof("type") == "button":
                    self.buttons[el.button.label] = (el.button.id, el.button.disabled)
                    self.labels.add(el.button.label)
                elif el.WhichOneof("type") == "exception":
                    self.errors.append(f"{page}: {el.exception.message[:200]}")
            elif kind == "auto_rerun":
                self.auto[fwd.auto_rerun.fragment_id] = fwd.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                self.auto.clear()
            elif kind == "script_finished":
                status = fwd.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    self.errors.append(f"{page}: the script failed")
                if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    return time.perf_counter() - start

    def close(self) -> None:
        self.ws.close()


class Browser(threading.Thread):
    """A session that loads every page, ``rounds`` times per block: (block, page, seconds)."""

    def __init__(self, port: int, pages: tuple[str, ...], out: list, errors: list):
        super().__init__(daemon=True)
        self.port, self.pages, self.out, self.errors = port, pages, out, errors
        self.go, self.done = threading.Semaphore(0), threading.Semaphore(0)
        self.block: tuple[str, int] = ("warm-up", 1)

    def run(self) -> None:
        try:
            s = Session(self.port)
            while True:
                self.go.acquire()
                name, rounds = self.block
                if name == "stop":
                    break
                for _ in range(rounds):
                    for page in self.pages:
                        self.out.append((name, page, s.run(page)))
                self.done.release()
            self.errors.extend(s.errors)
            s.close()
        except Exception as e:  # noqa: BLE001 - a load test counts every failure
            self.errors.append(f"browsing: {type(e).__name__}: {e}")
            self.done.release()


class Trainer(threading.Thread):
    """A session that keeps one training running while ``want`` is set: it presses Train,
    polls the progress fragment as a browser does (every ``auto_rerun`` the server asks for),
    presses Train again when a run ends, and Cancel when ``want`` is cleared."""

    def __init__(self, port: int, errors: list, poll: bool = True):
        super().__init__(daemon=True)
        self.port, self.errors, self.poll = port, errors, poll
        self.want, self.training, self.stop = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )
        self.started = 0

    def run(self) -> None:
        try:
            s = Session(self.port)
            s.run("training")
            while not self.stop.is_set():
                cancel = next((b for b in s.buttons if b.startswith("Cancel")), None)
                if not self.want.is_set():
                    if cancel:
                        s.run("training", click=cancel)
                    else:
                        self.training.clear()
                    self.stop.wait(0.5)
                    s.run("training")
                    continue
                if cancel or s.buttons.get(TRAIN, ("", True))[1]:  # a run of this session goes
                    self.training.set()
                    fragment = next(iter(s.auto), None)
                    if self.poll and fragment:
                        time.sleep(s.auto[fragment])
                        s.run("training", fragment=fragment)
                        if any(label.startswith("Cancel") for label in s.labels):
                            continue
                    else:
                        self.want.wait(5.0)  # a background tab: the page reloads now and then
                    s.run("training")
                    continue
                s.run("training", click=TRAIN)
                self.started += 1
            self.errors.extend(s.errors)
            s.close()
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"training: {type(e).__name__}: {e}")


def rss_tree(pid: int) -> tuple[float, float]:
    """(RSS of ``pid``, RSS of all its descendants) in MB, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as fh:
                rss[int(entry)] = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, IndexError, ValueError):
            continue
    below, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return rss.get(pid, 0.0), sum(rss.get(p, 0.0) for p in below)


def summary(samples: list[tuple[str, float]]) -> dict:
    times = sorted(t for _, t in samples)
    if not times:
        return {"n": 0}
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"n": len(times), "p50": statistics.median(times), "p95": p95, "max": times[-1]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trainings", type=int, default=3, help="sessions that keep training")
    ap.add_argument("--browsers", type=int, default=2, help="sessions that load pages")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the pages per block")
    ap.add_argument("--blocks", type=int, default=2, help="idle + loaded block pairs")
    ap.add_argument("--pages", nargs="+", default=list(PAGES))
    ap.add_argument(
        "--no-poll",
        action="store_true",
        help="training sessions do not poll their progress (a background tab)",
    )
    ap.add_argument(
        "--app-dir",
        type=Path,
        default=ROOT,
        help="the checkout whose app.py to serve (default: this one), to compare",
    )
    ap.add_argument("--json", help="also write the figures to this file")
    return ap.parse_args(argv)


def figures(
    args: argparse.Namespace,
    pages: tuple[str, ...],
    loads: list[tuple[str, str, float]],
    rss_samples: list[tuple[str, float, float]],
    errors: list[str],
    started: int,
) -> dict:
    """The run's figures: page load times per block kind, their ratio, peak memory, errors."""
    idle_s = summary([(p, t) for b, p, t in loads if b == "idle"])
    loaded_s = summary([(p, t) for b, p, t in loads if b == "loaded"])
    ratio = loaded_s.get("p50", float("nan")) / idle_s.get("p50", float("nan"))
    per_block = args.browsers * len(pages) * args.rounds  # page loads per block, in order

    def peak(name: str, column: int) -> float:
        return max((r[column] for r in rss_samples if r[0] == name), default=0.0)

    out = {
        "trainings": args.trainings,
        "browsers": args.browsers,
        "rounds": args.rounds,
        "blocks": args.blocks,
        "poll": not args.no_poll,
        "trainings_started": started,
        "idle": idle_s,
        "loaded": loaded_s,
        "ratio_p50": ratio,
        "errors": errors,
        "server_rss_mb": {"idle": peak("idle", 1), "loaded": peak("loaded", 1)},
        "children_rss_mb": {"idle": peak("idle", 2), "loaded": peak("loaded", 2)},
        "block_p50": [
            summary([(p, t) for b, p, t in loads[i : i + per_block]]).get("p50")
            for i in range(args.browsers * len(pages), len(loads), per_block)
        ],
        "per_page_p50": {
            p: [
                summary([(q, t) for b, q, t in loads if b == name and q == p]).get("p50")
                for name in ("idle", "loaded")
            ]
            for p in pages
        },
    }
    return out


def print_table(out: dict, args: argparse.Namespace) -> None:
    """The figures as JSON, then as the README's table and ratio."""
    print(json.dumps(out, indent=1))
    print(
        "\n| blocks | page loads | p50 (s) | p95 (s) | server RSS (MB) | training processes "
        "RSS (MB) | errors |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, st in (("idle", out["idle"]), ("loaded", out["loaded"])):
        who = f"{args.browsers} browsing" + (
            f" + {args.trainings} training" if name == "loaded" else ", nobody training"
        )
        print(
            f"| {who} | {st['n']} | {st['p50']:.2f} | {st['p95']:.2f} | "
            f"{out['server_rss_mb'][name]:.0f} | {out['children_rss_mb'][name]:.0f} | "
            f"{len(out['errors']) if name == 'loaded' else ''} |"
        )
    print(
        f"\nloaded / idle (p50): {out['ratio_p50']:.2f}x (target <= 2); trainings started: "
        f"{out['trainings_started']}"
    )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    pages = tuple(args.pages)
    port = free_port()
    server = start_server(port, args.app_dir)
    rss_samples: list[tuple[str, float, float]] = []
    sampling = threading.Event()
    phase = ["warm-up"]

    def sample() -> None:
        while not sampling.wait(0.5):
            rss_samples.append((phase[0], *rss_tree(server.pid)))

    threading.Thread(target=sample, daemon=True).start()
    errors: list[str] = []
    loads: list[tuple[str, str, float]] = []
    browsers = [Browser(port, pages, loads, errors) for _ in range(args.browsers)]
    trainers = [Trainer(port, errors, not args.no_poll) for _ in range(args.trainings)]

    def block(name: str, rounds: int) -> None:
        phase[0] = name
        for b in browsers:
            b.block = (name, rounds)
            b.go.release()
        for b in browsers:
            b.done.acquire()

    try:
        for t in browsers + trainers:
            t.start()
        block("warm-up", 1)  # first runs import every page's modules and fill the caches
        for _ in range(args.blocks):
            # idle and loaded blocks alternate, so that other load on the machine (it varies)
            # falls on both
            block("idle", args.rounds)
            for t in trainers:
                t.want.set()
            deadline = time.monotonic() + 120
            while not all(t.training.is_set() for t in trainers) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # past the training processes' start
            block("loaded", args.rounds)
            for t in trainers:
                t.want.clear()
            deadline = time.monotonic() + 60
            while any(t.training.is_set() for t in trainers) and time.monotonic() < deadline:
                time.sleep(0.2)
        for b in browsers:
            b.block = ("stop", 0)
            b.go.release()
        for t in trainers:
            t.stop.set()
        for t in browsers + trainers:
            t.join(TIMEOUT)
    finally:
        sampling.set()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    out = figures(args, pages, loads, rss_samples, errors, sum(t.started for t in trainers))
    print_table(out, args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
