"""Reading a file into a table: CSV/TSV (delimiter and encoding sniffed), Parquet, Excel, JSON;
every cap is checked before parsing."""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import re
import warnings
from pathlib import Path

import pandas as pd

from lstm_core.data.excel import read_excel
from lstm_core.data.limits import (
    MAX_BYTES,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_HEADER,
    MAX_JSON_BYTES,
    MAX_JSON_OBJECTS,
    MAX_PARQUET_FOOTER,
)
from lstm_core.errors import DataError
from lstm_core.safeio import clip, quote, read_capped


def read_table(
    source: str | Path | bytes, name: str | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read CSV/TSV (delimiter sniffed), Parquet, Excel or JSON into a DataFrame.

    Text may be UTF-8, UTF-16/32 with a byte order mark, or Windows-1252; a ``;``- or
    tab-separated file whose numbers use decimal commas (``1,5``) is read as numbers. Of an
    Excel workbook, ``sheet`` (a name or 0-based number) is read, else the first sheet that
    holds data; ``df.attrs["sheet"]`` and ``df.attrs["sheets"]`` say which and what else.

    Args:
        source: a file path, or the file's bytes (then ``name`` gives the extension).
        name: file name used to pick the format when ``source`` is bytes.
        sheet: the Excel sheet to read.

    Raises:
        DataError: unknown format, unreadable, empty or oversized file (bytes, unpacked bytes
            or cells over their caps), or a path that is not a regular file.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        raw = read_capped(path, MAX_BYTES, DataError, "data file")
    else:
        raw = bytes(source)
        if len(raw) > MAX_BYTES:
            raise DataError(f"the file is larger than {MAX_BYTES >> 20} MB; trim it first")
    shown = clip(name or "the file", 80)
    ext = Path(name or "data.csv").suffix.lower()
    if not raw or raw.isspace():  # no copy: strip() would double a 200 MB file
        raise DataError(f"{shown} is empty")
    try:
        if ext in (".csv", ".tsv", ".txt", ""):
            df = _read_text_table(raw, shown)
        elif ext == ".parquet":
            df = _read_parquet(raw, shown)
        elif ext in (".xlsx", ".xls", ".xlsm"):
            df = read_excel(raw, sheet)
        elif ext in (".json", ".jsonl"):
            if len(raw) > MAX_JSON_BYTES:
                raise DataError(
                    f"{shown} is larger than {MAX_JSON_BYTES >> 20} MB of JSON; save it as CSV "
                    "or Parquet"
                )
            df = _read_json(raw, shown)
        else:
            raise DataError(
                f"{shown}: unsupported file type {quote(ext, 20)}; use CSV, TSV, Parquet, "
                "Excel (.xlsx) or JSON"
            )
    except DataError:
        raise
    except Exception as e:  # parsers raise many types; the user needs the message, not the trace
        why = clip(str(e).splitlines()[0] if str(e) else type(e).__name__, 120)
        raise DataError(f"{shown} could not be read as {ext or 'CSV'}: {why}") from None
    _check_shape(df.shape[0], df.shape[1], shown)
    if df.empty or df.shape[1] == 0:
        raise DataError(f"{shown} has no rows or no columns")
    df.columns = _unique([str(c).strip() for c in df.columns])
    return df


def _unique(names: list[str]) -> list[str]:
    """Names made unique the way pandas' CSV reader does (v, v.1, v.2): trimming spaces, or
    a Parquet, Excel or JSON file, can give two columns one name."""
    seen: set[str] = set()
    out = []
    for name in names:
        new, k = name, 0
        while new in seen:
            k += 1
            new = f"{name}.{k}"
        seen.add(new)
        out.append(new)
    return out


def _check_shape(rows: int, columns: int, shown: str) -> None:
    """Refuse a table over MAX_COLUMNS or MAX_CELLS (before parsing where the shape is known)."""
    if columns > MAX_COLUMNS:
        raise DataError(
            f"{shown} has {columns} columns; at most {MAX_COLUMNS} are read (is the delimiter "
            "right, or is it one long line?)"
        )
    if rows * columns > MAX_CELLS:
        raise DataError(
            f"{shown} has about {rows} rows x {columns} columns, over the {MAX_CELLS} cells read; "
            "keep the columns and rows the model needs"
        )


def _encoding(raw: bytes) -> str:
    """The text encoding of ``raw``: a byte order mark decides (UTF-32, UTF-8, UTF-16); text
    with many NUL bytes is UTF-16 without one; else UTF-8, and Windows-1252 when it is not
    valid UTF-8."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: its mark starts the same way
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            return encoding
    head = raw[:4096]
    if head.count(0) > len(head) // 4:  # ASCII text in UTF-16 is every other byte NUL
        even_nuls = head[0::2].count(0)
        return "utf-16-be" if even_nuls > head[1::2].count(0) else "utf-16-le"
    # checked a megabyte at a time: the bytes themselves go to the parser, and a decoded copy
    # of the whole file would cost as much memory as the file
    check = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    try:
        for i in range(0, len(raw), 1 << 20):
            check.decode(view[i : i + (1 << 20)])
        check.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


DELIMITERS = (",", ";", "\t", "|")
_QUOTED = re.compile(r'"[^"\n]*"')  # linear: no nested repetition
_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d+,\d+\s*")
_DECIMAL_POINT = re.compile(r"\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*")


def _guess_delimiter(lines: list[str]) -> str:
    """The delimiter found in the header whose count is the same on most sample lines.

    A linear count (csv.Sniffer's regexes take seconds on some 20 KB lines)."""
    best, best_score = ",", (0.0, 0)
    for d in DELIMITERS:
        counts = [_QUOTED.sub("", line).count(d) for line in lines]
        if counts[0] == 0:
            continue
        score = (counts.count(counts[0]) / len(counts), counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def _read_text_table(raw: bytes, shown: str) -> pd.DataFrame:
    encoding = _encoding(raw)
    utf8 = encoding in ("utf-8", "utf-8-sig")
    if utf8:
        # UTF-8 bytes go to the parser as they are: a decoded copy of a 100 MB file cost 0.5 GB
        # more memory and 3x the time (benchmarks/scale.py)
        body: bytes | str = raw[len(codecs.BOM_UTF8):] if encoding == "utf-8-sig" else raw
        nl: bytes | str = b"\n"
    else:
        body, nl = raw.decode(encoding, errors="replace"), "\n"
    first_end = body.find(nl)
    header_end = len(body) if first_end < 0 else first_end
    if header_end > MAX_HEADER:  # counted in place: slicing and decoding it took 0.5 GB
        delims = [d.encode() if utf8 else d for d in DELIMITERS]
        _check_shape(0, max(body.count(d, 0, header_end) for d in delims) + 1, shown)
        raise DataError(
            f"{shown}: its first line (the header) is {header_end:,} characters long, over the "
            f"{MAX_HEADER:,} read for column names; is the file one long line?"
        )
    header = body[:header_end]
    sample = body[:65_536]
    if utf8:
        header, sample = header.decode("utf-8"), sample.decode("utf-8", errors="replace")
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()] or [header]
    lines[0] = header  # the whole header, even when it is longer than the sample
    delim = _guess_delimiter(lines)
    lines_total = body.count(nl) + (not body.endswith(nl))
    _check_shape(lines_total - 1, header.count(delim) + 1, shown)  # the header is no row
    fields = [f for line in lines[1:] for f in line.split(delim)]
    decimal_comma = (
        delim != ","
        and any(_DECIMAL_COMMA.fullmatch(f) for f in fields)
        and not any(_DECIMAL_POINT.fullmatch(f) for f in fields)
    )
    stream = io.BytesIO(body) if utf8 else io.StringIO(body)
    if not decimal_comma:
        with contextlib.suppress(Exception):  # pyarrow is strict about ragged rows: C engine
            return pd.read_csv(stream, sep=delim, engine="pyarrow")
        stream.seek(0)
    # index_col=False: rows longer than the header would otherwise become a MultiIndex of the
    # extra fields (seconds for one line of 10,000 commas); pandas warns instead, and we refuse
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        df = pd.read_csv(
            stream, sep=delim, decimal="," if decimal_comma else ".", index_col=False
        )
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise DataError(
            f"{shown}: some rows have more fields than the header ({header.count(delim) + 1}); "
            f"check the delimiter ({delim!r} was found) or quote fields that contain it"
        )
    return df


def _read_parquet(raw: bytes, shown: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    # the file ends with its metadata's length and "PAR1": the cheapest check, before parsing it
    footer = int.from_bytes(raw[-8:-4], "little") if raw[-4:] == b"PAR1" else 0
    if footer > MAX_PARQUET_FOOTER:
        raise DataError(
            f"{shown}: its Parquet metadata is {footer >> 20} MB, over "
            f"{MAX_PARQUET_FOOTER >> 20} MB (about 200 bytes per column and row group); keep the "
            "columns the model needs, or write fewer row groups"
        )
    meta = pq.read_metadata(io.BytesIO(raw))  # the shape, before any column is decoded
    _check_shape(meta.num_rows, meta.num_columns, shown)
    return pd.read_parquet(io.BytesIO(raw))


class _JsonBudget:
    """An ``object_pairs_hook`` that counts objects and distinct keys while ``json`` parses, and
    stops the parse (DataError) as soon as they could make a table over the caps: more than
    MAX_JSON_OBJECTS objects (each costs ~150 bytes of memory), or objects x distinct keys over
    MAX_CELLS (``[{"k0": 1}, {"k1": 1}, ...]`` makes a frame of n x n cells from n small
    records). Records keep their keys' order."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.objects = 0
        self.keys: set[str] = set()

    def __call__(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        self.objects += 1
        self.keys.update(k for k, _ in pairs)
        if self.objects > MAX_JSON_OBJECTS:
            raise DataError(
                f"{self.shown} holds over {MAX_JSON_OBJECTS:,} JSON objects (records); save it "
                "as CSV or Parquet"
            )
        if self.objects * len(self.keys) > MAX_CELLS:
            raise DataError(
                f"{self.shown}: {self.objects:,} JSON objects with {len(self.keys):,} different "
                f"keys could make a table over the {MAX_CELLS:,} cells read; give every record "
                "the same fields"
            )
        return dict(pairs)


def _read_json(raw: bytes, shown: str) -> pd.DataFrame:
    """A table from JSON (TCPD's schema, columns, records, lists or numbers) or JSON lines,
    its keys counted while parsing (``_JsonBudget``) and its shape checked before the frame is
    built."""
    budget = _JsonBudget(shown)
    try:
        try:
            obj = json.loads(raw, object_pairs_hook=budget)
        except json.JSONDecodeError:
            lines = [ln for ln in raw.splitlines() if ln.strip()]
            for line in lines:  # each line parsed and counted before pandas reads them
                json.loads(line, object_pairs_hook=budget)
            _check_shape(len(lines), len(budget.keys), shown)
            return pd.read_json(io.BytesIO(raw), lines=True)
    except RecursionError:
        raise DataError(
            f"{shown} nests JSON arrays or objects too deeply to be a table; give records "
            "([{...}, ...]) or columns ({name: [...]})"
        ) from None
    rows, columns = _json_shape(obj)
    _check_shape(rows, columns, shown)
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
    lists = all(isinstance(r, list) for r in obj) and len({len(r) for r in obj}) == 1
    if not (lists or all(isinstance(r, dict) for r in obj)):
        raise DataError(
            "the JSON rows are neither all records ({...}) nor all lists of one length; give "
            "every row the same fields"
        )
    return pd.DataFrame.from_records(obj)


def _json_shape(obj: object) -> tuple[int, int]:
    """(rows, columns) of the frame ``_read_json`` would build from ``obj``, counted without
    building it; the key union of records stops once it passes MAX_COLUMNS."""

    def length(v: object) -> int:
        return len(v) if isinstance(v, (list, dict)) else 1

    def union(items: list, cap: int) -> int:
        keys: set = set()
        for r in items:
            if isinstance(r, dict):
                keys.update(r)
                if len(keys) > cap:
                    break
        return len(keys)

    if isinstance(obj, dict):
        series = obj.get("series")
        if "time" in obj and isinstance(series, list):  # TCPD
            raws = [s.get("raw") for s in series if isinstance(s, dict)]
            return max(map(length, raws), default=0), len(series) + 1
        inner = [v for v in obj.values() if isinstance(v, dict)]
        rows = union(inner, MAX_CELLS) if inner else max(map(length, obj.values()), default=0)
        return rows, len(obj)
    if isinstance(obj, list):
        first = obj[0] if obj else None
        if isinstance(first, dict):
            return len(obj), union(obj, MAX_COLUMNS)
        return len(obj), length(first) if isinstance(first, list) else 1
    return 1, 1
