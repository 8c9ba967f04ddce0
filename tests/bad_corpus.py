"""Runs the CLI on every hostile input of tests/data/bad/ (and a few that cannot be files) in one
process, and reports per case: exit status, stderr, wall time and peak-RSS increase.

    python -m tests.bad_corpus          # a table
    python -m tests.bad_corpus --json   # one JSON object per case (what test_bad_inputs reads)

Memory: torch, pandas and the CLI are imported first (importing torch alone costs ~300 MB), then
before each case the kernel's peak-RSS mark is reset (``echo 5 > /proc/self/clear_refs``, Linux
>= 4.0) and the current RSS read; after it, the peak (VmHWM) is read. The increase is what that
case took on top of what was already resident. Elsewhere the increase is reported as None.
Time: wall-clock of ``main(argv)`` in this process, imports excluded.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad"
DEMO_CHECKPOINT = ROOT / "checkpoints" / "demo.safetensors"


def cases(tmp: Path) -> dict[str, list[str]]:
    """Case name -> argv. Files by prefix; devices, a FIFO and unwritable outputs by hand."""
    out = tmp / "out"
    by_prefix = {
        "config-": lambda f: ["train", "demo:regimes", "--config", f, "--epochs", "1", "--out", out],
        "checkpoint-": lambda f: ["forecast", "demo:regimes", "--checkpoint", f],
        "data-": lambda f: ["train", f, "--epochs", "1", "--out", out],
    }
    found = {}
    for p in sorted(BAD.iterdir()):
        for prefix, argv in by_prefix.items():
            if p.name.startswith(prefix):
                found[p.name] = [str(a) for a in argv(p)]
    fifo = tmp / "fifo.csv"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        found["fifo-as-data"] = ["train", str(fifo), "--epochs", "1", "--out", str(out)]
    if Path("/dev/zero").exists():
        found["dev-zero-as-data"] = ["train", "/dev/zero", "--epochs", "1", "--out", str(out)]
        found["dev-zero-as-checkpoint"] = ["forecast", "demo:regimes", "--checkpoint", "/dev/zero"]
        found["dev-zero-as-config"] = ["train", "demo:nile", "--config", "/dev/zero"]
    found["out-under-a-file"] = [
        "train",
        "demo:nile",
        "--epochs",
        "1",
        "--out",
        str(BAD / "data-inf.csv" / "m"),
    ]
    found["csv-is-a-folder"] = [
        "forecast",
        "demo:regimes",
        "--checkpoint",
        str(DEMO_CHECKPOINT),
        "--csv",
        str(tmp),
    ]
    if Path("/dev/full").exists():
        found["csv-is-a-device"] = [
            "forecast",
            "demo:regimes",
            "--checkpoint",
            str(DEMO_CHECKPOINT),
            "--csv",
            "/dev/full",
        ]
    return found


def _status(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run(argv: list[str]) -> dict:
    """One CLI run in this process: rc, stdout, stderr, seconds (wall and CPU), RSS before and
    peak increase."""
    from lstm_core.cli import main

    err, out = io.StringIO(), io.StringIO()
    measured = _reset_peak()
    before = _status("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(argv)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = _status("VmHWM")
    grew = peak - before if measured and peak is not None and before is not None else None
    return {
        "rc": rc,
        "stderr": err.getvalue(),
        "stdout": out.getvalue(),
        "seconds": seconds,
        "cpu_seconds": cpu,  # this process's CPU time: what other jobs on the machine don't change
        "rss_before": before,
        "rss_increase": grew,
    }


def _warm_up() -> None:
    """Pay torch's lazy imports before any case is timed: the first network built on the meta
    device imports about 800 modules (sympy among them), start-up work that is not any case's."""
    from lstm_core.config import Config
    from lstm_core.network import build_net

    build_net(Config().replace(lstm={"hidden_size": 8}), 1, 1, meta=True)


def run_all() -> dict[str, dict]:
    import lstm_core.cli  # noqa: F401  (imports first: their memory is not any case's)

    _warm_up()

    with tempfile.TemporaryDirectory() as tmp:
        results = {"baseline: missing file": run(["train", str(Path(tmp) / "missing.csv")])}
        for name, argv in cases(Path(tmp)).items():
            results[name] = run(argv)
    return results


def main() -> None:
    results = run_all()
    if "--json" in sys.argv:
        print(json.dumps(results))
        return
    mb = 1 << 20
    print(f"{'case':<48} {'rc':>3} {'ms':>7} {'+RSS MB':>8}  error line (length)")
    for name, r in results.items():
        line = r["stderr"].strip().splitlines()[-1] if r["stderr"].strip() else ""
        grew = "n/a" if r["rss_increase"] is None else f"{r['rss_increase'] / mb:.1f}"
        print(
            f"{name:<48} {r['rc']:>3} {1000 * r['seconds']:>7.1f} {grew:>8}  "
            f"({len(line)}) {line[:70]}"
        )
    base = results.pop("baseline: missing file")  # its first call pays the lazy imports
    slowest = max(r["seconds"] for r in results.values())
    largest = max((r["rss_increase"] or 0) for r in results.values())
    print(
        f"\n{len(results)} cases; RSS after imports {base['rss_before'] / mb:.0f} MB; "
        f"slowest {1000 * slowest:.0f} ms; largest RSS increase {largest / mb:.1f} MB"
    )


if __name__ == "__main__":
    main()
