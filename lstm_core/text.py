"""Numbers, sizes, times and frequencies as people read them, and tables of them as text.

Torch-free on purpose: the CLI, the panel summary and the pages format with it without loading
the network (``tests/test_text.py`` checks that importing it leaves torch out).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_core.safeio import csv_text

MISSING = "n/a"  # how a missing value reads, everywhere


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


def fmt_bytes(n: float) -> str:
    """A size in bytes as "512 B", "1.5 KB", "3.2 MB" or "1.1 GB"."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def format_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """Backtest metrics as text (``fmt_number``), "n/a" where a method has no interval."""
    return table.apply(lambda col: col.map(fmt_number))


# pandas frequency code (without its multiple) -> (one step, the unit of several steps)
_FREQ_WORDS = {
    "s": ("every second", "seconds"),
    "min": ("every minute", "minutes"),
    "h": ("hourly", "hours"),
    "D": ("daily", "days"),
    "B": ("every business day", "business days"),
    "W": ("weekly", "weeks"),
    "MS": ("monthly", "months"),
    "ME": ("monthly", "months"),
    "M": ("monthly", "months"),
    "QS": ("quarterly", "quarters"),
    "QE": ("quarterly", "quarters"),
    "Q": ("quarterly", "quarters"),
    "YS": ("yearly", "years"),
    "YE": ("yearly", "years"),
    "Y": ("yearly", "years"),
    "A": ("yearly", "years"),
    "AS": ("yearly", "years"),
}


_ALIASES = {"S": "s", "T": "min", "H": "h"}  # older pandas spellings


def freq_parts(freq: str) -> tuple[int, str]:
    """A pandas frequency as (steps, unit): "15min" -> (15, "min"), "W-SUN" -> (1, "W"),
    "H" -> (1, "h")."""
    head = freq.split("-")[0]  # "W-SUN" -> "W"
    digits = "".join(ch for ch in head if ch.isdigit())
    unit = head[len(digits) :]
    return int(digits or 1), _ALIASES.get(unit, unit)


def frequency_words(freq: str | None) -> str:
    """A pandas frequency in words: "h" -> "hourly", "MS" -> "monthly", "15min" -> "every 15
    minutes"; None -> "none (row numbers)"."""
    if not freq:
        return "none (row numbers)"
    n, base = freq_parts(freq)
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
    base = freq_parts(freq)[1] if freq else ""
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


def plain_time(t: object) -> object:
    """A time label as JSON: ISO text for timestamps, int for row numbers, else text."""
    if hasattr(t, "isoformat"):
        return t.isoformat()
    if isinstance(t, (int, np.integer)):
        return int(t)
    return str(t)


def times_at(index: pd.Index, rows) -> pd.Index:
    """The times of ``rows`` (0-based) of ``index``, leaving out rows it does not have."""
    return index[[int(i) for i in rows if 0 <= int(i) < len(index)]]


def forecast_csv(forecast: pd.DataFrame, freq: str | None = None) -> str:
    """A forecast table (time, target, q0.1, q0.5, q0.9) as CSV: times in ``time_format``,
    values to 6 significant digits (not 17), names that a spreadsheet would run as a formula
    neutralised (``safeio.csv_text``)."""
    out = forecast.copy()
    if "time" in out:
        out["time"] = fmt_times(out["time"], freq)
    return csv_text(out, float_format="%.6g")
