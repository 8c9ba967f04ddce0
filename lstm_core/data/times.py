"""Finding and parsing a table's time column: timestamps, whole-number steps, frequencies."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from lstm_core.data.limits import MAX_CELLS, MAX_TIME_CHARS, SNIFF_ROWS
from lstm_core.errors import DataError
from lstm_core.safeio import quote

TIME_NAMES = ("time", "date", "datetime", "timestamp", "ds", "year", "month", "day", "period", "step",
              "t", "index")


def detect_time_column(df: pd.DataFrame) -> str | None:
    """The column that holds timestamps: a datetime dtype, a time-like name (with dates, or with
    increasing whole numbers such as steps or years), or parseable text."""
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            return c
    for c in df.columns:
        if c.lower() in TIME_NAMES and (
            _parse_time(df[c]) is not None or _integer_time(df[c], increasing=True) is not None
        ):
            return c
    for c in df.columns:
        if is_text(df[c]) and _parse_time(df[c]) is not None:
            return c
    return None


def is_text(col: pd.Series) -> bool:
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def _integer_time(col: pd.Series, increasing: bool = False) -> pd.Series | None:
    """Whole numbers (row numbers, steps, years) as an int64 time column, or None. With
    ``increasing`` they must already rise strictly in file order (how a time-named column of
    numbers is told from a column of data)."""
    v = pd.to_numeric(col, errors="coerce") if is_text(col) else col
    if not pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v) or v.isna().any():
        return None
    a = v.to_numpy(np.float64)
    if len(a) == 0 or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        return None
    if np.abs(a).max() > 2**53 or (increasing and not np.all(np.diff(a) > 0)):
        return None
    return pd.Series(a.astype(np.int64), index=col.index, name=col.name)


def _parse_time(col: pd.Series) -> pd.Series | None:
    """Timestamps from a column, or None if most values are not times.

    Text is tried on its first SNIFF_ROWS values before the whole column is parsed, and cells
    longer than MAX_TIME_CHARS count as not times without being parsed (date parsing of one long
    cell takes seconds and grows faster than its length).
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        return col
    if pd.api.types.is_numeric_dtype(col):
        v = col.dropna()
        if len(v) and (v == v.round()).all() and v.between(1000, 2999).all():  # years
            return pd.to_datetime(col.astype("Int64").astype(str), format="%Y", errors="coerce")
        return None
    text = col.astype(str)
    text = text.mask(text.str.len() > MAX_TIME_CHARS)
    probe = _to_datetime(text.iloc[:SNIFF_ROWS])
    if probe is None or probe.notna().mean() < 0.9:
        return None
    parsed = _to_datetime(text) if len(text) > SNIFF_ROWS else probe
    return parsed if parsed is not None and parsed.notna().mean() >= 0.9 else None


# a time of day followed by a zone: Z, +01:00, +0100, +01, UTC, GMT
_ZONE = re.compile(
    r".*\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?|UTC|GMT)\s*", re.IGNORECASE
)


def _to_datetime(text: pd.Series) -> pd.Series | None:
    """pandas' mixed-format parse; None when it fails. Times with different UTC offsets (a
    daylight-saving change) become UTC; a mix of zoned and unzoned times is refused."""
    try:
        with warnings.catch_warnings():  # pandas 2 warns of mixed offsets, then parses them
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if parsed.dtype != object:
            return parsed
        # pandas 2 leaves mixed offsets as objects; pandas 3 raises (both handled below)
        raise ValueError("mixed timezones")
    except (ValueError, TypeError, OverflowError) as e:
        said = str(e).lower()
        if not any(word in said for word in ("timezone", "tz-aware", "utc=true")):
            return None
    zoned = text.dropna().map(lambda v: bool(_ZONE.fullmatch(v)))
    if zoned.all():
        return pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    with_zone, without = zoned.idxmax(), (~zoned).idxmax()
    raise DataError(
        "the time column mixes times with and without a time zone (row "
        f"{text.index.get_loc(with_zone) + 2}: {quote(text[with_zone], 40)}, row "
        f"{text.index.get_loc(without) + 2}: {quote(text[without], 40)}); give every time a "
        "zone or none"
    )


