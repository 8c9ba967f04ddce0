"""Cleaning a table into a numeric series with a visible report (``prepare``), and mapping the
user's rows to the model's grid."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstm_core.config import DataConfig
from lstm_core.data.limits import MAX_ABS
from lstm_core.data.times import (
    detect_time_column,
    infer_freq,
    is_text,
    regular_index,
    time_values,
)
from lstm_core.errors import DataError, SeriesTooShort
from lstm_core.safeio import listed, quote


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
    """A clean numeric series: targets first, then covariates, indexed by time (or row number).

    The frame's rows (the model's grid: sorted, duplicates dropped, missing steps inserted) can
    differ from the user's rows (the table's data rows as given, counted from 0): ``source``
    gives the user's row behind each grid row (-1 where a row was inserted), and ``user_rows``
    and ``grid_rows`` convert between the two, so people see and type their own row numbers.
    """

    frame: pd.DataFrame
    targets: tuple[str, ...]
    covariates: tuple[str, ...]
    freq: str | None
    report: DataReport
    time_col: str | None
    # (T,) int64: the user's row at each grid row, -1 where inserted; None: the same rows
    source: np.ndarray | None = field(default=None, compare=False, repr=False)
    # (n_user,) int64: the grid row of each user row (a dropped duplicate: the row kept)
    located: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.targets + self.covariates

    @property
    def n_user(self) -> int:
        """Rows of the user's table (the grid's when it is the same rows)."""
        return len(self.frame) if self.located is None else len(self.located)

    @property
    def regridded(self) -> bool:
        """Whether the grid's rows differ from the user's (sorted, dropped or inserted)."""
        return self.source is not None

    def user_rows(self, grid_rows: Sequence[int]) -> list[int]:
        """The user's row for each grid row: the row itself, or for an inserted row the user's
        next row in time (the first observation at or after it, where a change is seen).

        Raises:
            DataError: a grid row outside the series.
        """
        rows = _checked(grid_rows, len(self.frame), "grid row")
        if self.source is None:
            return rows
        s = pd.Series(np.where(self.source >= 0, self.source, np.nan))
        nxt = s.bfill().ffill().to_numpy(np.int64)  # the last grid row is always a user row
        return [int(nxt[r]) for r in rows]

    def grid_rows(self, user_rows: Sequence[int]) -> list[int]:
        """The grid row of each of the user's rows, in the same order: what the detector and
        its scores count in.

        Raises:
            DataError: a row past the end of the user's table.
        """
        rows = _checked(user_rows, self.n_user, "row")
        if self.located is None:
            return rows
        return [int(self.located[r]) for r in rows]

    def user_times(self, user_rows: Sequence[int]) -> pd.Index:
        """The time (or row label) of each of the user's rows, as the grid holds it."""
        return self.frame.index[self.grid_rows(user_rows)]


def _checked(rows: Sequence[int], n: int, what: str) -> list[int]:
    out = [int(r) for r in rows]
    bad = [r for r in out if not 0 <= r < n]
    if bad:
        more = f" ({len(bad)} such rows)" if len(bad) > 1 else ""
        raise DataError(f"{what} {bad[0]} is outside the series{more}: rows run from 0 to {n - 1}")
    return out


def _row_maps(t: pd.Series | None, index: pd.Index) -> tuple[np.ndarray, np.ndarray] | None:
    """(source, located) of ``Prepared`` from the user's times in file order and the grid's
    index; None when the grid is the user's rows unchanged."""
    if t is None:
        return None
    n = len(t)
    times = pd.Index(t.to_numpy())
    located = index.get_indexer(times).astype(np.int64)  # every user time is on the grid
    rows = pd.Series(np.arange(n), index=times)
    kept = rows[~times.duplicated(keep="last")]  # the row prepare kept for each time
    source = kept.reindex(index).fillna(-1).to_numpy(np.int64)
    if len(index) == n and np.array_equal(source, np.arange(n)):
        return None
    return source, located


