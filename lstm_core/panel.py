"""Panels (many series in one table): read in a long or wide layout (guessed in panel_layout), a
per-series summary with its gaps, one series at a time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from lstm_core.config import Config, DataConfig
from lstm_core.data import Prepared, detect_time_column, numeric_columns, prepare, time_values
from lstm_core.errors import DataError
from lstm_core.panel_layout import Layout, guess_layout, once_per_series, step_columns
from lstm_core.safeio import clip, listed, quote
from lstm_core.text import fmt_times

VALUE = "value"  # the column that holds a wide table's series once selected
MAX_SERIES = 100_000
MAX_ID_CHARS = 200


# ---------------------------------------------------------------- the panel


@dataclass(frozen=True, eq=False)
class Panel:
    """Many series: each one's rows as a small table (time column, if any, then values).

    ``select(id)`` returns a table that ``prepare``/``Forecaster`` read like any single series.
    """

    ids: tuple[str, ...]  # in the order of first appearance in the file
    frames: Mapping[str, pd.DataFrame]  # id -> that series' rows, in file order
    layout: Layout
    id_col: str | None  # the long table's id column; None for a wide table
    time_col: str | None
    columns: tuple[str, ...]  # value columns of every series' table (wide: ("value",))

    def __len__(self) -> int:
        return len(self.ids)

    def __reduce__(self):
        """Pickles (the app hands a panel to its own training process) with ``frames`` as a
        plain dict, which a read-only mapping proxy cannot be."""
        return _panel, ({**self.__dict__, "frames": dict(self.frames)},)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def select(self, series_id: str) -> pd.DataFrame:
        """One series as a table: its time column (if any) and value columns.

        Raises:
            DataError: no series has this id.
        """
        frame = self.frames.get(str(series_id))
        if frame is None:
            raise DataError(
                f"no series {quote(series_id, 40)} in this panel; its {len(self.ids)} series "
                f"include {listed(self.ids, 5)}"
            )
        return frame

    def prepared(self, series_id: str, cfg: Config | None = None) -> Prepared:
        """One series cleaned as training cleans it (what the Data page plots and reports).

        Raises:
            DataError: no such series, or the series cannot be used as configured.
        """
        return prepare(self.select(series_id), self.config(cfg or Config()).data)

    def config(self, cfg: Config) -> Config:
        """``cfg`` with this panel's time column and targets: a wide panel's one column, else
        the configured targets, or the first value column when none is configured."""
        d = cfg.data
        if self.layout == "wide":
            targets, covariates = [VALUE], []
        else:
            targets = list(d.targets) or list(self.columns[:1])
            covariates = [c for c in d.covariates if c not in targets]
        return cfg.replace(
            data={"time_col": self.time_col, "targets": targets, "covariates": covariates}
        )


def _panel(parts: dict) -> Panel:
    """A Panel from ``Panel.__reduce__``'s parts."""
    return Panel(**{**parts, "frames": MappingProxyType(parts["frames"])})


def read_panel(
    df: pd.DataFrame,
    id_col: str | None = None,
    *,
    time_col: str | None = None,
    layout: Layout | None = None,
    columns: Sequence[str] | None = None,
) -> Panel:
    """Split a table into its series.

    Args:
        df: a long table (an id column, a time column, value columns) or a wide one (a time
            column and one column per series).
        id_col: the id column of a long table ("auto" or None: detected, see ``guess_layout``).
        time_col: the time column (None: detected).
        layout: "long" or "wide" (None: long when an id column is given or found).
        columns: value columns to keep (long: every series' columns; wide: the series).

    Raises:
        DataError: a named column is missing; no id column in a long table; rows without an
            id or time; too many series or ids too long.
    """
    if len(df) == 0 or df.shape[1] == 0:
        raise DataError("the table has no rows or no columns")
    for name, what in ((time_col, "time"), (None if id_col == "auto" else id_col, "id")):
        if name is not None and name not in df.columns:
            raise DataError(
                f"{what} column {quote(name, 40)} not found; columns are {listed(df.columns)}"
            )
    time_col = time_col or detect_time_column(df)
    if time_col is None and id_col not in (None, "auto") and layout != "wide":
        steps = [c for c in step_columns(df) if c != id_col]  # restarting in every series
        time_col = next((c for c in steps if once_per_series(df[id_col], df[c])), None)
    parsed, times = time_col, None  # the time column is parsed once (it can be slow)
    if time_col is not None:
        try:
            times = time_values(df, time_col)
        except DataError:  # said below, after the layout's own errors
            pass
    if id_col in (None, "auto") and layout != "wide":
        guess = guess_layout(df, time_col, times)
        id_col, time_col = guess.id_col, guess.time_col
        if id_col is None and layout == "long":
            raise DataError(
                "no column looks like a series id (text or whole numbers that repeat, one row "
                "per series and time); name the id column, or read the table as wide (one "
                "column per series)"
            )
        layout = layout or guess.layout
    layout = layout or "long"
    if id_col == time_col and id_col is not None:
        raise DataError(f"{quote(id_col, 40)} cannot be both the id and the time column")
    if times is None or time_col != parsed:
        times = time_values(df, time_col)
    if layout == "long":
        return _read_long(df, str(id_col), time_col, times, columns)
    return _read_wide(df, time_col, times, columns)


