"""The command line's inputs: DATA (a file or a built-in demo), the config with its flags
applied, the settings chosen from the data when no config is given, and the panel the flags
ask for. ``UsageError`` is a command-line mistake."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from lstm_core.config import Config, load_config
from lstm_core.data import load_demo, read_table
from lstm_core.errors import LstmCoreError
from lstm_core.safeio import clip, quote


class UsageError(LstmCoreError):
    """A command-line mistake."""


def read_data(spec: str, sheet: str | None = None) -> tuple[pd.DataFrame, Config | None]:
    """DATA is a file path, or ``demo:NAME`` for a built-in dataset (with its own config).
    ``sheet`` picks an Excel sheet; a workbook of several sheets gets a note saying which."""
    if spec.startswith("demo:"):
        demo = load_demo(spec[5:])
        return demo.frame, demo.config
    path = Path(spec)
    if not os.path.exists(path):  # unlike Path.exists, False for a name too long to exist
        raise UsageError(f"data file {clip(spec, 100)} not found (or use demo:regimes / demo:nile)")
    df = read_table(path, sheet=sheet)
    sheets = df.attrs.get("sheets", ())
    if len(sheets) > 1:
        print(f"note: read sheet {quote(df.attrs['sheet'], 40)} of {len(sheets)}; choose one "
              "with --sheet NAME", file=sys.stderr)
    return df, None


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
    for key in ("lookback", "horizon"):
        if getattr(args, key, None) is not None:
            data[key] = getattr(args, key)
    training: dict = {}
    if getattr(args, "epochs", None) is not None:
        training["epochs"] = args.epochs
    if getattr(args, "device", None):
        training["device"] = args.device
    if getattr(args, "threads", None) is not None:
        training["threads"] = args.threads
    return cfg.replace(data=data, training=training)


def choose_settings(
    args: argparse.Namespace, cfg: Config, demo: Config | None, data, say: bool = True
) -> Config:
    """Without --config (nor a demo's own config): the lookback, patch, epochs, patience and
    held-out share chosen from the data (``defaults.choose``, as the app does), under the flags given; the
    choice and its reasons go to stderr. ``data`` is the Prepared series or the Panel."""
    if getattr(args, "config", None) or demo is not None:
        return cfg
    from lstm_core import defaults

    choice = defaults.for_any(data, cfg)
    lookback, epochs = getattr(args, "lookback", None), getattr(args, "epochs", None)
    chosen = choice.apply(cfg)
    if lookback is not None:  # the patch then follows the lookback given (lookback // 24)
        chosen = chosen.replace(data={"lookback": lookback}, lstm={"patch_len": None})
    if epochs is not None:
        chosen = chosen.replace(training={"epochs": epochs})
    given = (lookback, lookback, epochs, None)  # what each reason is about
    reasons = [r for r, flag in zip(choice.reasons, given) if flag is None]
    if say and reasons:
        print("settings chosen from the data (--config, --lookback or --epochs set them):\n  "
              + "\n  ".join(reasons), file=sys.stderr)
    return chosen


def read_panel_arg(args: argparse.Namespace, df: pd.DataFrame, saved=None):
    """The panel that ``--id-col``/``--wide`` (or a panel checkpoint, ``saved``) asks for, else
    None (one series)."""
    id_col, wide = getattr(args, "id_col", None), getattr(args, "wide", False)
    if id_col and wide:
        raise UsageError("--id-col and --wide exclude each other: a long table has an id "
                         "column, a wide one a column per series")
    if not (id_col or wide or saved is not None):
        return None
    from lstm_core.panel import read_panel

    if saved is not None and not (id_col or wide):  # the layout the model was trained on
        id_col, wide = saved.id_col_, saved.layout_ == "wide"
    time_col = getattr(args, "time_col", None) or getattr(saved, "time_col_", None)
    columns = getattr(args, "columns", None)
    return read_panel(df, None if wide else id_col, time_col=time_col,
                      layout="wide" if wide else None,
                      columns=[c.strip() for c in columns.split(",")] if columns else None)
