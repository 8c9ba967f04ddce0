"""`python -m lstm_core train|forecast|backtest|detect`: the app's functions, headless."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

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
        fc = Forecaster(build_config(args, demo_cfg)).fit(df)
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

    try:
        from lstm_core.changepoints import add_detect_command
    except ImportError:
        pass
    else:
        add_detect_command(sub)
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