def _check_ids(ids: Sequence[str]) -> None:
    if len(ids) > MAX_SERIES:
        raise DataError(
            f"the table holds {len(ids)} series, over the {MAX_SERIES} read at once; split it"
        )
    long = [i for i in ids if len(i) > MAX_ID_CHARS]
    if long:
        raise DataError(
            f"{len(long)} series id(s) are longer than {MAX_ID_CHARS} characters (first "
            f"{quote(long[0], 40)}); is the id column right?"
        )


def _read_long(
    df: pd.DataFrame,
    id_col: str,
    time_col: str | None,
    times: pd.Series | None,
    columns: Sequence[str] | None,
) -> Panel:
    raw_ids = df[id_col]
    missing = raw_ids.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"id column {quote(id_col, 40)}: {int(missing.sum())} row(s) have no id, first at "
            f"row {row + 2}; fill or remove them"
        )
    values = list(columns) if columns else [c for c in numeric_columns(df, time_col) if c != id_col]
    for c in values:
        if c not in df.columns or c in (id_col, time_col):
            raise DataError(
                f"value column {quote(c, 40)} not found among the value columns; columns are "
                f"{listed(df.columns)}"
            )
    if not values:
        raise DataError(
            f"no numeric column besides the id {quote(id_col, 40)}; the table needs a column "
            "of numbers to forecast"
        )
    keep = ([time_col] if time_col else []) + values
    body = df[keep].copy()
    if times is not None:
        body[time_col] = times.to_numpy()
    ids = raw_ids.astype(str).str.strip().to_numpy()
    order = pd.unique(ids)
    _check_ids(order)
    groups = body.groupby(ids, sort=False)
    frames = {str(k): g.reset_index(drop=True) for k, g in groups}
    return Panel(
        tuple(map(str, order)), MappingProxyType(frames), "long", id_col, time_col, tuple(values)
    )


def _read_wide(
    df: pd.DataFrame,
    time_col: str | None,
    times: pd.Series | None,
    columns: Sequence[str] | None,
) -> Panel:
    names = list(columns) if columns else numeric_columns(df, time_col)
    for c in names:
        if c not in df.columns or c == time_col:
            raise DataError(
                f"series column {quote(c, 40)} not found; columns are {listed(df.columns)}"
            )
    if not names:
        raise DataError("no numeric column: a wide table needs one column of numbers per series")
    _check_ids(names)
    frames = {}
    for c in names:
        # a series starts at its first value and ends at its last: different lengths and starts
        present = np.flatnonzero(pd.to_numeric(df[c], errors="coerce").notna().to_numpy())
        rows = slice(present[0], present[-1] + 1) if len(present) else slice(0, 0)
        part = {VALUE: df[c].iloc[rows].to_numpy()}
        if times is not None:
            part = {time_col: times.iloc[rows].to_numpy(), **part}
        frames[str(c)] = pd.DataFrame(part)
    return Panel(tuple(map(str, names)), MappingProxyType(frames), "wide", None, time_col, (VALUE,))


# ---------------------------------------------------------------- summary


