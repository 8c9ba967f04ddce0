"""Reading tables, cleaning a series with a visible report, scaling, windowing, and demo data."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lstm_core.config import Config, DataConfig
from lstm_core.errors import DataError, SeriesTooShort

DEMO_DIR = Path(__file__).parent / "demo_data"
TIME_NAMES = ("time", "date", "datetime", "timestamp", "ds", "year", "month", "day", "period")
MAX_BYTES = 200 * 1024 * 1024  # refuse larger tables before parsing


# ---------------------------------------------------------------- reading


def read_table(source: str | Path | bytes, name: str | None = None) -> pd.DataFrame:
    """Read CSV/TSV (delimiter sniffed), Parquet, Excel or JSON into a DataFrame.

    Args:
        source: a file path, or the file's bytes (then ``name`` gives the extension).
        name: file name used to pick the format when ``source`` is bytes.

    Raises:
        DataError: unknown format, unreadable or empty file.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            if path.stat().st_size > MAX_BYTES:
                raise DataError(f"{path.name} is larger than {MAX_BYTES >> 20} MB; trim it first")
            raw = path.read_bytes()
        except OSError as e:
            raise DataError(f"cannot read {path}: {e.strerror}") from None
    else:
        raw = bytes(source)
        if len(raw) > MAX_BYTES:
            raise DataError(f"the file is larger than {MAX_BYTES >> 20} MB; trim it first")
    ext = Path(name or "data.csv").suffix.lower()
    if not raw.strip():
        raise DataError(f"{name or 'the file'} is empty")
    try:
        if ext in (".csv", ".tsv", ".txt", ""):
            df = _read_text_table(raw)
        elif ext == ".parquet":
            df = pd.read_parquet(io.BytesIO(raw))
        elif ext in (".xlsx", ".xls", ".xlsm"):
            df = pd.read_excel(io.BytesIO(raw))
        elif ext in (".json", ".jsonl"):
            df = _read_json(raw)
        else:
            raise DataError(
                f"{name}: unsupported file type {ext!r}; use CSV, TSV, Parquet, Excel (.xlsx) or JSON"
            )
    except DataError:
        raise
    except Exception as e:  # parsers raise many types; the user needs the message, not the trace
        raise DataError(f"{name or 'the file'} could not be read as {ext or 'CSV'}: {e}") from None
    if df.empty or df.shape[1] == 0:
        raise DataError(f"{name or 'the file'} has no rows or no columns")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_text_table(raw: bytes) -> pd.DataFrame:
    sample = raw[:20_000].decode("utf-8-sig", errors="replace")
    try:
        delim = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delim = ","
    # the bytes go to the parser as they are: a decoded copy of a 100 MB file cost 0.5 GB more
    # memory and 3x the time (benchmarks/scale.py)
    body = io.BytesIO(raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw)
    try:
        df = pd.read_csv(body, sep=delim, engine="pyarrow")
        # pyarrow reads a column that is not UTF-8 as bytes; the C engine below replaces them
        objects = [df[c].dropna() for c in df.columns if df[c].dtype == object]
        if not any(len(v) and isinstance(v.iloc[0], bytes) for v in objects):
            return df
    except Exception:  # pyarrow is strict about ragged rows; the C engine says where
        pass
    body.seek(0)
    return pd.read_csv(body, sep=delim, encoding="utf-8", encoding_errors="replace")


def _read_json(raw: bytes) -> pd.DataFrame:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        return pd.read_json(io.BytesIO(raw), lines=True)
    if isinstance(obj, dict) and "series" in obj and "time" in obj:  # TCPD's schema
        cols = {s.get("label", f"V{i}"): s["raw"] for i, s in enumerate(obj["series"])}
        df = pd.DataFrame(cols)
        t = obj["time"]
        if "raw" in t and "format" in t:
            df.insert(0, "time", pd.to_datetime(t["raw"], format=t["format"], errors="coerce"))
        return df
    if isinstance(obj, dict):
        return pd.DataFrame(obj)
    if isinstance(obj, list) and obj and not isinstance(obj[0], (dict, list)):
        return pd.DataFrame({"value": obj})  # a bare list of numbers
    if not isinstance(obj, list):
        raise DataError("the JSON holds a single value; expected a table (records or columns)")
    return pd.DataFrame.from_records(obj)


# ---------------------------------------------------------------- cleaning


