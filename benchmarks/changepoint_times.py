"""The change point timings ``benchmarks/changepoints.py --timings-only`` prints: the CLI's
import time, ``detect`` on a 1,500-step series (with and without a model, with the shipped
checkpoint) and on a 20,000-step one (each detector), and the whole CLI command on the demo."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_core import changepoints as cp


def timings() -> None:
    """Import time of the CLI, and detect() on a 1,500-step series three ways."""
    from lstm_core import checkpoint
    from lstm_core.data.demos import load_demo

    cmd = [sys.executable, "-c", "import lstm_core.cli"]
    imports = min(_wall(cmd) for _ in range(3))
    demo = load_demo("regimes")
    frame = synthetic_frame(1500)
    out = {"import lstm_core.cli (CLI's libraries)": imports}
    for label, kwargs in (
        ("detect 1,500 steps, features raw (no model)", {"features": "raw"}),
        ("detect 1,500 steps, combined, model trained", {"features": "combined"}),
    ):
        start = time.perf_counter()
        d = demo.config.data  # the demo's columns; the default detection model, not its config
        cp.detect(frame, time_col=d.time_col, columns=[*d.targets, *d.covariates], **kwargs)
        out[label] = time.perf_counter() - start
    fc = checkpoint.load(ROOT / "checkpoints" / "demo.safetensors")
    for features in ("raw", "combined"):
        start = time.perf_counter()
        cp.detect(frame, fc, features=features)
        out[f"detect 1,500 steps, {features}, shipped checkpoint"] = time.perf_counter() - start
    rng = np.random.default_rng(5)
    long = pd.DataFrame(
        {"y": np.where(np.arange(20_000) < 12_000, 0.0, 2.0) + rng.normal(size=20_000)}
    )
    for label, kwargs in (
        ("detect 20,000 steps, union, features raw (no model)", {"features": "raw"}),
        ("detect 20,000 steps, union (default), model trained", {}),
        ("detect 20,000 steps, search, no model", {"detector": "search"}),
        ("detect 20,000 steps, tests, no model", {"detector": "tests"}),
        (
            "detect 20,000 steps, union on the gate, model trained",
            {"detector": "union", "features": "gate"},
        ),
    ):
        start = time.perf_counter()
        cp.detect(long, **kwargs)
        out[label] = time.perf_counter() - start
    cli = [sys.executable, "-m", "lstm_core", "detect", "demo:regimes", "--json"]
    out["python -m lstm_core detect demo:regimes (1,200 steps, whole command)"] = _wall(cli)
    raw = [*cli, "--features", "raw"]
    out["python -m lstm_core detect demo:regimes --features raw (no model)"] = _wall(raw)
    print("\n== timings (seconds, this machine)")
    for k, v in out.items():
        print(f"  {k:70s} {v:6.2f}")
    ratio = out["detect 1,500 steps, combined, model trained"] / imports
    print(f"  detect with training / CLI import time: {ratio:.1f}x (target <= 4x)")


def synthetic_frame(n: int) -> pd.DataFrame:
    from lstm_core.data.demos import synthetic as regimes

    df, _ = regimes(n=n)
    return df


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def print_times(cases: list, every: bool, keys: tuple[str, ...]) -> None:
    """Seconds per series by set and step (``keys`` of each case's ``seconds``; every
    series' with ``every``): what ``changepoints.py`` prints last."""
    print(
        "\n== times (seconds per series: detect without a model: union, search, tests; "
        "representation = training the detection model and tracing)"
    )
    for g in sorted({c.group for c in cases}):
        members = [c for c in cases if c.group == g]
        for key in keys:
            t = [c.seconds[key] for c in members if key in c.seconds]
            if t:
                worst = max(members, key=lambda c: c.seconds.get(key, -1))
                print(
                    f"  {g:12s} {key:15s} mean {np.mean(t):6.2f}  max {max(t):6.2f} "
                    f"({worst.name}, {len(worst.raw)} rows)"
                )
    if every:
        for c in cases:
            print(
                f"  {c.group:10s} {c.name:36s} {len(c.raw):6d} rows  "
                + "  ".join(f"{k} {v:.2f}" for k, v in c.seconds.items())
            )