def content_hash(df: pd.DataFrame) -> str:
    """sha256 of a table's content (values, index and column names): equal tables, equal hash."""
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()


def numeric_columns(df: pd.DataFrame, time_col: str | None = None) -> list[str]:
    """Columns usable as inputs: numeric, or text that is mostly numbers."""
    out = []
    for c in df.columns:
        if c == time_col:
            continue
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            out.append(c)
        elif is_text(df[c]) and pd.to_numeric(df[c], errors="coerce").notna().mean() > 0.5:
            out.append(c)
    return out


PREPARE_FIELDS = ("time_col", "targets", "covariates", "frequency", "missing")  # what prepare reads


def prepare(df: pd.DataFrame, cfg: DataConfig) -> Prepared:
    """Select, type-check, sort and regularise the series; apply the missing-value policy.

    Raises:
        DataError: a named column is missing, holds text, is all-NaN or constant; bad timestamps;
            missing values under the ``refuse`` policy.
    """
    actions: list[str] = []
    frame, targets, covariates, time_col = _select(df, cfg)
    duplicates = gaps = 0
    freq: str | None = None
    t = time_values(df, time_col)
    if t is not None and pd.api.types.is_integer_dtype(t):
        frame, duplicates, gaps = _on_integer_time(frame, t, time_col, actions)
    elif t is not None:
        frame, duplicates, gaps, freq = _on_timestamps(frame, t, time_col, cfg.frequency, actions)
    else:
        frame = frame.reset_index(drop=True)
        actions.append("no time column: using the row number as time")
    frame, missing = _fill_missing(frame, cfg.missing, actions)
    _check_learnable(frame, targets)
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
    maps = _row_maps(t, frame.index)
    return Prepared(frame, targets, covariates, freq, report, time_col, *(maps or (None, None)))