@dataclass(frozen=True)
class DataReport:
    """What was found in the data and what was done about it."""

    rows: int
    start: str
    end: str
    frequency: str | None
    duplicates: int
    gaps: int  # missing timestamps inserted
    missing: dict[str, int]  # column -> missing values before the policy
    actions: tuple[str, ...]

    def lines(self) -> list[str]:
        out = [
            f"{self.rows} rows from {self.start} to {self.end}",
            f"frequency: {self.frequency or 'none (row index)'}",
            f"duplicate timestamps: {self.duplicates}",
            f"gaps (missing timestamps): {self.gaps}",
            "missing values: "
            + (", ".join(f"{k} {v}" for k, v in self.missing.items() if v) or "none"),
        ]
        return out + list(self.actions)


@dataclass(frozen=True)
class Prepared:
    """A clean numeric series: targets first, then covariates, indexed by time (or row number)."""

    frame: pd.DataFrame
    targets: tuple[str, ...]
    covariates: tuple[str, ...]
    freq: str | None
    report: DataReport
    time_col: str | None

    @property
    def columns(self) -> tuple[str, ...]:
        return self.targets + self.covariates


def content_hash(df: pd.DataFrame) -> str:
    """sha256 of a table's content (values, index and column names): equal tables, equal hash."""
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()


def detect_time_column(df: pd.DataFrame) -> str | None:
    """The column that holds timestamps: a datetime dtype, a time-like name, or parseable text."""
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            return c
    for c in df.columns:
        if c.lower() in TIME_NAMES and _parse_time(df[c]) is not None:
            return c
    for c in df.columns:
        if _is_text(df[c]) and _parse_time(df[c]) is not None:
            return c
    return None


