"""Change point benchmark: TCPD series and the synthetic suite, out of fold and in sample.

    python benchmarks/tcpd.py --data ../shared/data/tcpd

Scores are F1 (margin 5) and Covering as in van den Burg & Williams (2020); TCPD means are over
the series the benchmark averages (univariate, without quality_control_* and uk_coal_employ).

What it prints:
1. Cross-validation of the detector's constants (strength x mode): leave-one-TCPD-series-out
   folds, each also holding out a quarter of the synthetic suite in turn. Every series is
   scored with the constants chosen on the other folds (out of fold) and with those chosen on
   everything (in sample, the shipped defaults).
2. The ablation at the shipped defaults: the series alone (raw), the skip gate alone (gate) and
   both (combined), per kind of change and on TCPD, beside ruptures PELT, BinSeg and KernelCPD
   at their defaults and "zero" (no change point).
3. Timings: the CLI's import time, ``detect`` on a 1,500-step series with a detection model
   trained, with the shipped checkpoint, and without a model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_core import changepoints as cp  # noqa: E402
from lstm_core.changepoints import synthetic  # noqa: E402
from lstm_core.data import prepare, read_table  # noqa: E402
from lstm_core.config import DataConfig  # noqa: E402

STRENGTHS = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5)
MODES = ("both", "backward")
FEATURES = ("raw", "gate", "combined")
CLASSICAL = ("pelt", "binseg", "kernel")


@dataclass
class Case:
    """One benchmark series with what every method needs."""

    name: str
    group: str  # "tcpd" or "synthetic"
    kind: str  # the synthetic kind, or "tcpd"
    averaged: bool  # counts in the TCPD mean
    frame: pd.DataFrame
    known: object  # annotations: {annotator: [rows]} or [rows]
    raw: np.ndarray | None = None
    names: tuple[str, ...] = ()
    period: int | None = None
    trace: object = None
    min_size: int = 5
    seconds: float = 0.0  # detect() with training, features "combined"


def tcpd_cases(root: Path) -> list[Case]:
    annotations = json.loads((root / "annotations.json").read_text())
    out = []
    for path in sorted(root.glob("*.json")):
        if path.stem == "annotations":
            continue
        frame = read_table(path)
        dims = len(json.loads(path.read_text())["series"])
        averaged = dims == 1 and not path.stem.startswith("quality_control")
        averaged = averaged and path.stem != "uk_coal_employ"
        out.append(Case(path.stem, "tcpd", "tcpd", averaged, frame, annotations[path.stem]))
    return out


def synthetic_cases() -> list[Case]:
    out = []
    for s in synthetic.suite():
        cols = {f"c{j}": s.signal[:, j] for j in range(s.signal.shape[1])}
        frame = pd.DataFrame(
            {"time": pd.date_range("2024-01-01", periods=len(s.signal), freq="h"), **cols}
        )
        out.append(Case(s.name, "synthetic", s.kind, False, frame, list(s.change_points)))
    return out


def prepare_case(case: Case) -> None:
    """Clean the frame as the app would (all numeric columns), train the detection model once
    (timed, as ``detect`` does it) and keep its trace for the ablation."""
    numeric = [c for c in case.frame.columns if c != "time" and case.frame[c].dtype.kind in "fi"]
    prep = prepare(case.frame, DataConfig(targets=tuple(numeric[:1]), covariates=tuple(numeric[1:])))
    case.frame = prep  # type: ignore[assignment]
    case.raw = prep.frame.to_numpy(np.float64)
    case.names = prep.columns
    period = cp.pipeline.season_length(prep.freq)
    case.period = period if period > 1 else None
    case.min_size = max(2, min(5, len(case.raw) // 4))
    start = time.perf_counter()
    det = cp.detect(prep, features="combined")
    case.seconds = time.perf_counter() - start
    case.trace = det.trace


def found(case: Case, features: str, settings: cp.Settings) -> list[int]:
    """The detector's change points on one case (the gate from the cached trace)."""
    if features != "raw" and case.trace is None:
        features = "raw"  # too short for a network: detect() takes the classical path too
    gate = case.trace.gate if case.trace is not None else None
    feats, _ = cp.change_features(case.raw, gate, features, case.names)  # type: ignore[arg-type]
    n_raw = len(case.names) if features != "gate" else 0
    tested, proposals = (feats[:, :n_raw], feats[:, n_raw:]) if features == "combined" else (feats, None)
    return [f.index for f in cp.locate(tested, 1.0, case.min_size, case.period, settings, proposals)]


def f1_cover(case: Case, points: list[int]) -> tuple[float, float]:
    m = cp.score(case.known, points, len(case.raw))  # type: ignore[arg-type]
    return m.f1, m.covering


def objective(rows: dict[str, tuple[float, float]], cases: list[Case]) -> float:
    """What the folds maximise: mean of F1 and Cover, TCPD and the synthetic suite weighing
    equally."""
    parts = []
    for group in ("tcpd", "synthetic"):
        vals = [rows[c.name] for c in cases if c.group == group and (c.averaged or group != "tcpd")]
        if vals:
            parts.append(np.mean(vals))
    return float(np.mean(parts))


