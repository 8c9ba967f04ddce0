"""ETTh1 benchmark: the default-config model vs naive and seasonal naive on the standard split.

Usage: python benchmarks/etth1.py --data ../shared/data/ett/ETTh1.csv [--epochs N] [--device D]

Standard (Informer) split: train rows [0, 8640), validation [8640, 11520), test [11520, 14400);
scaled with the training rows' mean and std; target OT, lookback 96, horizon 24. Validation and
test windows may look back into the previous segment; their targets stay inside it. Prints test
MSE and MAE on the scaled data, and training windows per second.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_core.config import Config, resolve_hidden_size  # noqa: E402
from lstm_core.data import Scaler, make_windows, read_table  # noqa: E402
from lstm_core.forecaster import build_net  # noqa: E402
from lstm_core.train import cpu_threads, pick_device, train  # noqa: E402

TRAIN, VAL, TEST = 8640, 2880, 2880
COLUMNS = ["OT", "HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL"]  # target first


def run(values: np.ndarray, cfg: Config, label: str) -> dict:
    L, H = cfg.data.lookback, cfg.data.horizon
    scaler = Scaler.fit(values[:TRAIN])
    x_all = torch.as_tensor(scaler.transform(values), dtype=torch.float32)
    device = pick_device(cfg.training.device)
    x = x_all.to(device)
    tr = make_windows(x[:TRAIN], L, H, 1)
    va = make_windows(x[TRAIN - L : TRAIN + VAL], L, H, 1)
    te_x, te_y = make_windows(x_all[TRAIN + VAL - L : TRAIN + VAL + TEST], L, H, 1)
    cfg = cfg.replace(lstm={"hidden_size": resolve_hidden_size(cfg.lstm, values.shape[1])})
    torch.manual_seed(cfg.training.seed)
    net = build_net(cfg, values.shape[1], 1)
    hist = train(net, tr, va, cfg.training, device,
                 on_epoch=lambda e, a, b: print(f"  {label} epoch {e}: train {a:.4f} val {b:.4f}",
                                                flush=True))
    net = net.cpu().eval()
    with torch.no_grad(), cpu_threads(torch.device("cpu"), net):
        pred = torch.cat([net(te_x[i : i + 1024])[..., 1] for i in range(0, len(te_x), 1024)])
    y = te_y.numpy()
    p = pred.numpy()
    last = te_x[:, -1:, :1].numpy()  # naive: last scaled value of OT
    origins = np.arange(len(te_x)) + TRAIN + VAL
    scaled_ot = x_all[:, :1].numpy()
    h = np.arange(1, H + 1)
    snaive = scaled_ot[origins[:, None] - 1 + h[None, :] - 24 * np.ceil(h / 24).astype(int)[None, :]]
    rows = {
        "AttentiveLSTM": p,
        "naive": np.repeat(last, H, axis=1),
        "seasonal naive (24)": snaive,
    }
    out = {}
    for name, yh in rows.items():
        out[name] = (float(((yh - y) ** 2).mean()), float(np.abs(yh - y).mean()))
    out["_speed"] = hist.windows_per_sec
    out["_epochs"] = (hist.best_epoch, len(hist.val_loss), hist.seconds, hist.device)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="path to ETTh1.csv")
    ap.add_argument("--epochs", type=int, help="override training.epochs")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["univariate", "multivariate"])
    args = ap.parse_args()
    df = read_table(args.data)
    cfg = Config().replace(
        data={"lookback": 96, "horizon": 24},
        training={"device": args.device, "seed": args.seed, **({"epochs": args.epochs} if args.epochs else {})},
    )
    results = {}
    t0 = time.perf_counter()
    for label, cols in (("univariate", ["OT"]), ("multivariate", COLUMNS)):
        if args.only and args.only != label:
            continue
        results[label] = run(df[cols].to_numpy(np.float64), cfg, label)
    print("\nETTh1, target OT, lookback 96, horizon 24, test rows [11520, 14400), scaled data")
    print(f"{'setting':<14}{'method':<22}{'MSE':>9}{'MAE':>9}")
    for label, r in results.items():
        for name, value in r.items():
            if not name.startswith("_"):
                print(f"{label:<14}{name:<22}{value[0]:>9.4f}{value[1]:>9.4f}")
        best, ran, secs, dev = r["_epochs"]
        print(f"{label:<14}training: {r['_speed']:.0f} windows/s, best epoch {best} of {ran}, "
              f"{secs:.0f} s on {dev}")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