def _is_text(col: pd.Series) -> bool:
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def _parse_time(col: pd.Series) -> pd.Series | None:
    """Timestamps from a column, or None if most values are not times."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return col
    if pd.api.types.is_numeric_dtype(col):
        v = col.dropna()
        if len(v) and (v == v.round()).all() and v.between(1000, 2999).all():  # years
            return pd.to_datetime(col.astype("Int64").astype(str), format="%Y", errors="coerce")
        return None
    parsed = pd.to_datetime(col.astype(str), errors="coerce", format="mixed")
    return parsed if parsed.notna().mean() >= 0.9 else None


def numeric_columns(df: pd.DataFrame, time_col: str | None = None) -> list[str]:
    """Columns usable as inputs: numeric, or text that is mostly numbers."""
    out = []
    for c in df.columns:
        if c == time_col:
            continue
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            out.append(c)
        elif _is_text(df[c]) and pd.to_numeric(df[c], errors="coerce").notna().mean() > 0.5:
            out.append(c)
    return out


def prepare(df: pd.DataFrame, cfg: DataConfig) -> Prepared:
    """Select, type-check, sort and regularise the series; apply the missing-value policy.

    Raises:
        DataError: a named column is missing, holds text, is all-NaN or constant; bad timestamps;
            missing values under the ``refuse`` policy.
    """
    actions: list[str] = []
    time_col = cfg.time_col
    if time_col is not None and time_col not in df.columns:
        raise DataError(
            f"time column {time_col!r} not found; columns are {', '.join(map(str, df.columns))}"
        )
    time_col = time_col or detect_time_column(df)
    numeric = numeric_columns(df, time_col)
    targets = tuple(cfg.targets) or tuple(numeric[:1])
    if not targets:
        raise DataError(
            "no numeric column found; the table needs at least one column of numbers to forecast"
        )
    covariates = tuple(c for c in cfg.covariates if c not in targets)
    for c in targets + covariates:
        if c not in df.columns:
            raise DataError(
                f"column {c!r} not found; columns are {', '.join(map(str, df.columns))}"
            )
    frame = pd.DataFrame(index=df.index)
    for c in targets + covariates:
        frame[c] = _to_numeric(df[c], c)

    duplicates = gaps = 0
    freq: str | None = None
    if time_col is not None:
        t = _parse_time(df[time_col])
        if t is None:
            raise DataError(
                f"time column {time_col!r} does not hold dates or times "
                f"(first value {df[time_col].iloc[0]!r}); pick another time column or none"
            )
        bad = int(t.isna().sum())
        if bad:
            row = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise DataError(
                f"time column {time_col!r}: {bad} value(s) are not times, first at row {row + 2} "
                f"({df[time_col].iloc[row]!r}); fix or remove those rows"
            )
        frame.index = pd.DatetimeIndex(t, name=time_col)
        if not frame.index.is_monotonic_increasing:
            frame = frame.sort_index(kind="stable")
            actions.append("sorted the rows by time")
        dup = frame.index.duplicated(keep="last")
        duplicates = int(dup.sum())
        if duplicates:
            frame = frame[~dup]
            actions.append(f"dropped {duplicates} duplicate timestamp(s), keeping the last row")
        freq = cfg.frequency or _infer_freq(frame.index)
        if freq is not None and len(frame) > 2:
            try:
                full = pd.date_range(frame.index[0], frame.index[-1], freq=freq, name=time_col)
            except ValueError:
                raise DataError(f"data.frequency {freq!r} is not a pandas frequency") from None
            if len(full) > 20 * len(frame):
                raise DataError(
                    f"frequency {freq!r} would turn {len(frame)} rows into {len(full)}; "
                    "set data.frequency to the real spacing of the data"
                )
            gaps = len(full.difference(frame.index))
            if gaps:
                frame = frame.reindex(frame.index.union(full))
                actions.append(f"inserted {gaps} missing timestamp(s) at frequency {freq}")
    else:
        frame = frame.reset_index(drop=True)
        actions.append("no time column: using the row number as time")

    missing = {c: int(frame[c].isna().sum()) for c in frame.columns}
    for c in frame.columns:
        if frame[c].notna().sum() == 0:
            raise DataError(f"column {c!r} has no values (all missing); remove it from the inputs")
    if any(missing.values()):
        cols = ", ".join(f"{c} ({n})" for c, n in missing.items() if n)
        if cfg.missing == "refuse":
            raise DataError(
                f"missing values in {cols}; set data.missing to interpolate or ffill, or fill them"
            )
        if cfg.missing == "interpolate":
            frame = frame.interpolate(method="linear", limit_direction="both")
            actions.append(f"interpolated missing values in {cols}")
        else:
            frame = frame.ffill().bfill()
            actions.append(f"forward-filled missing values in {cols}")
    if len(frame) < 3:
        raise SeriesTooShort(
            f"only {len(frame)} row(s) left after cleaning; a series needs many more rows "
            "(at least lookback + horizon + validation)",
            3,
        )
    for c in frame.columns:
        if frame[c].nunique() <= 1:
            role = "target" if c in targets else "covariate"
            raise DataError(
                f"{role} {c!r} is constant ({frame[c].iloc[0]}); nothing to learn from it, "
                f"choose another {role}"
            )
    frame = frame.astype("float64")
    index = frame.index
    report = DataReport(
        rows=len(frame),
        start=str(index[0]),
        end=str(index[-1]),
        frequency=freq,
        duplicates=duplicates,
        gaps=gaps,
        missing=missing,
        actions=tuple(actions),
    )
    return Prepared(frame, targets, covariates, freq, report, time_col)


def _to_numeric(col: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        raise DataError(f"column {name!r} holds true/false values, not numbers")
    if pd.api.types.is_numeric_dtype(col):
        return col.astype("float64")
    num = pd.to_numeric(col, errors="coerce")
    text = num.isna() & col.notna() & (col.astype(str).str.strip() != "")
    if text.any():
        row = int(np.flatnonzero(text.to_numpy())[0])
        raise DataError(
            f"column {name!r} has text where numbers are expected: {int(text.sum())} value(s), "
            f"first {col.iloc[row]!r} at row {row + 2}; fix them or leave those cells empty"
        )
    return num.astype("float64")


def _infer_freq(index: pd.DatetimeIndex) -> str | None:
    """pandas' inferred frequency, or with gaps the most common spacing (calendar-aware)."""
    if len(index) < 3:
        return None
    with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(index)
    if freq is not None:
        return freq if isinstance(freq, str) else freq.freqstr
    step = pd.Series(index[1:] - index[:-1]).mode().iloc[0]
    days = step / pd.Timedelta(days=1)
    starts = bool((index.day == 1).all())
    if 28 <= days <= 31:
        return "MS" if starts else "ME"
    if 89 <= days <= 92:
        return "QS" if starts else "QE"
    if 365 <= days <= 366:
        return "YS" if starts else "YE"
    if days >= 1 and days == int(days):
        return "D" if days == 1 else f"{int(days)}D"
    try:
        return pd.tseries.frequencies.to_offset(step).freqstr
    except ValueError:
        return None


def check_length(n_rows: int, lookback: int, horizon: int, val_fraction: float) -> None:
    """Raise SeriesTooShort unless both splits hold at least one window."""
    minimum = minimum_length(lookback, horizon, val_fraction)
    if n_rows < minimum:
        suggested = suggest_lookback(n_rows, horizon, val_fraction)
        offer = (
            f"; try data.lookback: {suggested}"
            if suggested
            else f"; also shorten data.horizon (now {horizon})"
        )
        raise SeriesTooShort(
            f"the series has {n_rows} rows, but lookback {lookback} + horizon {horizon} needs at "
            f"least {minimum} (for training and validation windows){offer}",
            minimum,
            suggested,
        )