def whole_steps(column: pd.Series) -> pd.Series | None:
    """A column of whole numbers that are not dates (years are dates) as int64 steps, else
    None."""
    steps = _integer_time(column)
    return steps if steps is not None and _parse_time(column) is None else None


def time_values(df: pd.DataFrame, time_col: str | None) -> pd.Series | None:
    """The time column parsed: whole-number steps (int64, which ``prepare`` sorts and fills
    the missing steps of), timestamps, or None without a time column.

    Raises:
        DataError: the column holds neither times nor whole numbers.
    """
    if time_col is None:
        return None
    steps = whole_steps(df[time_col])
    return steps if steps is not None else parse_time_column(df, time_col)


def parse_time_column(df: pd.DataFrame, time_col: str) -> pd.Series:
    """``df[time_col]`` as timestamps.

    Raises:
        DataError: the column holds no dates or times, or some of its values are not times
            (the first is named with its file row).
    """
    t = _parse_time(df[time_col])
    if t is None:
        raise DataError(
            f"time column {quote(time_col, 40)} does not hold dates or times "
            f"(first value {quote(df[time_col].iloc[0], 40)}); pick another time column or "
            f"none{_out_of_range(df[time_col])}"
        )
    bad = int(t.isna().sum())
    if bad:
        row = int(np.flatnonzero(t.isna().to_numpy())[0])
        raise DataError(
            f"time column {quote(time_col, 40)}: {bad} value(s) are not times, first at row "
            f"{row + 2} ({quote(df[time_col].iloc[row], 40)}); fix or remove those "
            f"rows{_out_of_range(df[time_col])}"
        )
    return t


def _out_of_range(col: pd.Series) -> str:
    """A hint when some values read as dates whose year pandas cannot hold (or are already
    NaT, as a reader leaves such dates), else ""."""
    years = pd.to_numeric(col.astype(str).str.extract(r"^\s*(\d{4})-", expand=False), "coerce")
    read_as_nat = pd.api.types.is_datetime64_any_dtype(col) and col.isna().any()
    outside = ((years < 1678) | (years > 2261)).any() or read_as_nat
    return (
        " (pandas holds dates from 1677 to 2262 only: write times outside that as whole numbers, "
        "e.g. the year, or drop the column)"
        if outside
        else ""
    )


def regular_index(
    index: pd.DatetimeIndex, freq: str, name: str | None, n_columns: int
) -> pd.DatetimeIndex:
    """Every timestamp from the first to the last row at ``freq``; refused before it is built
    when it would hold more than 20x the rows (or MAX_CELLS cells): a wrong frequency such as
    ``ns`` on daily data would otherwise allocate gigabytes."""
    n = len(index)
    cap = min(20 * n, MAX_CELLS // max(n_columns, 1))
    try:
        steps = pd.date_range(index[0], periods=8, freq=freq)
        step = (steps[1:] - steps[:-1]).min()  # the shortest step bounds the count from above
        if step <= pd.Timedelta(0):
            raise ValueError(freq)
        # in Python integers: over 292 years of nanoseconds overflow a Timedelta (yearly data)
        count = (int(index[-1].value) - int(index[0].value)) / int(step.value) + 1
        if count > cap:
            raise DataError(
                f"frequency {quote(freq, 20)} would turn {n} rows into about {count:.3g}; set "
                "data.frequency to the real spacing of the data"
            )
        return pd.date_range(index[0], index[-1], freq=freq, name=name)
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        shown = quote(freq, 20)
        raise DataError(f"data.frequency {shown} is not a usable pandas frequency") from None


def infer_freq(index: pd.DatetimeIndex) -> str | None:
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
