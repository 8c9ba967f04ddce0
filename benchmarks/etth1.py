"""ETT benchmark: the AttentiveLSTM vs the linear, naive and seasonal-naive forecasts of one column.

Usage:
    python benchmarks/etth1.py --data ../shared/data/ett/ETTh1.csv
        [--lookback 96 [336 720 ...]] [--horizon 24] [--seeds 3] [--only univariate]
        [--epochs N] [--device auto] [--split 8640 2880 2880] [--target OT] [--linear-only]

Any file in ETT format works (a date column, then numeric columns; target OT unless
``--target``). Standard (Informer) split for the hourly files: train rows [0, 8640),
validation [8640, 11520), test [11520, 14400); for the 15-minute files (ETTm1, ETTm2) pass
``--split 34560 11520 11520``. Values are scaled with the training rows' mean and std.
Validation and test windows may look back into the previous segment; their targets stay
inside it. Every method is fitted on the training rows only (the linear fit chooses its ridge
penalty and its nested mean within them); the model's early stopping looks at validation
windows, never at test.

Settings: univariate (OT in, OT out) and multivariate (the 7 columns in, OT out). Prints MSE
and MAE on the scaled data for validation (where choices are made) and test, mean ± sd over the
seeds, the model's training speed in windows per second, and how often its 80% interval held
the actual value (mean over seeds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_core import baselines  # noqa: E402
from lstm_core.config import Config, DataConfig, resolve_hidden_size  # noqa: E402
from lstm_core.data.prepare import prepare  # noqa: E402
from lstm_core.data.readers import read_table  # noqa: E402
from lstm_core.data.scaling import Scaler  # noqa: E402
from lstm_core.model import resolve_patch_len  # noqa: E402
from lstm_core.network import fit_network  # noqa: E402
from lstm_core.train import pick_device  # noqa: E402


def windows(x: np.ndarray, start: int, stop: int, L: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows whose targets lie in rows [start, stop) of x (T, F): inputs (N, L, F) and the
    target column's future (N, H, 1)."""
    w = np.lib.stride_tricks.sliding_window_view(x[start - L : stop], L + H, axis=0)
    w = w.transpose(0, 2, 1)  # (N, L+H, F)
    return w[:, :L], w[:, L:, :1]


