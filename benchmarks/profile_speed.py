"""Speed of the classification score profile detector (``profile.segment``, no model) on long
series: issue 19 asks for any series up to 20,000 steps in <= 10 s on 2 cores.

    OMP_NUM_THREADS=1 python benchmarks/profile_speed.py [--data ../shared/data/tssb]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_core.changepoints import profile


def series(data: Path | None) -> dict[str, np.ndarray]:
    """Two seeded 20,000-step series (three shapes of one period; white noise) and the longest
    series of a TCPD-format folder."""
    rng = np.random.default_rng(5)
    t = np.arange(20_000)
    wave = np.where(
        t < 7_000,
        np.sin(2 * np.pi * t / 50),
        np.where(t < 14_000, np.sign(np.sin(2 * np.pi * t / 50)), np.sin(2 * np.pi * t / 80)),
    )
    out = {
        "20,000 steps, three shapes (changes at 7,000 and 14,000)": wave
        + 0.2 * rng.normal(size=t.size),
        "20,000 steps, white noise (no change)": rng.normal(size=t.size),
    }
    if data is not None:
        docs = [p for p in data.glob("*.json") if p.stem != "annotations"]
        raw = {p.stem: json.loads(p.read_text())["series"][0]["raw"] for p in docs}
        name = max(raw, key=lambda k: len(raw[k]))
        out[f"{name} ({len(raw[name]):,} steps)"] = np.array(raw[name], dtype=np.float64)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="a TCPD-format folder: its longest series is timed too")
    args = ap.parse_args(argv)
    for name, x in series(Path(args.data) if args.data else None).items():
        start = time.perf_counter()
        points = profile.segment(x)
        print(f"{name:60s} {time.perf_counter() - start:6.2f} s  points {points}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
