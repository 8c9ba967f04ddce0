"""Interpretation and change point detection at scale: time and peak memory at 10k, 100k and
1M steps.

    python benchmarks/scale.py                       # 10k, 100k, 1M; every stage, best of 2
    python benchmarks/scale.py --sizes 10000 100000 --repeats 3
    python benchmarks/scale.py --exact               # also every window at every size

Each size runs in a fresh process (``--one``), so its peak RSS (``ru_maxrss``) is that run's
alone; the RSS after start-up (Python, torch, pandas, the model) is printed beside it. The model
is the one detection trains for a long series (``detection_config``: lookback 32, hidden 16,
bidirectional, 2 layers), fitted once on the first rows of a synthetic series with level
changes (two columns, hourly), and saved as a checkpoint that each run loads. Stages:

- prepare: ``Forecaster.prepare`` (sorting, frequency, gaps) of the raw frame;
- trace: ``interpret.trace`` (attention and gate of the windows, stitched onto the timeline);
  above ``interpret.MAX_WINDOWS`` windows it runs every k-th window (the table says k); with
  ``--exact``, every window as well;
- detect raw: ``changepoints.detect`` with the default features (the series' columns);
- detect combined: the gate's components as well, from the trace above (no second pass);
- read CSV, prepare CSV: ``read_table`` of an ETT-like CSV (a date and 7 numeric columns, as
  many rows as steps) from disk, and ``prepare`` of it (after the peak RSS above is taken).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """Resident memory now, in MB (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_mb()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def series(n: int, seed: int = 0):
    """(frame with an hourly time column and two columns, change points)."""
    import pandas as pd

    from lstm_core.changepoints.synthetic import pw_change

    s = pw_change("level", n=n, n_features=2, n_bkps=5, seed=seed)
    frame = pd.DataFrame(s.signal, columns=["a", "b"])
    frame.insert(0, "time", pd.date_range("2000-01-01", periods=n, freq="h"))
    return frame, list(s.change_points)


def fit_model(path: Path) -> None:
    """The detection model of a long series, fitted on its first 5,000 rows (a few seconds)."""
    import torch

    from lstm_core import checkpoint
    from lstm_core.changepoints.pipeline import detection_config
    from lstm_core.forecaster import Forecaster

    frame, _ = series(5_000)
    cfg, _ = detection_config(1_000_000)
    cfg = cfg.replace(
        data={"time_col": "time", "targets": ["a"], "covariates": ["b"]}, training={"epochs": 2}
    )
    torch.manual_seed(0)
    checkpoint.save(Forecaster(cfg).fit(frame), path.stem, path.parent)


def one(n: int, model: Path, exact: bool, repeats: int, csv: bool = True) -> dict:
    """Every stage at ``n`` steps in this process; the best of ``repeats`` times for each."""
    import torch
    from ett_like import table  # same folder

    from lstm_core import checkpoint, interpret
    from lstm_core.changepoints import detect
    from lstm_core.config import DataConfig
    from lstm_core.data.prepare import prepare
    from lstm_core.data.readers import read_table

    fc = checkpoint.load(model)
    frame, bkps = series(n)
    out: dict = {"steps": n, "rss_start_mb": rss_mb()}

    def timed(name: str, fn):
        best, result = float("inf"), None
        for _ in range(repeats):
            start = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - start)
        out[name + "_s"] = best
        out[name + "_peak_mb"] = peak_mb()  # the high-water mark after this stage
        return result

    prep = timed("prepare", lambda: fc.prepare(frame))
    out["rss_prepared_mb"] = rss_mb()
    tr = timed("trace", lambda: interpret.trace(fc, prep))
    out["stride"] = tr.stride
    det = timed("detect_raw", lambda: detect(prep, fc, features="raw", known=bkps))
    out["f1_raw"] = det.metrics.f1 if det.metrics else None
    det = timed(
        "detect_combined", lambda: detect(prep, fc, trace=tr, features="combined", known=bkps)
    )
    out["f1_combined"] = det.metrics.f1 if det.metrics else None
    del tr, det
    if exact:
        tr = timed("trace_exact", lambda: interpret.trace(fc, prep, max_windows=None))
        del tr
    out["peak_rss_mb"] = peak_mb()
    out["threads"] = torch.get_num_threads()
    if csv:  # last, so that the peak above is interpretation and detection's alone
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "table.csv"
            table(n).to_csv(path, index=False, float_format="%.6f")
            out["csv_mb"] = path.stat().st_size / 2**20
            df = timed("read_csv", lambda: read_table(path))
            columns = DataConfig(targets=("OT",), covariates=tuple(df.columns[1:-1]))
            timed("prepare_csv", lambda: prepare(df, columns))
    if torch.cuda.is_available():
        out["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--exact", action="store_true", help="also trace every window")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, Path(args.model), args.exact, args.repeats)))
        return []
    import torch
    from throughput import commit, machine  # same folder

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "scale.safetensors"
        fit_model(model)
        for n in args.sizes:
            cmd = [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--model",
                str(model),
                "--repeats",
                str(args.repeats),
            ] + (["--exact"] if args.exact else [])
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"{n} steps failed:\n{done.stderr[-2000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    print(
        f"\n# {time.strftime('%Y-%m-%d %H:%M')}, commit {commit()}, "
        f"{machine(torch.device('cpu'))}; best of {args.repeats}"
    )
    exact = " trace, every window (s) |" if args.exact else ""
    csv_rows = [r for r in rows if "read_csv_s" in r]
    print(
        "| steps | prepare (s) | trace (s) | windows run | detect raw (s) | detect combined (s) "
        f"|{exact} trace + detect (s) | µs per step | peak RSS (MB) | RSS at start (MB) |"
    )
    print("| ---: " * (10 + bool(args.exact)) + "|")
    for r in rows:
        total = r["trace_s"] + r["detect_raw_s"] + r["detect_combined_s"]
        every = "every window" if r["stride"] == 1 else f"every {r['stride']}th"
        ex = f" {r['trace_exact_s']:.2f} |" if args.exact else ""
        print(
            f"| {r['steps']:,} | {r['prepare_s']:.2f} | {r['trace_s']:.2f} | {every} | "
            f"{r['detect_raw_s']:.2f} | {r['detect_combined_s']:.2f} |{ex} {total:.2f} | "
            f"{1e6 * total / r['steps']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{r['rss_start_mb']:.0f} |"
        )
    if csv_rows:
        print("\n| rows x 8 columns | CSV (MB) | read_table (s) | prepare (s) |")
        print("| ---: | ---: | ---: | ---: |")
        for r in csv_rows:
            print(
                f"| {r['steps']:,} | {r['csv_mb']:.0f} | {r['read_csv_s']:.2f} | "
                f"{r['prepare_csv_s']:.2f} |"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
