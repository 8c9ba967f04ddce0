"""`python -m lstm_core train|forecast|backtest|detect|report`: the app's functions, headless."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import pandas as pd
import torch

from lstm_core import checkpoint, threads
from lstm_core.cli_inputs import (
    UsageError,
    build_config,
    choose_settings,
    read_data,
    read_panel_arg,
)
from lstm_core.config import load_config
from lstm_core.data import few_windows
from lstm_core.errors import LstmCoreError
from lstm_core.forecaster import SCORED_ON, Forecaster
from lstm_core.panel_forecaster import forecaster_for
from lstm_core.safeio import check_writable, clip, quote, write_atomic
from lstm_core.train import RunningLoss

# version of `backtest --json`: 2 added "schema" itself; "beats_naive" (one series) is kept as
# the earlier name of "beats_baselines", with the same value, for scripts written before
JSON_SCHEMA = 2
MAX_ERROR_LINE = 300  # characters of the one `error:` line, the prefix included


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors follow the same one-line rule
        raise UsageError(f"{message} (see {self.prog} --help)")


class Progress:
    """A one-line progress bar on a terminal; one line per epoch otherwise."""

    def __init__(self, epochs: int, stream=sys.stderr):
        self.epochs, self.stream = epochs, stream
        self.tty = stream.isatty()
        self.running = RunningLoss()  # what the training says of itself (a panel's refit)

    def batch(self, epoch: int, b: int, n: int) -> None:
        if self.tty:  # a panel's refit counts its own epochs (``running.refit_epochs``)
            total, what = self.running.refit_epochs or self.epochs, ""
            if self.running.refit_epochs:
                what = "trained again on every row: "
            bar = "#" * min(30, int(30 * (epoch - 1 + b / n) / total))
            self.stream.write(f"\r[{bar:<30}] {what}epoch {epoch}/{total} batch {b}/{n}")
        elif self.running.refit_epochs and b == n:  # a log: one line per refit epoch
            self.stream.write(
                f"trained again on every row: epoch {epoch}/{self.running.refit_epochs}\n"
            )
            self.stream.flush()

    def epoch(self, epoch: int, train: float, val: float) -> None:
        end = "\n" if not self.tty else ""
        prefix = "\r" if self.tty else ""
        self.stream.write(f"{prefix}epoch {epoch}/{self.epochs}: train {train:.4f} val {val:.4f}"
                          f"{' ' * 20}{end}")
        self.stream.flush()


def cmd_train(args: argparse.Namespace) -> int:
    """`train`; under torchrun each rank trains on its share of the windows and rank 0 alone
    writes the checkpoint and reports."""
    from lstm_core import distributed

    out = Path(args.out) if args.out else checkpoint.CHECKPOINT_DIR / Path(args.data).stem
    folder = out.parent if str(out.parent) else Path(".")
    checkpoint.check_writable(out.name, folder)  # before minutes of training, not after
    df, demo_cfg = read_data(args.data, args.sheet)
    cfg = build_config(args, demo_cfg)
    panel = read_panel_arg(args, df)
    prep = Forecaster(cfg).prepare(df) if panel is None else None  # once, for all below
    group = distributed.setup(cfg.training.device)  # None unless started by torchrun
    try:
        lead = group is None or group.rank == 0
        cfg = choose_settings(args, cfg, demo_cfg, prep or panel, lead)
        torch.manual_seed(cfg.training.seed)  # dropout's generator: this process trains alone
        bar = Progress(cfg.training.epochs)
        on_epoch, on_batch = (bar.epoch, bar.batch) if lead else (None, None)
        if panel is None:
            d = cfg.data
            loose = few_windows(len(prep.frame), d.lookback, d.horizon, cfg.training.val_fraction)
            if loose and lead:  # before the training it is about, not after
                print(f"warning: {loose}", flush=True)
        data = prep if panel is None else panel  # a panel: one model for every series
        fc = forecaster_for(data, cfg).fit(
            data, on_epoch=on_epoch, on_batch=on_batch, running=bar.running
        )
    finally:
        distributed.teardown()
    if not lead:
        return 0
    if bar.tty:
        sys.stderr.write("\n")
    path = checkpoint.save(fc, out.name, folder)
    h = fc.history_
    print(f"{h.message}")
    print(f"validation loss (pinball of the median): {h.best_val_loss:.4f} at epoch "
          f"{h.best_epoch} of {len(h.val_loss)} (epoch 0: the linear fit it starts from)")
    ranks = f" per process, {group.world} processes ({group.backend})" if group else ""
    print(f"speed: {h.windows_per_sec:.0f} windows/s{ranks} in {h.seconds:.1f} s on {h.device}")
    print(f"hidden size: {fc.config_.lstm.hidden_size}; checkpoint: {path}")
    if panel is not None:
        print(f"series: {len(fc.series_ids)} of {len(panel)}" + "".join(
            f"; left out {quote(k, 40)}: {clip(v, 80)}" for k, v in list(fc.skipped_.items())[:3]))
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    if args.csv:
        check_writable(args.csv, UsageError, "--csv")
    fc = checkpoint.load(args.checkpoint)
    df, _ = read_data(args.data, args.sheet)
    panel = read_panel_arg(args, df, _panel_model(fc, args))
    out = fc.predict(panel, args.series) if panel is not None else fc.predict(df)
    if args.csv:
        from lstm_core.text import forecast_csv  # the app's CSV writer, only when asked for

        text = forecast_csv(out, fc.config_.data.frequency)
        path = write_atomic(args.csv, text.encode(), UsageError, "--csv")
        print(f"wrote {len(out)} rows to {path}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        if pd.api.types.is_datetime64_any_dtype(out["time"]):  # else to_json writes epoch ms
            out = out.assign(time=out["time"].astype(str))
        print(out.to_json(orient="records"))
    elif not args.csv:
        print(out.to_string(index=False))
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    df, demo_cfg = read_data(args.data, args.sheet)
    prep = None  # the data prepared for a new model: its backtest reuses it
    if args.checkpoint:
        fixed = [flag for flag, value in (("--config", args.config), ("--time-col", args.time_col),
                                          ("--target", args.target),
                                          ("--covariates", args.covariates),
                                          ("--epochs", args.epochs), ("--lookback", args.lookback),
                                          ("--horizon", args.horizon), ("--device", args.device))
                 if value is not None]
        if fixed:
            raise UsageError(f"{', '.join(fixed)} cannot change a saved model; leave "
                             f"{'it' if len(fixed) == 1 else 'them'} out to score the checkpoint, "
                             "or drop --checkpoint to train a new model")
        fc = checkpoint.load(args.checkpoint)
        panel = read_panel_arg(args, df, _panel_model(fc, args))
    else:
        panel = read_panel_arg(args, df)
        cfg = build_config(args, demo_cfg)
        prep = Forecaster(cfg).prepare(df) if panel is None else None
        cfg = choose_settings(args, cfg, demo_cfg, prep or panel)
        torch.manual_seed(cfg.training.seed)  # dropout's generator: this process trains alone
        data = prep if panel is None else panel
        fc = forecaster_for(data, cfg).fit(data)
    if panel is not None:
        if args.strong:
            raise UsageError("--strong scores one series; leave it out with --id-col/--wide")
        return _panel_backtest(fc, panel, args.json)
    bt = fc.backtest(prep if prep is not None else df, strong=args.strong)
    if args.json:
        print(json.dumps({"schema": JSON_SCHEMA,
                          "metrics": bt.table.to_dict(orient="index"), "windows": bt.windows,
                          "season": bt.season, "beats_baselines": bt.beats_baselines,
                          "beats_naive": bt.beats_baselines, "best_baseline": bt.best_baseline,
                          "verdict": bt.verdict, "scored_on": bt.scored_on,
                          "linear_lookback": bt.linear_lookback}))
    else:
        print(f"backtest: {bt.windows} windows of {fc.config_.data.horizon} steps on "
              f"{SCORED_ON[bt.scored_on]}")
        print(bt.table.to_string(float_format=lambda v: f"{v:.4g}"))
        print(bt.verdict)
    return 0


def _panel_model(fc, args: argparse.Namespace):
    """``fc`` if it is a panel's model; refuses --id-col/--wide with one series' model."""
    if fc.per_series:
        return fc
    if getattr(args, "id_col", None) or getattr(args, "wide", False):
        raise UsageError("this checkpoint holds one series' model; train one for the panel "
                         "(train DATA --id-col ID) or leave out --id-col/--wide")
    return None


def _panel_backtest(fc, panel, as_json: bool) -> int:
    """The backtest of every series: the summary over series, then (JSON) each series' rows."""
    bt = fc.backtest(panel)
    if as_json:
        print(json.dumps({"schema": JSON_SCHEMA, "summary": bt.summary.to_dict(orient="index"),
                          "series": bt.table.to_dict(orient="records"),
                          "best_baseline": bt.best_baseline,
                          "beats_baselines": bt.beats_baselines, "verdict": bt.verdict,
                          "skipped": bt.skipped}))
        return 0
    print(f"held-out ends of {bt.summary['series'].max()} series (per-series rows: --json)")
    print(bt.summary.to_string(float_format=lambda v: f"{v:.4g}"))
    print(bt.verdict)
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    """`detect`: the change points with their kind and columns (JSON with --json, else a table)."""
    from lstm_core import changepoints
    from lstm_core.changepoints.pipeline import detection_data
    from lstm_core.changepoints.rows import candidate_rows, change_point_rows, detection_json

    if not math.isfinite(args.sensitivity) or args.sensitivity <= 0:
        raise UsageError(f"--sensitivity must be a number > 0, got {args.sensitivity}")
    known = changepoints.parse_rows(args.known) or None if args.known else None
    df, demo_cfg = read_data(args.data)
    if args.id_col or args.wide:
        return _detect_panel(args, df, known)
    if args.ray:
        raise UsageError("--ray runs a panel's series on a cluster; give --id-col or --wide")
    fc = checkpoint.load(args.checkpoint) if args.checkpoint else None
    config = load_config(args.config) if args.config and fc is None else None
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    time_col = args.time_col
    if demo_cfg is not None and config is None and fc is None:  # a demo's own columns
        time_col = time_col or demo_cfg.data.time_col
        columns = columns or [*demo_cfg.data.targets, *demo_cfg.data.covariates]
    prep = detection_data(df, fc, config, time_col, columns)
    result = changepoints.detect(
        prep,
        fc,
        config=config,
        columns=columns,
        known=prep.grid_rows(known) if known else None,  # typed in the file's rows
        sensitivity=args.sensitivity,
        features=args.features,
        classical_method=args.classical,
        detector=args.detector,
        candidates=args.candidates,
    )
    if args.json:
        print(json.dumps(detection_json(result, prep)))
        return 0
    for line in result.notes:
        print(f"note: {line}")
    if prep.report.gaps:
        print(f"note: rows are the file's own; the detector ran on {len(prep.frame)} rows with "
              f"{prep.report.gaps} inserted")
    if result.change_points:
        table = change_point_rows(result, prep)
        print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    else:
        print("no change points found")
    if args.candidates:
        print("candidates, strongest first:")
        table = candidate_rows(result, prep)
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}")
              if len(table) else "  none")
    print(
        f"{result.classical_method}: {prep.user_rows([c.index for c in result.classical])}; "
        f"agreement {result.agreement.share:.2f}"
    )
    if result.metrics is not None:
        m = result.metrics
        print(
            f"{m.sentence()}: F1 {m.f1:.3f} (precision {m.precision:.3f}, recall "
            f"{m.recall:.3f}), covering {m.covering:.3f}"
        )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """`report`: one self-contained HTML file (it opens offline) of a checkpoint on DATA."""
    from lstm_core import changepoints, interpret, report

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"--out: folder {out.parent} does not exist")
    known = changepoints.parse_rows(args.known) if args.known else []
    fc = checkpoint.load(args.checkpoint)
    df, _ = read_data(args.data)
    prep = fc.prepare(df)
    known = prep.grid_rows(known)  # typed in the file's rows; the charts count the grid's
    trace = interpret.trace(fc, prep)
    detection = None
    if not args.no_detect:
        # the default detection (a detection model's gate, as validated), not this model's
        detection = changepoints.detect(prep, known=known or None)
    context = report.Context(Path(args.data).name, Path(args.checkpoint).stem, trace, detection,
                             tuple(known))
    document = report.build(fc, prep, context).encode()
    write_atomic(out, document, UsageError, "--out")
    print(f"wrote {out} ({len(document) / 1e6:.1f} MB, {report.count_figures(document.decode())} "
          "charts; opens offline)")
    return 0


