"""Which columns of a table to offer and propose: the time column, the likeliest target, and
the configured covariates that the table has."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lstm_core.config import Config
from lstm_core.data import TIME_NAMES, detect_time_column, numeric_columns
from lstm_core.errors import DataError


@dataclass(frozen=True)
class ColumnChoice:
    """The columns a table offers and the ones pre-selected for its targets and covariates."""

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
    "target",
    "y",
    "ot",
    "value",
    "sales",
    "demand",
    "load",
    "passengers",
    "flow",
    "volume",
    "consumption",
    "count",
    "price",
    "close",
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