@dataclass(frozen=True)
class PanelSummary:
    """One row per series (``table``) and a few sentences about all of them (``lines()``).

    ``table`` columns: id, rows (as given), steps (start to end at the frequency), start, end,
    frequency, gaps (missing timestamps), missing (empty cells, gaps included), problem (why
    the series cannot be used as it is, else empty).
    """

    table: pd.DataFrame
    usable: tuple[str, ...]  # ids of the series without a problem

    def labels(self) -> dict[str, str]:
        """id -> a label for a series picker: "S1 · 300 steps · 2 gaps", or why it is unusable."""
        out = {}
        for row in self.table.itertuples(index=False):
            if row.problem:
                out[row.id] = f"{row.id} · unusable: {clip(row.problem, 60)}"
            else:
                gaps = f" · {row.gaps} gap{'s' * (row.gaps != 1)}" if row.gaps else ""
                out[row.id] = f"{row.id} · {row.steps} steps{gaps}"
        return out

    def lines(self) -> list[str]:
        t = self.table
        n = len(t)
        bad = t[t["problem"] != ""]
        out = [
            f"{n} series" + (f", {len(bad)} unusable ({listed(bad['id'], 3)})" if len(bad) else "")
        ]
        ok = t[t["problem"] == ""]
        if len(ok):
            r = ok["steps"]
            out.append(f"length: {r.min()} to {r.max()} steps (median {int(r.median())})")
            first, last = (fmt_times([ok[c].min(), ok[c].max()]) for c in ("start", "end"))
            out.append(f"starts from {first[0]} to {first[1]}; ends from {last[0]} to {last[1]}")
            gappy = ok[ok["gaps"] > 0]
            if len(gappy):
                worst = gappy.sort_values("gaps", ascending=False).iloc[0]
                out.append(
                    f"{len(gappy)} series {'has' if len(gappy) == 1 else 'have'} missing "
                    f"timestamps ({int(gappy['gaps'].sum())}"
                    f" in all; most in {clip(worst['id'], 40)}: {int(worst['gaps'])})"
                )
            else:
                out.append("no missing timestamps")
            freqs = ok["frequency"].fillna("none").value_counts()
            if len(freqs) > 1:
                out.append(
                    "frequencies differ: " + ", ".join(f"{k} ({v})" for k, v in freqs.items())
                )
        return out


def describe(panel: Panel, data: DataConfig | None = None) -> PanelSummary:
    """Each series' length, dates, frequency and gaps, cleaned as training would clean it.

    Args:
        panel: the series.
        data: the data settings (frequency, missing-value policy); the panel's time column and
            value columns are used whatever it says.
    """
    cfg = _summary_config(panel, data)
    rows = []
    for sid in panel.ids:
        frame = panel.select(sid)
        row = {
            "id": sid,
            "rows": len(frame),
            "steps": 0,
            "start": None,
            "end": None,
            "frequency": None,
            "gaps": 0,
            "missing": 0,
            "problem": "",
        }
        try:
            rep = prepare(frame, cfg).report
            row.update(
                steps=rep.rows,
                start=rep.start,
                end=rep.end,
                frequency=rep.frequency,
                gaps=rep.gaps,
                missing=sum(rep.missing.values()),
            )
        except DataError as e:
            row["problem"] = str(e)
        rows.append(row)
    table = pd.DataFrame(rows)
    return PanelSummary(table, tuple(table.loc[table["problem"] == "", "id"]))


def _summary_config(panel: Panel, data: DataConfig | None) -> DataConfig:
    """Every value column as a target (so gaps in any are counted); missing values filled."""
    base = data or DataConfig()
    missing = "interpolate" if base.missing == "refuse" else base.missing
    return DataConfig(
        **{
            **base.__dict__,
            "time_col": panel.time_col,
            "targets": list(panel.columns),
            "covariates": [],
            "missing": missing,
        }
    )


def gaps(panel: Panel, series_id: str, data: DataConfig | None = None) -> pd.DataFrame:
    """Where one series' values are missing: runs of missing timestamps or empty cells.

    Returns:
        Columns start, end (times, or row numbers without a time column) and steps, one row
        per run, in time order.
    """
    frame = panel.select(series_id)
    prep = prepare(frame, _summary_config(panel, data))
    raw = frame
    if panel.time_col is not None:
        raw = frame.drop_duplicates(panel.time_col, keep="last").set_index(panel.time_col)
    values = raw[list(panel.columns)].apply(pd.to_numeric, errors="coerce")
    empty = values.reindex(prep.frame.index).isna().any(axis=1).to_numpy()
    edges = np.diff(np.r_[0, empty.astype(np.int8), 0])
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    index = prep.frame.index
    return pd.DataFrame(
        {"start": index[starts], "end": index[stops - 1], "steps": (stops - starts).astype(int)}
    )
