"""Plain-data summaries the app shows: config YAML sections, model size, checkpoint tables,
numbers, times and frequencies in words, the column choice, and the skip gate in plain terms."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import yaml

from lstm_core.changepoints import parse_rows  # noqa: F401 - the pages read it from here
from lstm_core.changepoints.results import _plain_time
from lstm_core.checkpoint import CheckpointInfo, sanitize_name
from lstm_core.config import SECTIONS, Config, parse_yaml, resolve_hidden_size
from lstm_core.data import TIME_NAMES, Prepared, detect_time_column, numeric_columns
from lstm_core.errors import DataError
from lstm_core.network import build_net
from lstm_core.interpret import Trace
from lstm_core.safeio import csv_text

MISSING = "n/a"  # how a missing value reads, everywhere


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
                "size": _bytes(i.size),
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
    """Pre-select the configured columns where the table has them, else what detection finds
    (the likeliest target: see ``likely_target``)."""
    d = cfg.data
    time_col = d.time_col if d.time_col in df.columns else detect_time_column(df)
    numeric = tuple(c for c in numeric_columns(df, time_col) if df[c].notna().any())
    guess = likely_target(df, time_col)
    targets = tuple(c for c in d.targets if c in numeric) or ((guess,) if guess else ())
    covariates = tuple(c for c in d.covariates if c in numeric and c not in targets)
    return ColumnChoice(tuple(map(str, df.columns)), numeric, time_col, targets, covariates)


# column names that usually hold the quantity to forecast, most telling first
TARGET_NAMES = (
    "target", "y", "ot", "value", "sales", "demand", "load", "passengers", "flow", "volume",
    "consumption", "count", "price", "close",
)


def likely_target(df: pd.DataFrame, time_col: str | None) -> str | None:
    """The column most likely meant as the target: one named like a target (``TARGET_NAMES``,
    e.g. ETT's "OT"), else the first numeric column. Columns with no values, and numeric columns
    named like a time (``time``, ``year``...), are never proposed. None if nothing is left."""
    candidates = [
        c
        for c in numeric_columns(df, time_col)
        if df[c].notna().any() and str(c).strip().lower() not in TIME_NAMES
    ]
    by_name = {str(c).strip().lower(): c for c in candidates}
    for name in TARGET_NAMES:
        if name in by_name:
            return by_name[name]
    return candidates[0] if candidates else None


def default_columns(df: pd.DataFrame) -> tuple[str | None, str]:
    """The time column and target a new upload starts with.

    Raises:
        DataError: no column can be a target; the message names the empty ones.
    """
    time_col = detect_time_column(df)
    target = likely_target(df, time_col)
    if target is None:
        empty = [str(c) for c in df.columns if df[c].isna().all()]
        why = f" ({', '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty)" if empty else ""
        raise DataError(f"it has no column of numbers to forecast{why}")
    return time_col, target


def metrics_frame(metrics: dict | None) -> pd.DataFrame:
    """A checkpoint's stored backtest metrics as a table: methods as rows, metrics as columns."""
    return pd.DataFrame.from_dict(metrics or {}, orient="index")


def config_yaml(config: dict) -> str:
    """A stored config (plain dict) as YAML in field order."""
    return yaml.safe_dump(config, sort_keys=False)


def format_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """Backtest metrics as text (``fmt_number``), "n/a" where a method has no interval."""
    return table.apply(lambda col: col.map(fmt_number))


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
                "known change points": m.sentence(),
                "F1": m.f1,
                "precision": m.precision,
                "recall": m.recall,
                "covering": m.covering,
            }
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def change_point_rows(detection, prep: Prepared) -> pd.DataFrame:
    """A ``changepoints.Detection``'s change points in the user's own rows (``Prepared.
    user_rows``: the file's data rows from 0, even when the series was re-gridded) and times:
    # (the chart's number), row, time, kind, columns, evidence, and the classical detector's
    point that matched it, or "none within N rows"."""
    table = detection.table().drop(columns=["score"])
    rows = prep.user_rows(table["index"].tolist())
    matched = table.pop("classical match")
    table.insert(0, "row", rows)
    table.insert(0, "#", range(1, len(rows) + 1))  # the numbers on the change point chart
    table["time"] = prep.user_times(rows) if rows else table["time"]
    table[f"classical point (row, within {detection.agreement.margin})"] = [
        f"none within {detection.agreement.margin} rows"
        if pd.isna(m)
        else f"{prep.user_rows([int(m)])[0]:,}"
        for m in matched
    ]
    return table.drop(columns=["index"])


