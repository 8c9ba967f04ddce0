"""Single series stay safe: the model against the plain NLinear fit it starts from, on the test
windows after validation (which chose nothing), with the settings chosen from the data.

    python benchmarks/linear_guard.py --data ../shared/data/m4_hourly/train.csv --series 12
    python benchmarks/linear_guard.py --data ../shared/data/m4_hourly/train.csv --epochs 15

The file is a long table ``series,t,value`` (M4 as in ``../shared/data/m4_hourly``); each of the
first ``--series`` series is one hourly series (timestamps from 2000-01-01, one an hour). Each
is trained alone with ``defaults.choose`` (``--horizon``; epochs capped at ``--epochs`` to keep
the run short), then scored as ``Forecaster.backtest`` scores it. "start" is the plain NLinear
ridge at the model's lookback fitted on the training rows: the model's own linear start, which
it keeps unless the LSTM beats it on the check windows. MASE uses the backtest's scale.
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
        rows.append({
            "series": sid, "rows": len(values), "lookback": L, "epochs": len(h.val_loss),
            "best epoch": h.best_epoch, "LSTM kept": h.best_epoch > 0,
            "fell back": bool(h.check_loss) and h.best_epoch == 0,
            "model": bt.table.loc["AttentiveLSTM", "MASE"], "start": start_mase,
            "linear (own L)": bt.table.loc[LINEAR, "MASE"], "linear L": bt.linear_lookback,
            "seasonal naive": bt.table.filter(like="seasonal", axis=0)["MASE"].iloc[0],
            "windows": bt.windows, "scored on": bt.scored_on, "seconds": seconds,
        })
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1,
                                               float_format=lambda v: f"{v:.3f}"), flush=True)
    out = pd.DataFrame(rows)
    worse = int((out["model"] > out["start"] * (1 + 1e-3)).sum())
    print(f"\n{len(out)} series; mean MASE: model {out['model'].mean():.3f}, start "
          f"{out['start'].mean():.3f}, linear at its own lookback "
          f"{out['linear (own L)'].mean():.3f}, seasonal naive {out['seasonal naive'].mean():.3f}")
    print(f"LSTM kept on {int(out['LSTM kept'].sum())}, fell back on the check windows on "
          f"{int(out['fell back'].sum())}; model worse than its start on the test windows: "
          f"{worse} of {len(out)}; training {out['seconds'].sum():.0f} s in all")


if __name__ == "__main__":
    main()
