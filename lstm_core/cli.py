"""`python -m lstm_core train|forecast|backtest|detect`: the app's functions, headless."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd
import torch

from lstm_core import checkpoint
from lstm_core.config import Config, load_config
from lstm_core.data import load_demo, read_table
from lstm_core.errors import LstmCoreError
from lstm_core.forecaster import Forecaster


class UsageError(LstmCoreError):
    """A command-line mistake."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors follow the same one-line rule
        raise UsageError(f"{message} (see {self.prog} --help)")


def read_data(spec: str) -> tuple[pd.DataFrame, Config | None]:
    """DATA is a file path, or ``demo:NAME`` for a built-in dataset (with its own config)."""
    if spec.startswith("demo:"):
        demo = load_demo(spec[5:])
        return demo.frame, demo.config
    path = Path(spec)
    if not path.exists():
        raise UsageError(f"data file {spec} not found (or use demo:regimes / demo:nile)")
    return read_table(path), None


def build_config(args: argparse.Namespace, default: Config | None) -> Config:
    """The config file (or the demo's, or the defaults) with command-line overrides applied."""
    cfg = load_config(args.config) if getattr(args, "config", None) else (default or Config())
    data: dict = {}
    if getattr(args, "time_col", None):
        data["time_col"] = args.time_col
    if getattr(args, "target", None):
        data["targets"] = args.target
    if getattr(args, "covariates", None):
        data["covariates"] = args.covariates
    training: dict = {}
    if getattr(args, "epochs", None) is not None:
        training["epochs"] = args.epochs
    if getattr(args, "device", None):
        training["device"] = args.device
    return cfg.replace(data=data, training=training)


class Progress:
    """A one-line progress bar on a terminal; one line per epoch otherwise."""

    def __init__(self, epochs: int, stream=sys.stderr):
        self.epochs, self.stream = epochs, stream
        self.tty = stream.isatty()

    def batch(self, epoch: int, b: int, n: int) -> None:
        if self.tty:
            done = (epoch - 1 + b / n) / self.epochs
            bar = "#" * int(30 * done)
            self.stream.write(f"\r[{bar:<30}] epoch {epoch}/{self.epochs} batch {b}/{n}")
            self.stream.flush()

    def epoch(self, epoch: int, train: float, val: float) -> None:
        end = "\n" if not self.tty else ""
        prefix = "\r" if self.tty else ""
        self.stream.write(f"{prefix}epoch {epoch}/{self.epochs}: train {train:.4f} val {val:.4f}"
                          f"{' ' * 20}{end}")
        self.stream.flush()