def candidate_rows(detection, prep: Prepared) -> pd.DataFrame:
    """A ``changepoints.Detection``'s ranked candidates in the user's own rows and times (see
    ``change_point_rows``), strongest first."""
    table = detection.candidate_table().drop(columns=["score"])
    rows = prep.user_rows(table.pop("index").tolist())
    table.insert(0, "row", rows)
    table["time"] = prep.user_times(rows) if rows else table["time"]
    return table


def detection_json(detection, prep: Prepared) -> dict:
    """``Detection.to_dict`` with every change point's ``index`` and ``time`` in the user's rows
    (``grid_index``: the row of the re-gridded series the detector ran on), agreement pairs
    likewise."""
    out = detection.to_dict()
    for point in (*out["change_points"], *out["classical"]["change_points"]):
        row = prep.user_rows([point["index"]])[0]
        point["grid_index"] = point["index"]
        point["index"] = row
        point["time"] = _plain_time(prep.user_times([row])[0])
    out["agreement"]["pairs"] = [prep.user_rows(p) for p in out["agreement"]["pairs"]]
    out["n_rows"] = prep.n_user
    return out


# ---------------------------------------------------------------- numbers, times, frequencies


def fmt_number(value: object) -> str:
    """A number as people read it: "297,712" (not 2.977e+05), "4.18", "0.0123"; "n/a" when
    missing or not finite."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return MISSING
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a == 0 or a >= 0.001:
        return f"{v:.4g}"
    return f"{v:.2e}"


# pandas frequency code (without its multiple) -> (one step, the unit of several steps)
_FREQ_WORDS = {
    "s": ("every second", "seconds"), "min": ("every minute", "minutes"),
    "h": ("hourly", "hours"), "D": ("daily", "days"), "B": ("every business day", "business days"),
    "W": ("weekly", "weeks"), "MS": ("monthly", "months"), "ME": ("monthly", "months"),
    "M": ("monthly", "months"), "QS": ("quarterly", "quarters"), "QE": ("quarterly", "quarters"),
    "Q": ("quarterly", "quarters"), "YS": ("yearly", "years"), "YE": ("yearly", "years"),
    "Y": ("yearly", "years"), "A": ("yearly", "years"), "AS": ("yearly", "years"),
}


def _freq_parts(freq: str) -> tuple[int, str]:
    head = freq.split("-")[0]  # "W-SUN" -> "W"
    digits = "".join(ch for ch in head if ch.isdigit())
    return int(digits or 1), head[len(digits):]


def frequency_words(freq: str | None) -> str:
    """A pandas frequency in words: "h" -> "hourly", "MS" -> "monthly", "15min" -> "every 15
    minutes"; None -> "none (row numbers)"."""
    if not freq:
        return "none (row numbers)"
    n, base = _freq_parts(freq)
    words = _FREQ_WORDS.get(base) or _FREQ_WORDS.get(base.upper()) or _FREQ_WORDS.get(base.lower())
    if words is None:
        return freq
    return words[0] if n == 1 else f"every {n} {words[1]}"


