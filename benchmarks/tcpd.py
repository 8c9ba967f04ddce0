"""TCPD benchmark: the gate detector, PELT, BinSeg and "zero" on every series, one default setting.

    python benchmarks/tcpd.py --data ../shared/data/tcpd

Scores are F1 (margin 5) and Covering as in van den Burg & Williams (2020). The means are over
the series the benchmark averages (univariate, without quality_control_* and uk_coal_employ).
The ablation runs the same segmentation on the raw series, the gate alone and both (shipped).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lstm_core import changepoints as cp

METHODS = ("zero", "pelt", "binseg", "raw", "gate", "gate+raw test", "combined")
LABELS = {
    "raw": "ablation (a) raw series only",
    "gate": "ablation (b) gate only (search + test on gate)",
    "gate+raw test": "ablation (b') gate search, test on raw",
    "combined": "ablation (c) raw + gate (shipped)",
}


def load_series(path: Path) -> pd.DataFrame:
    """One TCPD JSON file -> frame with one column per dimension (null -> NaN), row = time."""
    d = json.loads(path.read_text())
    cols = {
        s.get("label") or f"V{i + 1}": [np.nan if v is None else float(v) for v in s["raw"]]
        for i, s in enumerate(d["series"])
    }
    return pd.DataFrame(cols)


def averaged(name: str, n_dim: int) -> bool:
    return n_dim == 1 and not name.startswith("quality_control") and name != "uk_coal_employ"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/tcpd")
    ap.add_argument("--only", help="comma-separated series names")
    ap.add_argument("--out", help="write the per-series table to this CSV")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    root = Path(args.data)
    annotations = json.loads((root / "annotations.json").read_text())
    names = sorted(p.stem for p in root.glob("*.json") if p.stem != "annotations")
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    rows = []
    print("F1/Cover per series, columns:", ", ".join(METHODS))
    start = time.perf_counter()
    for name in names:
        df = load_series(root / f"{name}.json")
        known = annotations[name]
        t0 = time.perf_counter()
        det = cp.detect(df, known=known)
        seconds = time.perf_counter() - t0
        raw = df.interpolate(limit_direction="both").to_numpy(np.float64)
        n = len(raw)
        found = {
            "zero": [],
            "pelt": cp.classical(raw, "pelt", min_size=det.min_size),
            "binseg": cp.classical(raw, "binseg", min_size=det.min_size),
            "combined": [c.index for c in det.change_points],
        }
        gate = det.trace.gate
        found["raw"], _ = cp.locate(raw, gate, "raw", min_size=det.min_size)
        found["gate"], _ = cp.locate(
            raw, gate, "gate", min_size=det.min_size, confirm_on="features"
        )
        found["gate+raw test"], _ = cp.locate(raw, gate, "gate", min_size=det.min_size)
        row = {
            "series": name,
            "n": n,
            "dim": raw.shape[1],
            "lookback": det.lookback,
            "seconds": seconds,
            "averaged": averaged(name, raw.shape[1]),
        }
        for m in METHODS:
            s = cp.score(known, found[m], n)
            row[f"{m} F1"], row[f"{m} Cover"] = s.f1, s.covering
        row["combined points"] = " ".join(map(str, found["combined"]))
        rows.append(row)
        print(
            f"{name:20s} n={n:4d} {seconds:5.1f}s  "
            + "  ".join(f"{row[f'{m} F1']:.2f}/{row[f'{m} Cover']:.2f}" for m in METHODS),
            flush=True,
        )
    total = time.perf_counter() - start
    table = pd.DataFrame(rows).set_index("series")
    if args.out:
        table.to_csv(args.out)
    mean = table[table["averaged"]][[f"{m} {k}" for m in METHODS for k in ("F1", "Cover")]].mean()
    pd.set_option("display.width", 200)
    print()
    print(
        table[[f"{m} {k}" for m in METHODS for k in ("F1", "Cover")] + ["seconds"]]
        .round(2)
        .to_string()
    )
    print()
    print(f"mean over {int(table['averaged'].sum())} averaged series (F1 / Cover):")
    for m in METHODS:
        label = LABELS.get(m, m)
        print(f"  {label:48s} {mean[f'{m} F1']:.3f} / {mean[f'{m} Cover']:.3f}")
    print(
        f"total run time {total:.1f} s; detection (training included) per series: "
        f"max {table['seconds'].max():.1f} s, mean {table['seconds'].mean():.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
