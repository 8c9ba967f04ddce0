"""The cost of statsforecast's MSTL and AutoETS as backtest baselines: import, first and
later fits, and forecasts from many origins with fixed parameters (``forward``).

    python benchmarks/strong_baselines.py              # a 700-step hourly series, H 48

The import and the numba compilation are paid once per process; the fits once per series and
target; ``forward`` once per origin. A fresh process is started for the import so that its
time is not hidden by an earlier one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=700)
    p.add_argument("--horizon", type=int, default=48)
    p.add_argument("--origins", type=int, default=48, help="forward calls timed per model")
    args = p.parse_args()
    code = "import time; t = time.perf_counter(); import statsforecast.models; " \
           "print(time.perf_counter() - t)"
    imported = float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True).stdout)
    from statsforecast.models import MSTL, AutoETS

    t = np.arange(args.rows)
    rng = np.random.default_rng(0)
    y = 10 + np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168) + 0.2 * rng.normal(
        size=args.rows)
    fit_end = args.rows - args.horizon - args.origins
    print(f"import statsforecast.models (fresh process): {imported:.2f} s")
    print(f"| model | fit 1 (s) | fit 2 (s) | forward per origin (ms) | {args.origins} origins (s) |")
    print("| --- | --- | --- | --- | --- |")
    for name, make in (("AutoETS(24)", lambda: AutoETS(season_length=24)),
                       ("MSTL(24, 168)", lambda: MSTL(season_length=[24, 168]))):
        fits = []
        for _ in range(2):
            start = time.perf_counter()
            model = make().fit(y[:fit_end])
            fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        for o in range(fit_end, fit_end + args.origins):
            model.forward(y=y[:o], h=args.horizon)
        total = time.perf_counter() - start
        print(f"| {name} | {fits[0]:.2f} | {fits[1]:.2f} | {1000 * total / args.origins:.1f} | "
              f"{total:.1f} |")


if __name__ == "__main__":
    main()
