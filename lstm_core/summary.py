"""Plain-data summaries the app shows: config YAML sections, model size, checkpoint tables."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import torch
import yaml

from lstm_core.changepoints import parse_rows  # noqa: F401 - the pages read it from here
from lstm_core.checkpoint import CheckpointInfo
from lstm_core.config import SECTIONS, Config, parse_yaml, resolve_hidden_size
from lstm_core.data import detect_time_column, numeric_columns
from lstm_core.forecaster import build_net


def config_sections(cfg: Config) -> dict[str, str]:
    """The config as one YAML text per section (data, lstm, training), keys in field order."""
    return {name: yaml.safe_dump(body, sort_keys=False) for name, body in cfg.to_dict().items()}


def config_from_sections(texts: dict[str, str]) -> Config:
    """Parse one YAML text per section into a validated Config.

    Raises:
        ConfigError: with ``key`` set to the offending key, or to the section whose text is not
            valid YAML (the message then gives the line within that section).
    """
    raw = {name: parse_yaml(texts.get(name, "") or "{}", name) for name in SECTIONS}
    return Config.from_dict(raw)


def key_section(key: str | None) -> str | None:
    """The section ("data", "lstm", "training") a ConfigError key belongs to, if any."""
    head = (key or "").split(".")[0]
    return head if head in SECTIONS else None


@dataclass(frozen=True)
class ModelSummary:
    """The model a config builds for a given number of input columns."""

    input_width: int
    hidden_size: int  # resolved (the automatic rule applied)
    automatic: bool  # hidden_size was null in the config
    attention_width: int
    parameters: int
    batch_bytes: int  # estimated training memory for one batch (weights, optimiser, activations)

    def lines(self) -> list[str]:
        rule = (
            " (automatic: 1.5 x inputs, at least 32, divisible by the heads)"
            if self.automatic
            else ""
        )
        return [
            f"inputs: {self.input_width} column(s)",
            f"hidden size: {self.hidden_size}{rule}",
            f"attention width: {self.attention_width}",
            f"parameters: {self.parameters:,}",
            f"memory per training batch: about {_bytes(self.batch_bytes)} (estimate)",
        ]


def summarize(cfg: Config, input_width: int, n_targets: int = 1) -> ModelSummary:
    """Resolve the hidden size, count parameters and estimate memory per training batch.

    The network is built on the ``meta`` device, so no weights are allocated. The memory
    estimate counts weights, gradients and AdamW's two moments (16 bytes per parameter) plus the
    activations kept for the backward pass: per time step and layer the LSTM's four gates, cell
    and output per direction, and the skip gate, LayerNorm and input projection.
    """
    lstm, d = cfg.lstm, cfg.data
    hidden = resolve_hidden_size(lstm, input_width)
    directions = 2 if lstm.bidirectional else 1
    with torch.device("meta"):
        net = build_net(cfg.replace(lstm={"hidden_size": hidden}), input_width, n_targets)
    params = sum(p.numel() for p in net.parameters())
    width = hidden * directions
    per_step = lstm.num_layers * directions * hidden * 6 + width * 6 + input_width * 2
    activations = cfg.training.batch_size * d.lookback * per_step * 4
    return ModelSummary(
        input_width, hidden, lstm.hidden_size is None, width, params, 16 * params + activations
    )


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def checkpoint_table(infos: list[CheckpointInfo]) -> pd.DataFrame:
    """One row per checkpoint: name, created, targets, inputs, lookback/horizon, best validation
    loss, backtest MAE of the model and of the best baseline, size, and why it cannot load."""
    rows = []
    for i in infos:
        metrics = i.metrics or {}
        model = metrics.get("AttentiveLSTM", {}).get("MAE")
        base = [
            v.get("MAE")
            for k, v in metrics.items()
            if k != "AttentiveLSTM" and v.get("MAE") is not None
        ]
        data = i.config.get("data", {})
        rows.append(
            {
                "name": i.name,
                "created": i.created or time.strftime("%Y-%m-%d %H:%M", time.gmtime(i.modified)),
                "targets": ", ".join(i.targets),
                "inputs": ", ".join(i.inputs),
                "lookback / horizon": f"{data.get('lookback', '?')} / {data.get('horizon', '?')}",
                "best val loss": i.best_val_loss,
                "backtest MAE": model,
                "best baseline MAE": min(base) if base else None,
                "size": _bytes(i.size),
                "problem": i.error or "",
            }
        )
    columns = [
        "name",
        "created",
        "targets",
        "inputs",
        "lookback / horizon",
        "best val loss",
        "backtest MAE",
        "best baseline MAE",
        "size",
        "problem",
    ]
    return pd.DataFrame(rows, columns=columns)


def training_summary(history) -> list[str]:
    """What a finished training run did, as short lines for the page."""
    if not history.train_loss:
        return [history.message]
    best = history.best_val_loss  # epoch 0: the linear fit the network starts from
    lines = [
        history.message,
        f"best epoch {history.best_epoch}: validation loss {best:.4f}",
        (
            f"{len(history.train_loss)} epoch(s) in {history.seconds:.1f} s on {history.device}, "
            f"{history.windows_per_sec:,.0f} windows/s"
        ),
    ]
    return lines


@dataclass(frozen=True)
class ColumnChoice:
    """The columns a table offers and the ones pre-selected for the data page's form."""

    columns: tuple[str, ...]
    numeric: tuple[str, ...]  # candidates for targets and covariates
    time_col: str | None
    targets: tuple[str, ...]
    covariates: tuple[str, ...]


def column_choice(df: pd.DataFrame, cfg: Config) -> ColumnChoice:
    """Pre-select the configured columns where the table has them, else what detection finds."""
    d = cfg.data
    time_col = d.time_col if d.time_col in df.columns else detect_time_column(df)
    numeric = tuple(numeric_columns(df, time_col))
    targets = tuple(c for c in d.targets if c in numeric) or numeric[:1]
    covariates = tuple(c for c in d.covariates if c in numeric and c not in targets)
    return ColumnChoice(tuple(map(str, df.columns)), numeric, time_col, targets, covariates)


def metrics_frame(metrics: dict | None) -> pd.DataFrame:
    """A checkpoint's stored backtest metrics as a table: methods as rows, metrics as columns."""
    return pd.DataFrame.from_dict(metrics or {}, orient="index")


def config_yaml(config: dict) -> str:
    """A stored config (plain dict) as YAML in field order."""
    return yaml.safe_dump(config, sort_keys=False)


def format_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """Backtest metrics as text: 4 significant digits, and "n/a" where a method has no interval."""
    return table.apply(lambda col: col.map(lambda v: "n/a" if pd.isna(v) else f"{v:.4g}"))


def detection_table(detection) -> pd.DataFrame:
    """One row per detector of a ``changepoints.Detection``: how many change points it found
    and, when known change points were given, "found k of K", F1, precision, recall, covering."""
    rows = {}
    for name, points, m in (
        (f"this detector ({detection.features})", detection.change_points, detection.metrics),
        (
            f"classical ({detection.classical_method}, raw series)",
            detection.classical,
            detection.classical_metrics,
        ),
    ):
        row: dict = {"change points": len(points)}
        if m is not None:
            row |= {
                "known found": f"{m.found} of {m.known}",
                "F1": m.f1,
                "precision": m.precision,
                "recall": m.recall,
                "covering": m.covering,
            }
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")
