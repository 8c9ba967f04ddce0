"""Short series: does the Train page's few-windows warning point to a better model?

    python benchmarks/short_series.py --data ../shared/data/tcpd [--lookback 96] [--horizon 24]

For every table in the folder (any format ``read_table`` reads; TCPD's JSON included) whose
first numeric column, at the given lookback and horizon, leaves fewer than
``data.WINDOWS_PER_STEP`` training windows per lookback step, the model is trained twice (seed
0): at the given lookback and at the lookback the warning offers (``data.reliable_lookback``).
Both are scored on the same held-out end, as the Forecast page scores them: MASE, and the 80%
interval's coverage (0.8 is calibrated). Series too short for the given lookback are trained at
the offered one only; series with enough windows are listed and skipped. The last lines count
the trainings whose MAE is not above the linear baseline's (its own best lookback: the rule
"never worse than the plain NLinear fit"; within ``TIE``, float32 rounding, counts as equal) and
name the others, with whether the trained LSTM or the linear start was kept there.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_core import data  # noqa: E402
from lstm_core.config import Config  # noqa: E402
from lstm_core.errors import LstmCoreError  # noqa: E402
from lstm_core.forecaster import LINEAR, Forecaster  # noqa: E402

VAL = Config().training.val_fraction
TIE = 1e-6  # relative MAE difference read as float32 rounding: a model that is its linear start


def score(frame, prep, lookback: int, horizon: int) -> tuple[float, float, float, str | None]:
    """(MASE, coverage80) of the model trained at ``lookback`` on its held-out end, the MASE
    of the linear baseline (at its own best lookback), and, where the model's MAE is above the
    baseline's, what the model kept ("LSTM" or "start")."""
    cfg = Config().replace(
        data={"time_col": prep.time_col, "targets": [prep.targets[0]], "covariates": [],
              "lookback": lookback, "horizon": horizon}
    )
    torch.manual_seed(0)  # dropout's generator
    fc = Forecaster(cfg).fit(frame)
    table = fc.backtest(frame).table
    row = table.iloc[0]
    worse = row["MAE"] > table.loc[LINEAR, "MAE"] * (1 + TIE)
    kept = ("LSTM" if fc.history_.best_epoch else "start") if worse else None
    return float(row["MASE"]), float(row["coverage80"]), float(table.loc[LINEAR, "MASE"]), kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a folder of tables")
    ap.add_argument("--lookback", type=int, default=Config().data.lookback)
    ap.add_argument("--horizon", type=int, default=Config().data.horizon)
    args = ap.parse_args()
    L, H = args.lookback, args.horizon
    warnings.filterwarnings("ignore")
    print(f"lookback {L}, horizon {H}; MASE / coverage80 on the held-out end\n")
    print(f"| series | rows | windows at {L} | MASE at {L} (linear) | coverage | offered | "
          "windows | MASE (linear) | coverage |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios, closer, beaten = [], [], []
    scored, worse = 0, []  # trainings; those worse than the linear baseline
    for path in sorted(p for p in args.data.iterdir() if p.stem != "annotations"):
        try:
            frame = data.read_table(path)
            prep = data.prepare(frame, Config().data)
        except LstmCoreError:
            continue  # not a table (a README, a licence folder)
        n = len(prep.frame)
        if data.few_windows(n, L, H, VAL) is None:
            print(f"| {path.stem} | {n} | {data.window_counts(n, L, H, VAL)[0]} | enough: "
                  "skipped | | | | | |")
            continue
        offered = data.reliable_lookback(n, H, VAL)
        try:
            data.check_length(n, L, H, VAL)
            given = score(frame, prep, L, H)
        except LstmCoreError:
            given = None
        better = score(frame, prep, offered, H) if offered else None
        cells = [
            f"{given[0]:.3f} ({given[2]:.3f}) | {given[1]:.2f}" if given else "too short | ",
            str(offered or "none"),
            str(data.window_counts(n, offered, H, VAL)[0]) if offered else "",
            f"{better[0]:.3f} ({better[2]:.3f}) | {better[1]:.2f}" if better else " | ",
        ]
        print(f"| {path.stem} | {n} | {data.window_counts(n, L, H, VAL)[0]} | " + " | ".join(cells)
              + " |", flush=True)
        for run, at in ((given, L), (better, offered)):
            scored += run is not None
            if run and run[3]:
                worse.append(f"{path.stem} at {at} ({run[3]})")
        if given and better:
            beaten.append((given[0] / given[2], better[0] / better[2]))
            ratios.append(better[0] / given[0])
            closer.append(abs(better[1] - 0.8) <= abs(given[1] - 0.8))
    if beaten:
        b = np.array(beaten)
        print(f"the model against the linear fit (MASE ratio, median): {np.median(b[:, 0]):.3f} "
              f"at lookback {L}, {np.median(b[:, 1]):.3f} at the offered one; lower than the "
              f"linear fit on {(b[:, 0] < 1 - 1e-3).sum()} and {(b[:, 1] < 1 - 1e-3).sum()} "
              f"of {len(b)}")
    print(f"model MAE <= linear MAE on {scored - len(worse)} of {scored} trainings; above it: "
          f"{', '.join(worse) or 'none'}")
    if ratios:
        r = np.array(ratios)
        print(f"\nwarned and trainable at both: {len(r)}; MASE at the offered lookback relative "
              f"to lookback {L}: median {np.median(r):.3f}, lower on {(r < 1).sum()}, more than "
              f"1% lower on {(r < 0.99).sum()}, more than 1% higher on {(r > 1.01).sum()}; "
              f"coverage as close to 0.8 or closer on {sum(closer)}")


if __name__ == "__main__":
    main()