def _select(
    df: pd.DataFrame, cfg: DataConfig
) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...], str | None]:
    """(the target and covariate columns as numbers, targets, covariates, the time column):
    the configured columns, else the first numeric one and a detected time column."""
    if len(df) == 0 or df.shape[1] == 0:
        raise DataError("the table has no rows or no columns")
    time_col = cfg.time_col
    if time_col is not None and time_col not in df.columns:
        raise DataError(
            f"time column {quote(time_col, 40)} not found; columns are {listed(df.columns)}"
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
            raise DataError(f"column {quote(c, 40)} not found; columns are {listed(df.columns)}")
    columns = {}
    for c in targets + covariates:
        columns[c] = _to_numeric(df[c], c)
        _check_finite(columns[c], c)
    frame = pd.DataFrame(columns, index=df.index)  # at once: per-column inserts warn when wide
    return frame, targets, covariates, time_col


def _on_timestamps(
    frame: pd.DataFrame,
    t: pd.Series,
    time_col: str | None,
    frequency: str | None,
    actions: list[str],
) -> tuple[pd.DataFrame, int, int, str | None]:
    """Index ``frame`` by timestamps: sorted, duplicates dropped (the last kept), and missing
    timestamps inserted at ``frequency`` (else the inferred one).

    Returns:
        (frame, duplicates dropped, timestamps inserted, frequency)
    """
    frame.index = pd.DatetimeIndex(t, name=time_col)
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
        actions.append("sorted the rows by time")
    dup = frame.index.duplicated(keep="last")
    duplicates = int(dup.sum())
    if duplicates:
        frame = frame[~dup]
        actions.append(f"dropped {duplicates} duplicate timestamp(s), keeping the last row")
    freq = frequency or infer_freq(frame.index)
    gaps = 0
    if freq is not None and len(frame) > 2:
        full = regular_index(frame.index, freq, time_col, frame.shape[1])
        gaps = len(full.difference(frame.index))
        if gaps:
            frame = frame.reindex(frame.index.union(full))
            actions.append(f"inserted {gaps} missing timestamp(s) at frequency {freq}")
    return frame, duplicates, gaps, freq


def _fill_missing(
    frame: pd.DataFrame, policy: str, actions: list[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """(frame, missing values per column before filling) under the missing-value ``policy``."""
    missing = {c: int(frame[c].isna().sum()) for c in frame.columns}
    for c in frame.columns:
        if frame[c].notna().sum() == 0:
            raise DataError(
                f"column {quote(c, 40)} has no values (all missing); remove it from the inputs"
            )
    if any(missing.values()):
        cols = ", ".join(f"{c} ({n})" for c, n in missing.items() if n)
        if policy == "refuse":
            raise DataError(
                f"missing values in {cols}; set data.missing to interpolate or ffill, or fill them"
            )
        if policy == "interpolate":
            frame = frame.interpolate(method="linear", limit_direction="both")
            actions.append(f"interpolated missing values in {cols}")
        else:
            frame = frame.ffill().bfill()
            actions.append(f"forward-filled missing values in {cols}")
    return frame, missing


def _check_learnable(frame: pd.DataFrame, targets: tuple[str, ...]) -> None:
    """Refuse a series too short, or with a constant column, to learn from."""
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
                f"{role} {quote(c, 40)} is constant ({frame[c].iloc[0]}); nothing to learn from "
                f"it, choose another {role}"
            )


def _on_integer_time(
    frame: pd.DataFrame, steps: pd.Series, time_col: str, actions: list[str]
) -> tuple[pd.DataFrame, int, int]:
    """Index ``frame`` by whole-number times (steps, row numbers): sorted, duplicates dropped
    (the last kept), and missing steps inserted at the most common spacing.

    Returns:
        (frame, duplicates dropped, steps inserted)
    """
    frame.index = pd.Index(steps.to_numpy(), name=time_col)
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
        actions.append(f"sorted the rows by {time_col}")
    dup = frame.index.duplicated(keep="last")
    duplicates = int(dup.sum())
    if duplicates:
        frame = frame[~dup]
        actions.append(f"dropped {duplicates} duplicate {time_col} value(s), keeping the last row")
    gaps = 0
    if len(frame) > 2:
        spacing = pd.Series(np.diff(frame.index.to_numpy())).mode().iloc[0]
        first, last = int(frame.index[0]), int(frame.index[-1])
        if (last - first) // spacing + 1 > 20 * len(frame):
            raise DataError(
                f"{time_col} runs from {first} to {last} in steps of {spacing}: that would make "
                f"{(last - first) // spacing + 1:,} rows from {len(frame):,}; fix the column"
            )
        full = pd.Index(np.arange(first, last + 1, spacing), name=time_col)
        if full.isin(frame.index).sum() == len(frame):  # every row sits on the grid
            gaps = len(full) - len(frame)
            if gaps:
                frame = frame.reindex(full)
                actions.append(f"inserted {gaps} missing {time_col} value(s) at steps of {spacing}")
    return frame, duplicates, gaps


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
            f"column {quote(name, 40)} has text where numbers are expected: {int(text.sum())} "
            f"value(s), first {quote(col.iloc[row], 40)} at row {row + 2}; fix them or leave "
            "those cells empty"
        )
    return num.astype("float64")


def _check_finite(values: pd.Series, name: str) -> None:
    """Refuse infinite values and magnitudes over MAX_ABS, naming the rows (missing values are
    left to the missing-value policy)."""
    v = values.to_numpy(np.float64)
    with np.errstate(invalid="ignore"):
        bad = np.isinf(v) | (np.abs(v) > MAX_ABS)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(str(r + 2) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise DataError(
            f"column {quote(name, 40)} has {len(rows)} infinite or too large value(s) "
            f"(|x| > {MAX_ABS:.0e}), at row(s) {shown} (first {v[rows[0]]:.3g}); fix or remove "
            "those rows"
        )
