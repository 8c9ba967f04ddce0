"""Page labels and tables: the checkpoint table's columns, the device badge, the model size in
lines, the note on inserted rows, and the file stem a typed checkpoint name is saved under."""

from __future__ import annotations

import time

import pandas as pd

from lstm_core.checkpoint import CheckpointInfo, sanitize_name
from lstm_core.data import Prepared
from lstm_core.model_size import ModelSummary
from lstm_core.text import fmt_bytes, fmt_number, frequency_words


def model_lines(s: ModelSummary) -> list[str]:
    """The model a config builds, as the Model settings page lists it."""
    rule = " (automatic: 1.5 x inputs, at least 32, divisible by the heads)" if s.automatic else ""
    return [
        f"inputs: {s.input_width} column(s)",
        f"hidden size: {s.hidden_size}{rule}",
        f"attention width: {s.attention_width}",
        f"parameters: {s.parameters:,}",
        f"memory per training batch: about {fmt_bytes(s.batch_bytes)} (estimate)",
    ]


def checkpoint_table(infos: list[CheckpointInfo]) -> pd.DataFrame:
    """One row per checkpoint: name, created, targets, inputs, series (a panel model's count;
    1 otherwise), lookback/horizon, best validation
    loss, backtest MAE of the model and of the best baseline, size, and why it cannot load."""
    rows = []
    for i in infos:
        metrics = i.metrics or {}
        # a panel's model is scored by mean MASE over its series (their MAEs differ in scale)
        metric = "MAE" if i.series == 1 else "mean MASE"
        model = metrics.get("AttentiveLSTM", {}).get(metric)
        base = [
            v.get(metric)
            for k, v in metrics.items()
            if k != "AttentiveLSTM" and v.get(metric) is not None
        ]
        data = i.config.get("data", {})
        rows.append(
            {
                "name": i.name,
                "created": i.created or time.strftime("%Y-%m-%d %H:%M", time.gmtime(i.modified)),
                "targets": ", ".join(i.targets),
                "inputs": ", ".join(i.inputs),
                "series": i.series,
                "lookback / horizon": f"{data.get('lookback', '?')} / {data.get('horizon', '?')}",
                "best val loss": fmt_number(i.best_val_loss),
                "backtest MAE": _scored(model, metric),
                "best baseline MAE": _scored(min(base) if base else None, metric),
                "size": fmt_bytes(i.size),
                "problem": i.error or "",
            }
        )
    columns = [
        "name",
        "created",
        "targets",
        "inputs",
        "series",
        "lookback / horizon",
        "best val loss",
        "backtest MAE",
        "best baseline MAE",
        "size",
        "problem",
    ]
    return pd.DataFrame(rows, columns=columns)


def _scored(value: float | None, metric: str) -> str:
    """A checkpoint's backtest figure; a panel's is its mean MASE, and says so."""
    text = fmt_number(value)
    return text if metric == "MAE" or value is None else f"{text} (mean MASE)"


def metrics_frame(metrics: dict | None) -> pd.DataFrame:
    """A checkpoint's stored backtest metrics as a table: methods as rows, metrics as columns."""
    return pd.DataFrame.from_dict(metrics or {}, orient="index")


def checkpoint_stem(name: str) -> str:
    """The file name (without .safetensors) a checkpoint typed as ``name`` is saved under.

    Slashes become separators instead of cutting the name ("etth2 OT/ 96->48" is saved as
    "etth2_OT_96_48", not "96_48"); the rest is ``checkpoint.sanitize_name``.
    """
    return sanitize_name(str(name).replace("/", " ").replace("\\", " "))


def device_label(name: str) -> str:
    """A device as the Train page's badge shows it: the kind without a thread count (training
    picks its own threads, which the summary after the run reports)."""
    return name.split(" (")[0] if name.startswith("CPU") else name


def inserted_rows_note(prep: Prepared) -> str | None:
    """What re-gridding did to the user's rows, said up front (None when no row was
    inserted)."""
    r = prep.report
    if not r.gaps:
        return None
    filled = {"interpolate": "interpolated", "ffill": "forward-filled"}
    how = next((w for k, w in filled.items() if any(a.startswith(w) for a in r.actions)), "filled")
    return (
        f"**{r.gaps:,} rows were inserted** to put the series on a regular grid "
        f"({frequency_words(prep.freq)}): your table has {prep.n_user:,} rows, the model reads "
        f"{len(prep.frame):,}, and the inserted values are {how}. Change points, the known "
        "change points you type and the tables use your table's own rows and times."
    )