def cross_validate(cases: list[Case], features: str) -> None:
    grid = [cp.Settings(strength=s, mode=m) for s, m in itertools.product(STRENGTHS, MODES)]
    scores = {
        i: {c.name: f1_cover(c, found(c, features, g)) for c in cases} for i, g in enumerate(grid)
    }
    tcpd = [c for c in cases if c.group == "tcpd" and c.averaged]
    syn = [c for c in cases if c.group == "synthetic"]
    # fold k holds out TCPD series k and every len(tcpd)-th synthetic series from k
    folds = [[t] + syn[k :: len(tcpd)] for k, t in enumerate(tcpd)]
    best_all = max(scores, key=lambda i: objective(scores[i], cases))
    oof, chosen = {}, []
    for fold in folds:
        held = {c.name for c in fold}
        train = [c for c in cases if c.name not in held]
        best = max(scores, key=lambda i: objective(scores[i], train))
        chosen.append(grid[best])
        for c in fold:
            oof[c.name] = scores[best][c.name]

    def mean(rows: dict, group: list[Case]) -> str:
        v = np.mean([rows[c.name] for c in group], axis=0)
        return f"{v[0]:.3f} / {v[1]:.3f}"

    g = grid[best_all]
    print(f"\n== cross-validation ({features}): strength in {STRENGTHS}, mode in {MODES}")
    print(f"in sample: strength {g.strength}, mode {g.mode} (the shipped default)")
    print("chosen per fold: " + ", ".join(f"{s.strength}/{s.mode}" for s in chosen))
    print(f"{'':28s} {'in sample':>16s} {'out of fold':>16s}   (F1 / Cover)")
    print(f"{'TCPD (13 averaged)':28s} {mean(scores[best_all], tcpd):>16s} {mean(oof, tcpd):>16s}")
    print(f"{'synthetic suite':28s} {mean(scores[best_all], syn):>16s} {mean(oof, syn):>16s}")


def ablation(cases: list[Case], settings: cp.Settings) -> pd.DataFrame:
    rows = []
    for c in cases:
        row = {"series": c.name, "group": c.group, "kind": c.kind, "averaged": c.averaged}
        for m in ("zero",) + CLASSICAL + FEATURES:
            if m == "zero":
                pts = []
            elif m in CLASSICAL:
                pts = cp.classical(c.raw, m, min_size=c.min_size)
            else:
                pts = found(c, m, settings)
            row[f"{m} F1"], row[f"{m} Cover"] = f1_cover(c, pts)
            if m == "raw":
                row["raw points"] = " ".join(map(str, pts))
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> None:
    methods = ("zero",) + CLASSICAL + FEATURES
    cols = [f"{m} {k}" for m in methods for k in ("F1", "Cover")]
    syn = table[table.group == "synthetic"]
    per_kind = syn.groupby("kind")[cols].mean()
    per_kind.loc["all synthetic"] = syn[cols].mean()
    per_kind.loc["TCPD (13 averaged)"] = table[table.averaged][cols].mean()
    out = pd.DataFrame(
        {m: per_kind[f"{m} F1"].map("{:.2f}".format) + " / " + per_kind[f"{m} Cover"].map(
            "{:.2f}".format) for m in methods}
    )
    pd.set_option("display.width", 200)
    print("\n== ablation at the shipped defaults, F1 / Cover (raw = ours on the series, gate = ours "
          "on the skip gate alone, combined = both)")
    print(out.to_string())


def timings() -> None:
    """Import time of the CLI, and detect() on a 1,500-step series three ways."""
    from lstm_core import checkpoint
    from lstm_core.data import load_demo

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
        cp.detect(frame, config=demo.config, **kwargs)
        out[label] = time.perf_counter() - start
    fc = checkpoint.load(ROOT / "checkpoints" / "demo.safetensors")
    for features in ("raw", "combined"):
        start = time.perf_counter()
        cp.detect(frame, fc, features=features)
        out[f"detect 1,500 steps, {features}, shipped checkpoint"] = time.perf_counter() - start
    cli = [sys.executable, "-m", "lstm_core", "detect", "demo:regimes", "--json"]
    out["python -m lstm_core detect demo:regimes (1,200 steps, whole command)"] = _wall(cli)
    print("\n== timings (seconds, this machine)")
    for k, v in out.items():
        print(f"  {k:70s} {v:6.2f}")
    ratio = out["detect 1,500 steps, combined, model trained"] / imports
    print(f"  detect with training / CLI import time: {ratio:.1f}x (target <= 4x)")


def synthetic_frame(n: int) -> pd.DataFrame:
    from lstm_core.data import synthetic as regimes

    df, _ = regimes(n=n)
    return df


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "tcpd"))
    ap.add_argument("--out", help="write the per-series table to this CSV")
    ap.add_argument("--no-timings", action="store_true")
    ap.add_argument("--timings-only", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.timings_only:
        timings()
        return 0
    start = time.perf_counter()
    cases = tcpd_cases(Path(args.data)) + synthetic_cases()
    for c in cases:
        prepare_case(c)
    print(
        f"prepared {len(cases)} series in {time.perf_counter() - start:.0f} s; detect() with a "
        f"model trained: mean {np.mean([c.seconds for c in cases]):.1f} s, "
        f"max {max(c.seconds for c in cases):.1f} s per series"
    )
    for features in ("raw", "combined"):
        cross_validate(cases, features)
    table = ablation(cases, cp.Settings())
    if args.out:
        table.to_csv(args.out, index=False)
    summarise(table)
    tcpd = table[table.group == "tcpd"]
    print("\nTCPD per series (F1 / Cover), raw points:")
    for _, r in tcpd.iterrows():
        print(f"  {r.series:20s} raw {r['raw F1']:.2f}/{r['raw Cover']:.2f}  "
              f"combined {r['combined F1']:.2f}/{r['combined Cover']:.2f}  "
              f"zero {r['zero F1']:.2f}/{r['zero Cover']:.2f}  [{r['raw points']}]")
    if not args.no_timings:
        timings()
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
