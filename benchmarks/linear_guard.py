"""Single series stay safe: the model against the plain NLinear fit it starts from, on the test
windows after validation (which chose nothing), with the settings chosen from the data.

    python benchmarks/linear_guard.py --data ../shared/data/m4_hourly/train.csv --series 12
    python benchmarks/linear_guard.py --data ../shared/data/m4_hourly/train.csv --epochs 15

The file is a long table ``series,t,value`` (M4 as in ``../shared/data/m4_hourly``); each of the
first ``--series`` series is one hourly series (timestamps from 2000-01-01, one an hour). Each
is trained alone with ``defaults.choose`` (``--horizon``; epochs capped at ``--epochs`` to keep
the run short), then scored as ``Forecaster.backtest`` scores it. The model's linear start is
the linear baseline at its own best lookback up to the model's ("start L"; chosen on the windows
before the test part), kept unless the LSTM beats it on the check windows; a kept start ends
refitted on the rows the baseline is refitted on, so its forecast is the baseline's. "NLinear at
L" is the plain ridge at the model's lookback fitted on the training rows (the start before issue
21's item 7). MASE uses the backtest's scale. The rule: the model's MAE is not above the linear
baseline's (within ``TIE``, float32 rounding, counts as equal).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lstm_core import baselines, defaults
from lstm_core.config import Config
from lstm_core.data.prepare import prepare
from lstm_core.forecaster import LINEAR, Forecaster

TIE = 1e-6  # relative MAE difference read as float32 rounding: a model that is its linear start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--series", type=int, default=12)
    p.add_argument("--horizon", type=int, default=48)
    p.add_argument("--epochs", type=int, default=15, help="cap on the chosen epochs")
    args = p.parse_args()
    torch.set_num_threads(1)
    table = pd.read_csv(args.data)
    rows = []
    for sid in list(dict.fromkeys(table["series"]))[: args.series]:
        values = table.loc[table["series"] == sid, "value"].to_numpy(np.float64)
        frame = pd.DataFrame({"time": pd.date_range("2000-01-01", periods=len(values), freq="h"),
                              "value": values})
        cfg = Config().replace(data={"time_col": "time", "targets": ["value"],
                                     "horizon": args.horizon})
        prep = prepare(frame, cfg.data)
        choice = defaults.for_data(prep, cfg)
        cfg = choice.apply(cfg).replace(training={"epochs": min(choice.epochs, args.epochs)})
        torch.manual_seed(0)
        start_time = time.perf_counter()
        model = Forecaster(cfg).fit(prep)
        seconds = time.perf_counter() - start_time
        held = model.held_out(prep)
        bt = model.score(held)
        L, H = cfg.data.lookback, cfg.data.horizon
        x = model.scaled_inputs(prep)[:, :1].double().numpy()
        lin = baselines.fit_linear(x[: model.split_], L, H)
        start = lin.predict(np.stack([x[o - L : o] for o in held.origins]))
        start = start * model.scaler_.std[0] + model.scaler_.mean[0]
        start_mase = baselines.metrics(held.actual, start, held.scale)["MASE"]
        h = model.history_
        mae = bt.table["MAE"]
        rows.append({
            "series": sid, "rows": len(values), "lookback": L, "epochs": len(h.val_loss),
            "best epoch": h.best_epoch, "LSTM kept": h.best_epoch > 0,
            "fell back": bool(h.check_loss) and h.best_epoch == 0,
            "model": bt.table.loc["AttentiveLSTM", "MASE"], "NLinear at L": start_mase,
            "linear (own L)": bt.table.loc[LINEAR, "MASE"], "linear L": bt.linear_lookback,
            "start L": getattr(h, "start_lookback", 0) or L,
            "worse": bool(mae["AttentiveLSTM"] > mae[LINEAR] * (1 + TIE)),
            "seasonal naive": bt.table.filter(like="seasonal", axis=0)["MASE"].iloc[0],
            "windows": bt.windows, "scored on": bt.scored_on, "seconds": seconds,
        })
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1,
                                               float_format=lambda v: f"{v:.3f}"), flush=True)
    out = pd.DataFrame(rows)
    worse = [f"{r['series']} ({'LSTM' if r['LSTM kept'] else 'start'})" for r in rows if r["worse"]]
    print(f"\n{len(out)} series; mean MASE: model {out['model'].mean():.3f}, NLinear at L "
          f"{out['NLinear at L'].mean():.3f}, linear at its own lookback "
          f"{out['linear (own L)'].mean():.3f}, seasonal naive {out['seasonal naive'].mean():.3f}")
    print(f"LSTM kept on {int(out['LSTM kept'].sum())}, fell back on the check windows on "
          f"{int(out['fell back'].sum())}; model MAE <= linear MAE on the test windows on "
          f"{len(out) - len(worse)} of {len(out)}; above it: {', '.join(worse) or 'none'}; "
          f"training {out['seconds'].sum():.0f} s in all")


if __name__ == "__main__":
    main()