def minimum_length(lookback: int, horizon: int, val_fraction: float) -> int:
    # the validation part must hold one full window of its own targets
    val_rows = horizon + 1
    return int(np.ceil(max((lookback + horizon + 1) + val_rows, (lookback + horizon) / (1 - val_fraction))))


def suggest_lookback(n_rows: int, horizon: int, val_fraction: float) -> int | None:
    for lb in range(min(n_rows, 512), 1, -1):
        if n_rows >= minimum_length(lb, horizon, val_fraction) + 2 * lb:
            return lb
    return 2 if n_rows >= minimum_length(2, horizon, val_fraction) else None


# ---------------------------------------------------------------- scaling and windows


@dataclass(frozen=True)
class Scaler:
    """Per-column standardisation fitted on the training part only."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, values: np.ndarray) -> Scaler:
        """values (T, F) -> Scaler; a constant column gets std 1."""
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(tuple(map(float, mean)), tuple(map(float, std)))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - np.asarray(self.mean)) / np.asarray(self.std)

    def inverse(self, values: np.ndarray, columns: slice | list[int] = slice(None)) -> np.ndarray:
        """Undo the scaling of the given columns (the last axis of ``values``)."""
        return values * np.asarray(self.std)[columns] + np.asarray(self.mean)[columns]


def make_windows(x: torch.Tensor, lookback: int, horizon: int, n_targets: int):
    """Sliding windows as views of ``x`` (T, F): no copy of the series is made.

    Returns:
        inputs (N, lookback, F) and targets (N, horizon, n_targets), N = T - lookback - horizon + 1,
        both views sharing ``x``'s storage.
    """
    w = x.unfold(0, lookback + horizon, 1).transpose(1, 2)  # (N, L+H, F)
    return w[:, :lookback], w[:, lookback:, :n_targets]


# ---------------------------------------------------------------- demo data


def synthetic(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, list[int]]:
    """Hourly multivariate series with regime changes in level, variance and correlation.

    Columns: ``time``, target ``y``, covariates ``x1`` (drives y) and ``x2``.

    Returns:
        (frame, change points): each change point is the first row of a new regime.
    """
    rng = np.random.default_rng(seed)
    cps = [n // 4, n // 2, 3 * n // 4]
    t = np.arange(n)
    daily = np.sin(2 * np.pi * t / 24)
    level = np.where(t >= cps[0], 3.0, 0.0)
    scale = np.where((t >= cps[1]) & (t < cps[2]), 2.5, 1.0)
    # AR(1) noise keeps the series forecastable
    e = rng.normal(size=n) * scale
    ar = np.zeros(n)
    for i in range(1, n):
        ar[i] = 0.7 * ar[i - 1] + e[i]
    x1 = daily + 0.5 * rng.normal(size=n)
    x2 = 0.5 * rng.normal(size=n)
    coupling = np.where(t >= cps[2], -1.5, 1.0)  # correlation of y with x1 flips sign
    y = 10 + level + coupling * x1 + 0.5 * ar
    x2 = x2 + 0.3 * ar
    time = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"time": time, "y": y, "x1": x1, "x2": x2}), cps


@dataclass(frozen=True)
class Demo:
    name: str
    description: str
    frame: pd.DataFrame
    config: Config
    change_points: tuple[int, ...] = field(default=())


def demo_names() -> tuple[str, ...]:
    return ("regimes", "nile")


def load_demo(name: str) -> Demo:
    """A built-in dataset with a config that suits it and its known change points."""
    if name == "regimes":
        df, cps = synthetic()
        cfg = Config().replace(
            data={"time_col": "time", "targets": ["y"], "covariates": ["x1", "x2"], "lookback": 48,
                  "horizon": 24},
            training={"epochs": 15},
        )
        text = "Synthetic hourly series (1200 h): level, variance and correlation regime changes"
        return Demo(name, text, df, cfg, tuple(cps))
    if name == "nile":
        df = pd.read_csv(DEMO_DIR / "nile.csv")
        cfg = Config().replace(
            data={"time_col": "year", "targets": ["flow"], "lookback": 12, "horizon": 5},
            training={"epochs": 60, "batch_size": 16, "patience": 10},
        )
        text = "Nile flow at Aswan, 1871-1970 (annual); one change around 1898-1899"
        return Demo(name, text, df, cfg, (28,))
    raise DataError(f"unknown demo {name!r}; choose one of {', '.join(demo_names())}")