def cmd_train(args: argparse.Namespace) -> int:
    df, demo_cfg = read_data(args.data)
    cfg = build_config(args, demo_cfg)
    bar = Progress(cfg.training.epochs)
    torch.manual_seed(cfg.training.seed)  # dropout's generator: this process trains alone
    fc = Forecaster(cfg).fit(df, on_epoch=bar.epoch, on_batch=bar.batch)
    if bar.tty:
        sys.stderr.write("\n")
    out = Path(args.out) if args.out else checkpoint.CHECKPOINT_DIR / Path(args.data).stem
    path = checkpoint.save(fc, out.name, out.parent if str(out.parent) else ".")
    h = fc.history_
    print(f"{h.message}")
    print(f"validation loss (pinball of the median): {h.best_val_loss:.4f} at epoch "
          f"{h.best_epoch} of {len(h.val_loss)} (epoch 0: the linear fit it starts from)")
    print(f"speed: {h.windows_per_sec:.0f} windows/s in {h.seconds:.1f} s on {h.device}")
    print(f"hidden size: {fc.config_.lstm.hidden_size}; checkpoint: {path}")
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    fc = checkpoint.load(args.checkpoint)
    df, _ = read_data(args.data)
    out = fc.predict(df)
    if args.csv:
        out.to_csv(args.csv, index=False)
    if args.json:
        print(out.assign(time=out["time"].astype(str)).to_json(orient="records"))
    elif not args.csv:
        print(out.to_string(index=False))
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    df, demo_cfg = read_data(args.data)
    if args.checkpoint:
        fixed = [flag for flag, value in (("--config", args.config), ("--time-col", args.time_col),
                                          ("--target", args.target),
                                          ("--covariates", args.covariates),
                                          ("--epochs", args.epochs), ("--device", args.device))
                 if value is not None]
        if fixed:
            raise UsageError(f"{', '.join(fixed)} cannot change a saved model; leave "
                             f"{'it' if len(fixed) == 1 else 'them'} out to score the checkpoint, "
                             "or drop --checkpoint to train a new model")
        fc = checkpoint.load(args.checkpoint)
    else:
        cfg = build_config(args, demo_cfg)
        torch.manual_seed(cfg.training.seed)  # dropout's generator: this process trains alone
        fc = Forecaster(cfg).fit(df)
    bt = fc.backtest(df)
    if args.json:
        print(json.dumps({"metrics": bt.table.to_dict(orient="index"), "windows": bt.windows,
                          "season": bt.season, "beats_baselines": bt.beats_baselines,
                          "beats_naive": bt.beats_baselines, "best_baseline": bt.best_baseline,
                          "verdict": bt.verdict}))
    else:
        print(f"held-out end: {bt.windows} windows of {fc.config_.data.horizon} steps")
        print(bt.table.to_string(float_format=lambda v: f"{v:.4g}"))
        print(bt.verdict)
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    """`detect`: the change points with their kind and columns (JSON with --json, else a table)."""
    from lstm_core import changepoints

    if not math.isfinite(args.sensitivity) or args.sensitivity <= 0:
        raise UsageError(f"--sensitivity must be a number > 0, got {args.sensitivity}")
    known = changepoints.parse_rows(args.known) or None if args.known else None
    df, demo_cfg = read_data(args.data)
    fc = checkpoint.load(args.checkpoint) if args.checkpoint else None
    config = load_config(args.config) if args.config and fc is None else None
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    time_col = args.time_col
    if demo_cfg is not None and config is None and fc is None:  # a demo's own columns
        time_col = time_col or demo_cfg.data.time_col
        columns = columns or [*demo_cfg.data.targets, *demo_cfg.data.covariates]
    result = changepoints.detect(
        df,
        fc,
        config=config,
        time_col=time_col,
        columns=columns,
        known=known,
        sensitivity=args.sensitivity,
        features=args.features,
        classical_method=args.classical,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    for line in result.notes:
        print(f"note: {line}")
    if result.change_points:
        table = result.table().drop(columns=["score"])
        print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    else:
        print("no change points found")
    print(
        f"{result.classical_method}: {[c.index for c in result.classical]}; "
        f"agreement {result.agreement.share:.2f}"
    )
    if result.metrics is not None:
        m = result.metrics
        print(
            f"{m.sentence()}: F1 {m.f1:.3f} (precision {m.precision:.3f}, recall "
            f"{m.recall:.3f}), covering {m.covering:.3f}"
        )
    return 0


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m lstm_core", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def data_args(sp: argparse.ArgumentParser, training: bool = True) -> None:
        sp.add_argument("data", help="CSV/TSV/Parquet/Excel/JSON file, or demo:regimes, demo:nile")
        sp.add_argument("--config", help="YAML config file")
        sp.add_argument("--time-col")
        sp.add_argument("--target", nargs="+")
        sp.add_argument("--covariates", nargs="+")
        if training:
            sp.add_argument("--epochs", type=int)
            sp.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])

    t = sub.add_parser("train", help="train and save a checkpoint")
    data_args(t)
    t.add_argument("--out", help="checkpoint path (default checkpoints/<data name>.safetensors)")
    t.set_defaults(func=cmd_train)

    f = sub.add_parser("forecast", help="forecast the steps after the data with a checkpoint")
    f.add_argument("data")
    f.add_argument("--checkpoint", required=True)
    f.add_argument("--csv", help="write the forecast to this CSV file")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_forecast)

    b = sub.add_parser(
        "backtest",
        help="train (or load --checkpoint), then score model and baselines on the held-out end",
    )
    data_args(b)
    b.add_argument("--checkpoint", help="score this saved model instead of training one")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_backtest)

    d = sub.add_parser("detect", help="change points: what changed, where, in which columns")
    d.add_argument("data", help="CSV/TSV/Parquet/Excel/JSON file, or demo:regimes, demo:nile")
    d.add_argument("--config", help="YAML config file (the detection model trains with it)")
    d.add_argument("--checkpoint", help="read the skip gate of this model (no training)")
    d.add_argument("--time-col")
    d.add_argument("--columns", help="comma-separated columns to analyse")
    d.add_argument("--features", choices=["raw", "combined", "gate"], default="raw",
                   help="raw: the series' columns (default, no model); combined: the skip gate "
                   "proposes candidates too; gate: the skip gate alone")
    d.add_argument("--known", help="known change points to score against, e.g. 12,40 or 12;40")
    d.add_argument("--sensitivity", type=float, default=1.0, help="> 1 finds more (default 1)")
    d.add_argument("--classical", choices=["pelt", "binseg", "kernel"], default="pelt",
                   help="the reference detector run beside it")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_detect)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command; user mistakes print one `error:` line and return 2."""
    try:
        args = parser().parse_args(argv)
        return args.func(args)
    except LstmCoreError as e:
        msg = str(e).replace("\n", " ")
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