def scores(y_hat: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    return float(((y_hat - y) ** 2).mean()), float(np.abs(y_hat - y).mean())


def segments(split: tuple[int, int, int], parts: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Rows [start, stop) of the validation and/or test part."""
    tr, va, te = split
    rows = {"val": (tr, tr + va), "test": (tr + va, tr + va + te)}
    return {p: rows[p] for p in parts}


def baseline_scores(
    x: np.ndarray, split: tuple[int, int, int], L: int, H: int, parts, freq: str | None
) -> dict:
    """Linear, naive and seasonal-naive scores: {name: {part: (mse, mae)}}. The seasonal
    period is the app's (``baselines.baseline_season``): 24 for the hourly files, 96 for the
    15-minute ones."""
    tr = split[0]
    m = baselines.baseline_season(freq, x[:tr, :1])
    lin = baselines.fit_linear(x[:tr, :1], L, H)  # the app's linear baseline and the model's start
    fits = {f"linear (NLinear ridge, {lin.describe()})": lin}
    if len(lin.lookbacks) > 1:  # it is the mean: show the one ridge fit (plain NLinear) too
        plain = baselines.fit_linear(x[:tr, :1], L, H, nested=False)
        fits[f"linear, one fit ({plain.describe()})"] = plain
    seasonal = f"seasonal naive ({m})"
    out: dict[str, dict] = {name: {} for name in [*fits, "naive", seasonal]}
    for part, (a, b) in segments(split, parts).items():
        xw, y = windows(x, a, b, L, H)
        origins = np.arange(a, b - H + 1)
        for name, fit in fits.items():
            out[name][part] = scores(fit.predict(xw[:, :, :1]), y)
        out["naive"][part] = scores(baselines.naive(x[:, :1], origins, H), y)
        out[seasonal][part] = scores(baselines.seasonal_naive(x[:, :1], origins, H, m), y)
    return out


def model_run(x: np.ndarray, split: tuple[int, int, int], cfg: Config, label: str, parts) -> dict:
    """Train one model (one seed) and score it: {part: (mse, mae), and training facts}."""
    tr, va, _ = split
    L, H = cfg.data.lookback, cfg.data.horizon
    device = pick_device(cfg.training.device)
    rows = torch.as_tensor(x, dtype=torch.float32)
    seed = cfg.training.seed

    def progress(epoch: int, train_loss: float, val_loss: float) -> None:
        print(
            f"  {label} seed {seed} epoch {epoch}: train {train_loss:.4f} val {val_loss:.4f}",
            flush=True,
        )

    torch.manual_seed(seed)  # dropout's generator: this benchmark's own process
    start = time.perf_counter()
    net, hist = fit_network(
        cfg, rows[:tr].to(device), rows[tr - L : tr + va].to(device), 1, device, on_epoch=progress
    )
    seconds = time.perf_counter() - start
    net = net.cpu().eval()
    out: dict = {}
    for part, (a, b) in segments(split, parts).items():
        xw, y = windows(x, a, b, L, H)
        xt = torch.as_tensor(np.ascontiguousarray(xw), dtype=torch.float32)
        with torch.no_grad():
            q = torch.cat([net(xt[i : i + 1024]) for i in range(0, len(xt), 1024)]).numpy()
        out[part] = scores(q[..., 1], y)
        out[f"{part} coverage"] = float(((y >= q[..., 0]) & (y <= q[..., 2])).mean())
    out.update(
        best_epoch=hist.best_epoch,
        epochs=len(hist.val_loss),
        seconds=seconds,
        speed=hist.windows_per_sec,
        device=hist.device,
    )
    return out


def overrides(items: list[str]) -> dict[str, dict]:
    """``section.key=value`` items (values parsed as YAML) as ``Config.replace`` sections."""
    sections: dict[str, dict] = {}
    for item in items:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str):  # YAML 1.1 reads 3e-4 as text
            try:
                parsed = float(parsed)
            except ValueError:
                pass
        sections.setdefault(section, {})[name] = parsed
    return sections


def mean_sd(values: list[float]) -> str:
    v = np.asarray(values)
    return f"{v.mean():.4f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="an ETT-format CSV (date, ..., OT)")
    ap.add_argument("--lookback", type=int, nargs="+", default=[96], help="one or more (a sweep)")
    ap.add_argument("--horizon", type=int, default=24)
    ap.add_argument("--seeds", type=int, default=3, help="models per setting: seeds 0..N-1")
    ap.add_argument("--target", default="OT", help="the column forecast (default OT)")
    ap.add_argument(
        "--linear-only",
        action="store_true",
        help="baselines only, no model: seconds per column, e.g. to check the linear fits on "
        "every column in turn",
    )
    ap.add_argument("--epochs", type=int, help="override training.epochs")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--only", choices=["univariate", "multivariate"])
    ap.add_argument(
        "--split",
        type=int,
        nargs=3,
        default=[8640, 2880, 2880],
        metavar=("TRAIN", "VAL", "TEST"),
        help="rows in each part, from the start",
    )
    ap.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="config overrides, e.g. lstm.patch_len=24 training.learning_rate=3e-4",
    )
    ap.add_argument(
        "--val-only",
        action="store_true",
        help="score validation only, to make choices without seeing test",
    )
    return ap.parse_args()


def setting_config(args: argparse.Namespace, lookback: int, horizon: int, n_cols: int) -> Config:
    """The model's config for one setting: the overrides, then this lookback and horizon, the
    hidden size and patch length resolved for ``n_cols`` inputs."""
    cfg = Config().replace(**overrides(args.set)).replace(
        data={"lookback": lookback, "horizon": horizon},
        training={
            "device": args.device,
            **({"epochs": args.epochs} if args.epochs else {}),
        },
    )
    return cfg.replace(
        lstm={
            "hidden_size": resolve_hidden_size(cfg.lstm, n_cols),
            "patch_len": resolve_patch_len(cfg),
        }
    )


def model_lines(
    x: np.ndarray, split: tuple, cfg: Config, label: str, seeds: int, parts: tuple, base: list
) -> list[tuple]:
    """The table's rows for one setting: the model (mean ± sd over ``seeds``), the baselines
    ``base``, then a line of training facts."""
    L = cfg.data.lookback
    runs = [
        model_run(x, split, cfg.replace(training={"seed": s}), f"{label} L={L}", parts)
        for s in range(seeds)
    ]
    model = (
        label,
        L,
        "AttentiveLSTM",
        *[mean_sd([r[p][i] for r in runs]) for p in parts for i in (0, 1)],
    )
    speed = np.mean([r["speed"] for r in runs])
    secs = np.mean([r["seconds"] for r in runs])
    epochs = ", ".join(f"{r['best_epoch']}/{r['epochs']}" for r in runs)
    coverage = ", ".join(
        f"{p} {np.mean([r[p + ' coverage'] for r in runs]):.3f}" for p in parts
    )
    facts = (
        f"training: {speed:.0f} windows/s, {secs:.0f} s per model on {runs[0]['device']}; "
        f"best epoch / epochs run: {epochs}; "
        f"hidden {cfg.lstm.hidden_size}, patch {cfg.lstm.patch_len}; "
        f"80% interval coverage (0.8 is calibrated): {coverage}"
    )
    return [model, *base, (label, L, facts)]


def main() -> None:
    args = parse_args()
    parts = ("val",) if args.val_only else ("val", "test")
    df = read_table(args.data)
    target = args.target
    if target not in df.columns:
        sys.exit(f"error: {args.data} has no {target} column; ETT format is date, ..., OT")
    split = tuple(args.split)
    if len(df) < sum(split):
        sys.exit(f"error: {args.data} has {len(df)} rows; the split needs {sum(split)}")
    numeric = [c for c in df.columns if c != target and np.issubdtype(df[c].dtype, np.number)]
    settings = {"univariate": [target], "multivariate": [target, *numeric]}
    freq = prepare(df, DataConfig(targets=(target,))).freq  # "h" for ETTh, "15min" for ETTm
    H = args.horizon
    t0 = time.perf_counter()
    lines = []
    for label, cols in settings.items():
        if (args.only and args.only != label) or (args.linear_only and label != "univariate"):
            continue
        values = df[cols].to_numpy(np.float64)
        x = Scaler.fit(values[: split[0]]).transform(values)
        for L in args.lookback:
            cfg = setting_config(args, L, H, len(cols))
            base = [
                (label, L, method, *[f"{r[p][i]:.4f}" for p in parts for i in (0, 1)])
                for method, r in baseline_scores(x, split, L, H, parts, freq).items()
            ]
            if args.linear_only:
                lines += base
                continue
            lines += model_lines(x, split, cfg, label, args.seeds, parts, base)
    print(
        f"\n{Path(args.data).name}, target {target}, horizon {H}, split {split}, scaled data, "
        + ("baselines only" if args.linear_only else f"{args.seeds} seed(s) (mean ± sd)")
    )
    print(
        f"{'setting':<13}{'L':>5}  {'method':<56}"
        + "".join(f"{p + ' ' + m:>17}" for p in parts for m in ("MSE", "MAE"))
    )
    for row in lines:
        if len(row) == 3:
            print(f"{row[0]:<13}{row[1]:>5}  {row[2]}")
        else:
            print(f"{row[0]:<13}{row[1]:>5}  {row[2]:<56}" + "".join(f"{v:>17}" for v in row[3:]))
    print(f"total {time.perf_counter() - t0:.0f} s")

if __name__ == "__main__":
    main()
