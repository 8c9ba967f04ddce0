"""The profile detector beside the claspy package (ClaSP's authors' implementation) on a
TCPD-format folder, per series: Covering, F1 and seconds. Optional peer: claspy lives in its own
virtual environment (it pins its own numba/numpy) and is called as a subprocess.

    python -m venv /tmp/claspyvenv && /tmp/claspyvenv/bin/pip install claspy pandas
    OMP_NUM_THREADS=1 python benchmarks/profile_peer.py --data ../shared/data/tssb \\
        --claspy-python /tmp/claspyvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from changepoints import f1_cover, folder_cases

from lstm_core.changepoints import profile

PEER = """
import json, sys, time, numpy as np
from claspy.segmentation import BinaryClaSPSegmentation
out = {}
for path in sys.argv[1:]:
    x = np.load(path)
    start = time.perf_counter()
    try:
        cps = [int(c) for c in BinaryClaSPSegmentation(n_jobs=1).fit_predict(x)]
    except Exception as e:  # noqa: BLE001 - reported, and the run stops below
        print(path, repr(e), file=sys.stderr)
        cps = None
    out[path] = (cps, time.perf_counter() - start)
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a TCPD-format folder")
    ap.add_argument("--claspy-python", required=True, help="python of a venv holding claspy")
    args = ap.parse_args(argv)
    cases = folder_cases(Path(args.data))
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for c in cases:
            paths.append(str(Path(tmp) / f"{c.name}.npy"))
            np.save(paths[-1], c.raw[:, 0])
        run = subprocess.run(
            [args.claspy_python, "-c", PEER, *paths], check=False, capture_output=True, text=True
        )
        print(run.stderr[-2000:], file=sys.stderr)
        peer = json.loads(run.stdout.strip().splitlines()[-1])
    rows = []
    print(
        f"{'series':32s} {'rows':>6s}  {'ours F1/Cover':>13s} {'s':>5s}  {'claspy F1/Cover':>15s} {'s':>5s}  published ClaSP"
    )
    for c, path in zip(cases, paths):
        start = time.perf_counter()
        ours = profile.segment(c.raw)
        took = time.perf_counter() - start
        theirs, their_s = peer[path]
        if theirs is None:
            raise SystemExit(f"claspy failed on {c.name}")
        a, b = f1_cover(c, ours), f1_cover(c, theirs)
        rows.append((*a, took, *b, their_s, c.published.get("ClaSP", np.nan)))
        print(
            f"{c.name:32s} {len(c.raw):6d}  {a[0]:.2f} / {a[1]:.2f} {took:5.2f}  "
            f"{b[0]:.2f} / {b[1]:.2f}   {their_s:5.2f}  {rows[-1][-1]:.2f}"
        )
    m = np.nanmean(np.array(rows), axis=0)
    print(
        f"{'mean':32s} {'':6s}  {m[0]:.2f} / {m[1]:.2f} {m[2]:5.2f}  {m[3]:.2f} / {m[4]:.2f}   "
        f"{m[5]:5.2f}  {m[6]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