def time_format(times: pd.Index | pd.Series | np.ndarray, freq: str | None = None) -> str | None:
    """The strftime format that shows ``times`` without noise: the year for yearly data, the
    month for monthly or quarterly data, the day when every time is midnight, else minutes
    (seconds when any are set). None when the values are not timestamps."""
    values = pd.Series(np.asarray(times)).dropna()
    if not pd.api.types.is_datetime64_any_dtype(values):
        if pd.api.types.infer_dtype(values, skipna=True) not in ("datetime", "datetime64"):
            return None  # row numbers, labels
        values = pd.to_datetime(values)
    t = pd.DatetimeIndex(values)
    if not len(t):
        return None
    base = _freq_parts(freq)[1] if freq else ""
    if base.upper() in {"YS", "YE", "Y", "A", "AS"}:
        return "%Y"
    if base.upper() in {"MS", "ME", "M", "QS", "QE", "Q"}:
        return "%Y-%m"
    if (t == t.normalize()).all():
        return "%Y-%m-%d"
    return "%Y-%m-%d %H:%M:%S" if (t.second != 0).any() else "%Y-%m-%d %H:%M"


def fmt_times(times: pd.Index | pd.Series | np.ndarray, freq: str | None = None) -> list[str]:
    """``times`` as text in ``time_format``; row numbers and other labels as they are."""
    fmt = time_format(times, freq)
    if fmt is None:
        return [str(t) for t in np.asarray(times)]
    return [MISSING if pd.isna(t) else pd.Timestamp(t).strftime(fmt) for t in np.asarray(times)]


def forecast_csv(forecast: pd.DataFrame, freq: str | None = None) -> str:
    """A forecast table (time, target, q0.1, q0.5, q0.9) as CSV: times in ``time_format``,
    values to 6 significant digits (not 17), names that a spreadsheet would run as a formula
    neutralised (``safeio.csv_text``)."""
    out = forecast.copy()
    if "time" in out:
        out["time"] = fmt_times(out["time"], freq)
    return csv_text(out, float_format="%.6g")


def data_report_lines(prep: Prepared) -> list[str]:
    """The data report of a prepared series, in words: rows, span, frequency, what was done."""
    r, index = prep.report, prep.frame.index
    start, end = fmt_times(index[[0, -1]], prep.freq)
    missing = ", ".join(f"{k} {v:,}" for k, v in r.missing.items() if v) or "none"
    return [
        f"{r.rows:,} rows from {start} to {end}",
        f"frequency: {frequency_words(prep.freq)}",
        f"duplicate timestamps: {r.duplicates:,}",
        f"gaps (missing timestamps): {r.gaps:,}",
        f"missing values: {missing}",
        *r.actions,
    ]


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


# ---------------------------------------------------------------- the skip gate in plain terms

MEMORY = 0.5  # a gate unit above this passes on more of the LSTM's output than of the input


@dataclass(frozen=True)
class GateReading:
    """The skip gate (T, W) summed up for a non-expert: per step, the share of units leaning on
    the LSTM's memory (gate > 0.5) rather than on the current input's projection."""

    memory_share: np.ndarray  # (T,) in [0, 1]
    mean_share: float
    low: int  # step where the share is lowest (the model leans most on the current input)
    high: int  # step where it is highest

    def sentence(self, times: pd.Index | None = None, freq: str | None = None) -> str:
        def at(i: int) -> str:
            return fmt_times(times[[i]], freq)[0] if times is not None else f"step {i}"

        lo, hi = self.memory_share[self.low], self.memory_share[self.high]
        if hi - lo < 0.02:
            return (
                f"{self.mean_share:.0%} of the gate's units lean on the LSTM's memory at every "
                "step: the mix hardly changes over this span."
            )
        return (
            f"On average {self.mean_share:.0%} of the gate's units lean on the LSTM's memory; "
            f"the share ranges from {lo:.0%} (at {at(self.low)}, where the model leans most on "
            f"the latest input) to {hi:.0%} (at {at(self.high)})."
        )


