"""A panel's layout guessed from its table: long (an id column names each row's series) or wide
(each numeric column one series), the id column's candidates and a time column of steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from lstm_core.data import TIME_NAMES, detect_time_column, time_values, whole_steps
from lstm_core.errors import DataError

Layout = Literal["long", "wide"]

# names that suggest a column of series ids (lower case, matched as whole words or suffixes)
ID_HINTS = (
    "id",
    "series",
    "unique_id",
    "item",
    "store",
    "sensor",
    "meter",
    "sku",
    "station",
    "key",
    "name",
    "group",
    "site",
    "region",
    "product",
    "customer",
    "device",
)


@dataclass(frozen=True)
class PanelGuess:
    """How a table most likely holds its series (what the Data page preselects)."""

    layout: Layout
    id_col: str | None  # the likeliest id column (long layout), else None
    time_col: str | None
    candidates: tuple[str, ...]  # every column that could hold ids, likeliest first


def id_candidates(
    df: pd.DataFrame, time_col: str | None = None, times: pd.Series | None = None
) -> list[str]:
    """Columns that could hold series ids, likeliest first.

    A candidate is text, categorical or whole numbers, repeats (at most half as many distinct
    values as rows) and has at least two values; with a time column, the pair (id, time) must
    be nearly unique (each series has each time once) while times repeat across series, or the
    column is named as ids (series that never overlap in time). Text beats numbers, and a name
    such as ``id``, ``series`` or ``store`` beats none. ``times``: ``time_col`` already parsed
    (``time_values``), if the caller has it.
    """
    n = len(df)
    if n < 4:
        return []
    if times is None:
        try:
            times = time_values(df, time_col)
        except DataError:
            times = None
    scored = []
    for c in df.columns:
        if c == time_col:
            continue
        col = df[c]
        text = is_text(col)
        if not (text or is_whole(col)):
            continue
        if text and pd.to_numeric(col, errors="coerce").notna().mean() > 0.5 and not _hinted(c):
            continue  # numbers stored as text are values, unless named as ids
        k = col.nunique(dropna=True)
        if not 2 <= k <= n // 2:
            continue
        if times is not None and not once_per_series(col, times):
            continue
        if times is not None and times.nunique() >= n and not _hinted(c):
            continue  # no time repeats: a label of rows (a regime, a weekday), unless named as ids
        scored.append((not text, not _hinted(c), list(df.columns).index(c), c))
    return [c for *_, c in sorted(scored)]


def is_text(col: pd.Series) -> bool:
    """Text or categories: a column that could name series."""
    return (
        col.dtype == object
        or pd.api.types.is_string_dtype(col)
        or isinstance(col.dtype, pd.CategoricalDtype)
    )


def is_whole(col: pd.Series) -> bool:
    """Whole numbers (not booleans): a column that could number series."""
    return pd.api.types.is_integer_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _hinted(name: str) -> bool:
    low = str(name).lower()
    words = low.replace("-", "_").replace(" ", "_").split("_")
    return any(h in words or low.endswith(h) for h in ID_HINTS)


def guess_layout(
    df: pd.DataFrame, time_col: str | None = None, times: pd.Series | None = None
) -> PanelGuess:
    """Long (an id column was found) or wide (each numeric column one series).

    Without a time column of dates or rising numbers, a time-named column of whole numbers
    that holds each value once per series of some id column (steps that restart per series,
    in any row order) is the time column, with that id column. ``times``: ``time_col``
    already parsed, if the caller has it.
    """
    time_col = time_col or detect_time_column(df)
    if time_col is None:
        for steps in step_columns(df):
            candidates = tuple(id_candidates(df, steps))  # each holds every step once
            if candidates:
                return PanelGuess("long", candidates[0], steps, candidates)
    candidates = tuple(id_candidates(df, time_col, times))
    if candidates:
        return PanelGuess("long", candidates[0], time_col, candidates)
    return PanelGuess("wide", None, time_col, ())


def step_columns(df: pd.DataFrame) -> list[str]:
    """Time-named columns of whole numbers (not years, which are dates)."""
    return [
        c for c in df.columns if str(c).lower() in TIME_NAMES and whole_steps(df[c]) is not None
    ]


def once_per_series(ids: pd.Series, times: pd.Series) -> bool:
    """Whether each series has each time once (duplicates in at most 1% of the rows)."""
    pairs = pd.DataFrame({"id": ids.to_numpy(), "t": times.to_numpy()})
    return bool(pairs.duplicated().mean() <= 0.01)
