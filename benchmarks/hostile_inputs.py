"""Hostile data files through the CLI reader, each in its own process: time and peak memory.

    python benchmarks/hostile_inputs.py                    # the corpus' data files + large probes
    python benchmarks/hostile_inputs.py --data tests/data/bad --no-probes
    python benchmarks/hostile_inputs.py --only xfd keys    # cases whose name holds a word

Each file runs as `python -m lstm_core train FILE --epochs 1` in a fresh child process (the
reader, as a user meets it). The figures are the child's wall time and its peak resident memory
(``ru_maxrss`` from ``os.wait4``, that child alone), imports included: the first line, a missing
file, shows what the imports alone take. Issue 17's target is that every hostile file is
refused (exit status 2, one ``error:`` line) within 30 s and 600 MB; the last column says so.

The probes are written to a temporary folder: files at the byte caps that are too large to keep
in the repository (a 190 MB header line, 99 million rows, 30 MB of JSON objects or keys, 32 MB
of nesting, a sheet of 90 MB of XML, 100 MB of Parquet metadata).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


PROBES = (
    "probe-header-190MB.csv",
    "probe-99M-rows.csv",
    "probe-10M-empty-objects.json",
    "probe-2M-distinct-keys.json",
    "probe-nested-32MB.json",
    "probe-sheet-90MB-xml.xlsx",
    "probe-parquet-footer-100MB.parquet",
)


def probes() -> dict[str, Callable[[], bytes]]:
    """Name (one of PROBES) -> a function that makes the probe's content."""
    from make_bad_corpus import xlsx_bomb

    return {
        "probe-header-190MB.csv": lambda: b"c," * 95_000_000 + b"c\n1\n",
        "probe-99M-rows.csv": lambda: b"v\n" + b"1\n" * 99_000_000,
        "probe-10M-empty-objects.json": lambda: b"[" + b"{}," * 10_000_000 + b"{}]",
        "probe-2M-distinct-keys.json": lambda: b"["
        + b",".join(b'{"k%d":1}' % i for i in range(2_000_000))
        + b"]",
        "probe-nested-32MB.json": lambda: b"[" * 16_000_000 + b"]" * 16_000_000,
        "probe-sheet-90MB-xml.xlsx": lambda: xlsx_bomb(rows=1_800_000),
        # a metadata length of 100 MB over zeros: what half a million columns would declare
        "probe-parquet-footer-100MB.parquet": lambda: b"PAR1"
        + bytes(100 << 20)
        + (100 << 20).to_bytes(4, "little")
        + b"PAR1",
    }


def run(path: Path, out: Path, timeout: float) -> dict:
    """One CLI run in a child process: exit status, last stderr line, seconds, peak RSS."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "lstm_core", "train", str(path), "--epochs", "1",
             "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        while True:  # wait4 gives this child's own rusage; poll so that a hang can be ended
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                os.kill(child.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    return {
        "rc": os.waitstatus_to_exitcode(status),
        "seconds": seconds,
        "peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "stderr": lines[-1] if lines else "",
        "lines": len(lines),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "tests" / "data" / "bad"),
                    help="folder of hostile files; its data-* files are run")
    ap.add_argument("--no-probes", action="store_true", help="only the folder's files")
    ap.add_argument("--only", nargs="*", default=[], help="cases whose name holds one of these")
    ap.add_argument("--limit-s", type=float, default=30.0)
    ap.add_argument("--limit-mb", type=float, default=600.0)
    ap.add_argument("--timeout", type=float, default=120.0, help="kill a case after this")
    ap.add_argument("--write", nargs=2, metavar=("PROBE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.write:
        name, path = args.write
        Path(path).write_bytes(probes()[name]())
        return []

    def wanted(name: str) -> bool:
        return not args.only or any(w in name for w in args.only)

    rows = []
    header = f"{'case':<42} {'KB':>8} {'rc':>3} {'s':>6} {'peak MB':>8}  ok  error line"
    print(header, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = [(p.name, lambda p=p: p) for p in sorted(Path(args.data).glob("data-*"))]
        if not args.no_probes:
            for name in PROBES:

                def write(name: str = name) -> Path:
                    # in a child: this process's own peak would count in every later child's
                    # ru_maxrss (fork copies it), so it never holds a probe or imports torch
                    path = tmp / name
                    subprocess.run([sys.executable, __file__, "--write", name, str(path)],
                                   check=True)
                    return path

                files.append((name, write))
        cases = [("baseline: missing file", lambda: tmp / "missing.csv")] + [
            (n, f) for n, f in files if wanted(n)
        ]
        for name, get in cases:
            path = get()
            size = path.stat().st_size if path.exists() else 0
            r = run(path, tmp / "m", args.timeout)
            if path.parent == tmp:
                path.unlink(missing_ok=True)
            r.update(case=name, kb=size / 1024)
            r["ok"] = (
                r["rc"] == 2
                and r["lines"] == 1
                and r["seconds"] <= args.limit_s
                and r["peak_mb"] <= args.limit_mb
            )
            rows.append(r)
            print(
                f"{name:<42} {r['kb']:>8.0f} {r['rc']:>3} {r['seconds']:>6.1f} "
                f"{r['peak_mb']:>8.0f}  {'yes' if r['ok'] else 'NO '} {r['stderr'][:90]}",
                flush=True,
            )
    hostile = rows[1:]
    print(
        f"\n{sum(r['ok'] for r in hostile)} of {len(hostile)} refused within "
        f"{args.limit_s:.0f} s and {args.limit_mb:.0f} MB; slowest "
        f"{max((r['seconds'] for r in hostile), default=0):.1f} s, largest "
        f"{max((r['peak_mb'] for r in hostile), default=0):.0f} MB (imports alone: "
        f"{rows[0]['peak_mb']:.0f} MB)"
    )
    return rows


if __name__ == "__main__":
    main()