def gate_reading(gate: np.ndarray) -> GateReading:
    """Summarise skip-gate activations ``gate`` (T, W) in [0, 1] (1 = the LSTM output, 0 = the
    input's projection) as the share of units above ``MEMORY`` at each step."""
    g = np.asarray(gate, dtype=np.float64)
    share = (g > MEMORY).mean(axis=1)
    return GateReading(share, float(share.mean()), int(share.argmin()), int(share.argmax()))


def attention_reading(
    attention: np.ndarray, times: pd.Index | None = None, freq: str | None = None
) -> str:
    """Where forecasts look, in one sentence: the share of attention on the latest tenth of the
    window and the most attended lag.

    Args:
        attention: (R, L) weights of R windows (or heads), oldest step first; rows sum to 1.
        times: (L,) the window's times, to name the most attended step (one window only).
    """
    a = np.nanmean(np.atleast_2d(np.asarray(attention, dtype=np.float64)), axis=0)  # (L,)
    L = len(a)
    k = max(1, L // 10)
    latest = float(a[-k:].sum() / max(a.sum(), 1e-12))
    top = int(np.argmax(a))
    where = (
        f"the step it weighs most is {fmt_times(times[[top]], freq)[0]}"
        if times is not None
        else f"the most attended lag is {L - top} step{'s' * (L - top != 1)} back"
    )
    even = k / L
    tilt = (
        "more than an even spread would"
        if latest > 1.5 * even
        else "less than an even spread would" if latest < even / 1.5 else "about an even share"
    )
    return (
        f"{latest:.0%} of the attention goes to the latest {k} of {L} steps ({tilt}); {where}."
    )


def times_at(index: pd.Index, rows) -> pd.Index:
    """The times of ``rows`` (0-based) of ``index``, leaving out rows it does not have."""
    return index[[int(i) for i in rows if 0 <= int(i) < len(index)]]


def last_steps(tr: Trace, n: int | None) -> Trace:
    """The trace of the last ``n`` steps only (all when None): what the sidebar's "history
    shown" setting keeps on the whole-series charts. Heatmap rows are kept when their window
    ends inside that span."""
    T = len(tr.index)
    if n is None or n >= T:
        return tr
    start = T - n
    ends = tr.map_starts + tr.lookback - 1
    rows = ends >= start
    return Trace(
        index=tr.index[start:],
        lookback=tr.lookback,
        attention=tr.attention[start:],
        gate=tr.gate[start:],
        coverage=tr.coverage[start:],
        attention_map=tr.attention_map[rows],
        map_starts=tr.map_starts[rows] - start,
        map_block=tr.map_block,
    )


def backtest_caption(backtest, horizon: int) -> str:
    """What the backtest table's columns mean, without promising what MASE cannot."""
    return (
        f"{backtest.windows:,} forecast windows in the held-out end, every step and target. "
        "MASE divides each error by the in-sample error of a one-step naive forecast, so "
        f"forecasts {horizon} steps ahead usually score above 1 even when they beat every "
        "baseline: compare the rows (lower is better) rather than reading 1 as the bar. "
        "coverage80 is the share of actual values inside the 80% interval (0.8 is calibrated; "
        f"{MISSING} for methods without an interval); "
        + (
            f"seasonal period m={backtest.season}."
            if backtest.season > 1
            else "no seasonal cycle was found (the time step names none and the training rows "
            "show none), so the seasonal naive is the naive."
        )
    )


def detection_caption(detection) -> str:
    """The count behind the benchmark scores, and why finding nothing does not score 0."""
    m = detection.metrics
    if m is None:
        return "Give known change points above to score the detectors against them."
    return (
        f"This detector {m.sentence()}; the classical one "
        f"{detection.classical_metrics.sentence()}. F1 and precision follow TCPDBench, which "
        "counts the series' start as a change point both sides always share, so a detector "
        "that finds nothing still scores above 0."
    )