def _detect_panel(args: argparse.Namespace, df: pd.DataFrame, known) -> int:
    """`detect --id-col`: every series, on local processes or a Ray cluster."""
    from lstm_core.changepoints.batch import detect_panel

    if known or args.checkpoint:
        raise UsageError(f"{'--known' if known else '--checkpoint'} applies to one series; "
                         "leave it out with --id-col/--wide")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    panel = read_panel_arg(args, df)
    result = detect_panel(
        panel, workers=args.workers, ray_address=args.ray,
        config=load_config(args.config) if args.config else None,
        sensitivity=args.sensitivity, features=args.features, classical_method=args.classical,
        detector=args.detector, candidates=args.candidates,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    table = result.table()
    if len(table):
        print(table.drop(columns=["score"]).to_string(index=False,
                                                       float_format=lambda v: f"{v:.1f}"))
    found = sum(len(d.change_points) for d in result.detections.values())
    print(f"{found} change points in {len(result.detections)} series ({result.mode}, "
          f"{result.seconds:.1f} s)")
    for sid, why in list(result.failed.items())[:5]:
        print(f"note: series {quote(sid, 40)} not analysed: {clip(why, 160)}")
    return 0


def parser() -> argparse.ArgumentParser:
    """Every command and flag. One flat list on purpose: it is what ``--help`` prints, and a
    flag is found by reading down one function, not across helpers."""
    p = _Parser(prog="python -m lstm_core", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def panel_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--id-col", help="a panel (many series in one long table): the column "
                        "of series ids, or auto to find it")
        sp.add_argument("--wide", action="store_true",
                        help="a panel with one column per series")

    def threads_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--threads", type=int, help="CPU threads (default: the cores other "
                        "work leaves free: the cores less the 1-minute load average)")

    def data_args(sp: argparse.ArgumentParser, training: bool = True) -> None:
        sp.add_argument("data", help="CSV/TSV/Parquet/Excel/JSON file, or demo:regimes, demo:nile")
        sp.add_argument("--config", help="YAML config file")
        sp.add_argument("--time-col")
        sp.add_argument("--target", nargs="+")
        sp.add_argument("--covariates", nargs="+")
        sp.add_argument("--sheet", help="Excel sheet to read (default: the first with data)")
        panel_args(sp)
        if training:
            sp.add_argument("--epochs", type=int)
            sp.add_argument("--lookback", type=int, help="input window length (data.lookback)")
            sp.add_argument("--horizon", type=int, help="steps to forecast (data.horizon)")
            sp.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
            threads_arg(sp)

    t = sub.add_parser("train", help="train and save a checkpoint")
    data_args(t)
    t.add_argument("--out", help="checkpoint path (default checkpoints/<data name>.safetensors)")
    t.set_defaults(func=cmd_train)

    f = sub.add_parser("forecast", help="forecast the steps after the data with a checkpoint")
    f.add_argument("data")
    f.add_argument("--checkpoint", required=True)
    f.add_argument("--csv", help="write the forecast to this CSV file")
    f.add_argument("--sheet", help="Excel sheet to read (default: the first with data)")
    f.add_argument("--json", action="store_true")
    panel_args(f)
    f.add_argument("--time-col")
    f.add_argument("--series", nargs="+", help="a panel model: forecast only these series")
    f.set_defaults(func=cmd_forecast)

    b = sub.add_parser(
        "backtest",
        help="train (or load --checkpoint), then score model and baselines on the held-out end",
    )
    data_args(b)
    b.add_argument("--checkpoint", help="score this saved model instead of training one")
    b.add_argument("--strong", action="store_true", help="add statsforecast's MSTL and AutoETS "
                   "(pip install statsforecast; slow: scored on at most 12 rolling origins)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_backtest)

    d = sub.add_parser("detect", help="change points: what changed, where, in which columns")
    d.add_argument("data", help="CSV/TSV/Parquet/Excel/JSON file, or demo:regimes, demo:nile")
    d.add_argument("--config", help="YAML config file: its data settings, and the detection "
                   "model trains with it (not the small model the benchmark measured)")
    d.add_argument("--checkpoint", help="this model's columns; with --features combined or "
                   "gate, read its skip gate (no training)")
    d.add_argument("--time-col")
    d.add_argument("--columns", help="comma-separated columns to analyse")
    d.add_argument("--features", choices=["raw", "combined", "gate"], default=None,
                   help="combined (the union's default: higher out of fold than raw, 0.811 "
                   "against 0.800, benchmarks/changepoints.py): the profile reads the skip "
                   "gate of a small model trained for the series (of --checkpoint's model "
                   "when given), the other parts the series; raw: the series' columns alone, "
                   "no model (the default with --checkpoint, for the other detectors, for "
                   "--id-col/--wide panels, under 40 and above 20,000 rows); gate: the skip "
                   "gate alone (for the union: the same points as combined, another change "
                   "score); for tests, search and profile combined reads both views")
    d.add_argument("--known", help="known change points to score against, e.g. 12,40 or 12;40")
    d.add_argument("--sensitivity", type=float, default=1.0,
                   help="> 1 finds more, < 1 fewer (default 1: the penalty chosen by "
                   "cross-validation, benchmarks/changepoints.py)")
    # changepoints.DETECTOR_CHOICES, spelled out: the CLI imports the detector lazily
    d.add_argument("--detector", default="union",
                   choices=["tests", "search", "profile", "union"],
                   help="union (default, the best out of fold over TCPD, TSSB and the synthetic "
                   "suite among the designs that meet the TCPD target): PELT on the mean, a "
                   "Gaussian cost on the steps (2+ columns), a broken line's changes of slope, "
                   "a kernel search on rolling statistics and a "
                   "classification score profile (by default on the skip gate of a small model "
                   "trained for the series; see --features for where it reads the series), each "
                   "point saying which found it; tests: last round's "
                   "candidates confirmed by tests of each kind; search, profile: one part "
                   "alone; all but tests rank candidates")
    d.add_argument("--candidates", action="store_true",
                   help="also rank candidates (the change score's peaks, the search's points) "
                   "and say why each was kept or not")
    d.add_argument("--classical", choices=["pelt", "binseg", "kernel"], default="pelt",
                   help="the reference detector run beside it")
    d.add_argument("--json", action="store_true")
    threads_arg(d)
    panel_args(d)
    d.add_argument("--workers", type=int, help="with a panel: local processes (default: every "
                   "core; 1 = this process)")
    d.add_argument("--ray", metavar="ADDRESS", help="with a panel: run on a Ray cluster (auto, "
                   "or its address); needs pip install ray")
    d.set_defaults(func=cmd_detect)

    r = sub.add_parser("report", help="one HTML report of a checkpoint on DATA (opens offline)")
    r.add_argument("data", help="CSV/TSV/Parquet/Excel/JSON file, or demo:regimes, demo:nile")
    r.add_argument("--checkpoint", required=True)
    r.add_argument("--out", required=True, help="the HTML file to write, e.g. report.html")
    r.add_argument("--known", help="known change points to score against, e.g. 12,40")
    r.add_argument("--no-detect", action="store_true", help="leave the change points out "
                   "(detection trains a small detection model: seconds)")
    r.set_defaults(func=cmd_report)
    return p


def _error_line(message: str) -> str:
    """One line for stderr: ``error: ...``, at most MAX_ERROR_LINE characters."""
    return clip("error: " + " ".join(str(message).split()), MAX_ERROR_LINE)


def main(argv: list[str] | None = None) -> int:
    """Run a command; user mistakes print one `error:` line and return 2.

    Anything else still ends in one `error:` line, not a traceback: exit 130 on Ctrl-C, 1 for
    a failure of ours (set LSTM_CORE_TRACEBACK=1 to see where it happened).
    """
    try:
        args = parser().parse_args(argv)
        n = getattr(args, "threads", None)
        if n is not None and not 1 <= n <= 1024:
            raise UsageError(f"--threads must be from 1 to 1024, got {n}")
        with threads.limit(threads.for_training(n)):  # never more than the free cores
            return args.func(args)
    except LstmCoreError as e:
        print(_error_line(str(e)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head` closed the pipe: nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 141
    except MemoryError:
        print("error: out of memory; use a smaller file or model", file=sys.stderr)
        return 1
    except Exception as e:
        if os.environ.get("LSTM_CORE_TRACEBACK"):
            raise
        print(_error_line(f"unexpected {type(e).__name__}: {e} (a bug: please report it with "
                          "the command; LSTM_CORE_TRACEBACK=1 shows where)"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
