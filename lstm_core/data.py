"""Reading tables, cleaning a series with a visible report, scaling, windowing, and demo data."""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import json
import math
import posixpath
import re
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers import expat

import numpy as np
import pandas as pd
import torch

from lstm_core.config import Config, DataConfig
from lstm_core.errors import DataError, SeriesTooShort
from lstm_core.safeio import clip, quote, read_capped

DEMO_DIR = Path(__file__).parent / "demo_data"
TIME_NAMES = ("time", "date", "datetime", "timestamp", "ds", "year", "month", "day", "period", "step",
              "t", "index")
# Resource caps on the reading path: bytes read, bytes unpacked, cells parsed. Each is far above
# what a model trained in this app can use, and far below what would exhaust a server's memory.
MAX_BYTES = 200 * 1024 * 1024  # a file, before parsing
MAX_JSON_BYTES = 32 * 1024 * 1024  # JSON is parsed into Python objects (~10x its size)
MAX_UNZIPPED = 100 * 1024 * 1024  # an .xlsx is a zip: its sheets' XML, unpacked
MAX_ZIP_RATIO = 200  # a part over 1 MB unpacked more than this many times is a zip bomb
MAX_SHARED_STRINGS = 32 * 1024 * 1024  # an .xlsx's text cells, read whole when it is opened
MAX_XLSX_INDEX = 1024 * 1024  # workbook.xml and its relationships: sheet names and parts
MAX_XLSX_PART = 16 * 1024 * 1024  # any other XML part (styles, theme): parsed whole on opening
# rows x columns of a sheet as pandas pads it (every row as wide as the widest): 20 million
# padded cells took 16 s and 860 MB of memory, 5 million 10 s and 520 MB (imports included)
MAX_SHEET_CELLS = 5_000_000
MAX_JSON_OBJECTS = 1_000_000  # parsed objects cost ~150 bytes each: 4 million took 520 MB
MAX_CELLS = 20_000_000  # rows x columns of any table
MAX_COLUMNS = 10_000
MAX_HEADER = 1 << 20  # a CSV's first line: 10,000 column names of 100 characters
MAX_PARQUET_FOOTER = 32 * 1024 * 1024  # 50,000 columns in one row group: 9 MB, parsed in 0.8 s
MAX_ABS = 1e150  # larger magnitudes overflow a float64 when squared (variance, RMSE)
MAX_TIME_CHARS = 64  # the longest timestamp text is ~35 characters; longer cells are not times
SNIFF_ROWS = 200  # rows of a column tried as times before the whole column is parsed
MAX_SCALED = 1e9  # standardised values beyond this overflow float32 inside the network


# ---------------------------------------------------------------- reading


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
            df = _read_excel(raw, sheet)
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


def _read_excel(raw: bytes, sheet: str | int | None) -> pd.DataFrame:
    """One sheet: the one asked for, else the first that holds data.

    The zip's directory (``_check_workbook``) and the sheet's extent (``_check_sheet``) are
    checked before openpyxl and pandas build any row: pandas pads every row to the widest, so
    one cell at XFD1048576 would make 17 billion cells from a 5 KB file."""
    try:
        book_zip = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        book_zip = None  # an old .xls is not a zip; pandas says what it makes of it
    parts: dict[str, str] = {}
    if book_zip is not None:
        _check_workbook(book_zip)
        parts = _sheet_parts(book_zip)
    with pd.ExcelFile(io.BytesIO(raw)) as book:
        names = [str(n) for n in book.sheet_names]
        if sheet is not None:
            known = 0 <= sheet < len(names) if isinstance(sheet, int) else sheet in names
            if not known:
                raise DataError(f"no sheet {quote(sheet, 40)}; the sheets are {_names(names)}")
            chosen = [names[sheet] if isinstance(sheet, int) else sheet]
        else:
            chosen = names
        for n in chosen:
            if book_zip is not None:  # unmapped: every sheet part is checked
                for member in [parts[n]] if n in parts else _worksheets(book_zip):
                    _check_sheet(book_zip, member, n)
            df = pd.read_excel(book, sheet_name=n)
            if not df.dropna(how="all").empty:
                df.attrs.update(sheet=n, sheets=tuple(names))
                return df
    raise DataError(f"no sheet of the workbook holds data (sheets: {_names(names)})")


def _check_workbook(book: zipfile.ZipFile) -> None:
    """Refuse a workbook by its zip directory alone: what it unpacks to in all, per sheet and
    in shared strings, and how much each part was compressed. zipfile stops a part at the size
    its directory gives, so these sizes bound what openpyxl can read."""
    infos = book.infolist()
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_UNZIPPED:
        raise DataError(
            f"the workbook unpacks to {unpacked >> 20} MB, over {MAX_UNZIPPED >> 20} MB; save the "
            "sheet you need as CSV"
        )
    for i in infos:
        name = clip(i.filename, 60)
        if i.file_size > 1 << 20 and i.file_size > MAX_ZIP_RATIO * max(i.compress_size, 1):
            raise DataError(
                f"the workbook's part {name} unpacks {i.file_size // max(i.compress_size, 1)} "
                f"times its packed size ({i.file_size >> 20} MB), more than any sheet of data "
                "does (a zip bomb?); save the sheet you need as CSV"
            )
        if i.filename.endswith("sharedStrings.xml") and i.file_size > MAX_SHARED_STRINGS:
            raise DataError(
                f"the workbook's shared strings unpack to {i.file_size >> 20} MB, over "
                f"{MAX_SHARED_STRINGS >> 20} MB (text is read whole before any row); save the "
                "sheet you need as CSV"
            )
        if (
            i.filename.endswith((".xml", ".rels"))
            and not i.filename.startswith("xl/worksheets/")
            and not i.filename.endswith("sharedStrings.xml")
            and i.file_size > MAX_XLSX_PART
        ):  # styles, themes, the workbook: openpyxl parses them whole when it opens the file
            raise DataError(
                f"the workbook's part {name} unpacks to {i.file_size >> 20} MB, over "
                f"{MAX_XLSX_PART >> 20} MB for a part that holds no cells; save the sheet you "
                "need as CSV"
            )
_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="([^"]{1,40})"')


def _cell(ref: str) -> tuple[int, int]:
    """(row, column), both from 1, of a cell reference such as "XFD1048576"; (0, 0) if none."""
    m = _REF.fullmatch(ref.strip().upper())
    if m is None:
        return 0, 0
    column = 0
    for letter in m.group(1):
        column = column * 26 + ord(letter) - 64
    return int(m.group(2)), column


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part in the zip, from workbook.xml and its relationships (two
    small parts, checked for size first); empty when they cannot be read."""
    try:
        infos = {i.filename: i for i in book.infolist()}
        texts = []
        for part in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            if infos[part].file_size > MAX_XLSX_INDEX:
                return {}
            texts.append(book.read(part))
        workbook, rels = (ElementTree.fromstring(t) for t in texts)
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
        return {}
    targets = {
        e.get("Id"): e.get("Target", "")
        for e in rels.iter()
        if e.tag.rpartition("}")[2] == "Relationship"
    }
    parts = {}
    for e in workbook.iter():
        if e.tag.rpartition("}")[2] != "sheet":
            continue
        rid = next((v for k, v in e.attrib.items() if k.rpartition("}")[2] == "id"), None)
        target = targets.get(rid)
        if target:
            path = target.lstrip("/") if target.startswith("/") else "xl/" + target
            parts[str(e.get("name"))] = posixpath.normpath(path)
    return parts


def _worksheets(book: zipfile.ZipFile) -> list[str]:
    return [n for n in book.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]


def _check_sheet(book: zipfile.ZipFile, member: str, name: str) -> None:
    """Refuse a sheet whose table would be too large, before any row is built: first by its
    ``<dimension ref>`` (a few bytes at its start), then, since that tag can lie or be missing,
    by streaming its XML and keeping the extent of the cells that hold a value, stopping at the
    cap. pandas pads every row to the widest, so the extent is what it would build."""
    shown = quote(name, 40)
    try:
        with book.open(member) as fh:
            head = fh.read(1 << 16)
    except KeyError:
        raise DataError(f"sheet {shown} has no part in the workbook; save it again") from None
    m = _DIMENSION.search(head)
    if m is not None:
        rows, columns = _cell(m.group(1).decode("ascii", "replace").rpartition(":")[2])
        if _too_large(rows, columns):
            raise DataError(
                f"sheet {shown} spans {clip(m.group(1).decode('ascii', 'replace'), 20)} "
                f"({rows:,} rows x {columns:,} columns), over the {MAX_COLUMNS:,} columns or "
                f"{MAX_SHEET_CELLS:,} cells read; delete the cells outside the table and save, "
                "or save the table as CSV"
            )
    rows, columns, far = _sheet_extent(book, member)
    if far:
        raise DataError(
            f"sheet {shown} has a value at {far}: its table would be {rows:,} rows x "
            f"{columns:,} columns, over the {MAX_COLUMNS:,} columns or {MAX_SHEET_CELLS:,} cells "
            "read; delete the cells outside the table and save, or save the table as CSV"
        )


def _too_large(rows: int, columns: int) -> bool:
    return columns > MAX_COLUMNS or rows * columns > min(MAX_SHEET_CELLS, MAX_CELLS)


def _sheet_extent(book: zipfile.ZipFile, member: str) -> tuple[int, int, str]:
    """(rows, columns, "") of the cells of a sheet part that hold a value, read as a stream; it
    stops at the first value that takes the table over the caps and returns that cell's
    reference as the third item. A cell or row without ``r`` follows the one before it, as in
    openpyxl. A DOCTYPE (never in a workbook, needed for entity tricks) is refused."""
    at = {"row": 0, "column": 0, "rows": 0, "columns": 0}
    far: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tag.rpartition(":")[2]
        if local == "row":
            r = attrs.get("r")
            at["row"] = int(r) if r and r.isdigit() else at["row"] + 1
            at["column"] = 0
        elif local == "c":
            row, column = _cell(attrs.get("r", ""))
            if column:
                at["row"], at["column"] = row, column
            else:
                at["column"] += 1
        elif local in ("v", "is"):
            rows, columns = max(at["rows"], at["row"]), max(at["columns"], at["column"])
            if _too_large(rows, columns):
                far.append(f"row {at['row']:,}, column {at['column']:,}")
                raise _Stop
            at["rows"], at["columns"] = rows, columns

    def doctype(*_: object) -> None:
        raise DataError("a sheet of the workbook declares a DOCTYPE; save it again in Excel")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    try:
        with book.open(member) as fh:
            while chunk := fh.read(1 << 20):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Stop:
        return max(at["rows"], at["row"]), max(at["columns"], at["column"]), far[0]
    return at["rows"], at["columns"], ""


class _Stop(Exception):
    """Ends a streamed parse early."""


def _names(names, limit: int = 8) -> str:
    """Names for a message: the first ``limit``, each clipped, and how many more there are."""
    names = [clip(str(n), 40) for n in names]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


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
        if _is_text(df[c]) and _parse_time(df[c]) is not None:
            return c
    return None


def _is_text(col: pd.Series) -> bool:
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def _integer_time(col: pd.Series, increasing: bool = False) -> pd.Series | None:
    """Whole numbers (row numbers, steps, years) as an int64 time column, or None. With
    ``increasing`` they must already rise strictly in file order (how a time-named column of
    numbers is told from a column of data)."""
    v = pd.to_numeric(col, errors="coerce") if _is_text(col) else col
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


PREPARE_FIELDS = ("time_col", "targets", "covariates", "frequency", "missing")  # what prepare reads


def prepare(df: pd.DataFrame, cfg: DataConfig) -> Prepared:
    """Select, type-check, sort and regularise the series; apply the missing-value policy.

    Raises:
        DataError: a named column is missing, holds text, is all-NaN or constant; bad timestamps;
            missing values under the ``refuse`` policy.
    """
    actions: list[str] = []
    if len(df) == 0 or df.shape[1] == 0:
        raise DataError("the table has no rows or no columns")
    time_col = cfg.time_col
    if time_col is not None and time_col not in df.columns:
        raise DataError(
            f"time column {quote(time_col, 40)} not found; columns are {_names(df.columns)}"
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
            raise DataError(f"column {quote(c, 40)} not found; columns are {_names(df.columns)}")
    columns = {}
    for c in targets + covariates:
        columns[c] = _to_numeric(df[c], c)
        _check_finite(columns[c], c)
    frame = pd.DataFrame(columns, index=df.index)  # at once: per-column inserts warn when wide

    duplicates = gaps = 0
    freq: str | None = None
    t = time_values(df, time_col)
    if t is not None and pd.api.types.is_integer_dtype(t):
        frame, duplicates, gaps = _on_integer_time(frame, t, time_col, actions)
    elif t is not None:
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
            full = _regular_index(frame.index, freq, time_col, frame.shape[1])
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
            raise DataError(
                f"column {quote(c, 40)} has no values (all missing); remove it from the inputs"
            )
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
                f"{role} {quote(c, 40)} is constant ({frame[c].iloc[0]}); nothing to learn from "
                f"it, choose another {role}"
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
    maps = _row_maps(t, frame.index)
    return Prepared(frame, targets, covariates, freq, report, time_col, *(maps or (None, None)))


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
            f"(first value {quote(df[time_col].iloc[0], 40)}); pick another time column or none"
        )
    bad = int(t.isna().sum())
    if bad:
        row = int(np.flatnonzero(t.isna().to_numpy())[0])
        raise DataError(
            f"time column {quote(time_col, 40)}: {bad} value(s) are not times, first at row "
            f"{row + 2} ({quote(df[time_col].iloc[row], 40)}); fix or remove those rows"
        )
    return t


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


def _regular_index(
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
        count = (index[-1] - index[0]) / step + 1
        if count > cap:
            raise DataError(
                f"frequency {quote(freq, 20)} would turn {n} rows into about {count:.3g}; set "
                "data.frequency to the real spacing of the data"
            )
        return pd.date_range(index[0], index[-1], freq=freq, name=name)
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        shown = quote(freq, 20)
        raise DataError(f"data.frequency {shown} is not a usable pandas frequency") from None


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


WINDOWS_PER_STEP = 2  # training windows per lookback step below which the fit is loose


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


def held_out_start(n_rows: int, horizon: int, val_fraction: float) -> int:
    """First row of a series' held-out end: its last ``val_fraction`` of rows, and at least
    ``horizon + 1`` rows so that one validation window has its targets inside it."""
    return n_rows - max(horizon + 1, math.ceil(n_rows * val_fraction))


def minimum_length(lookback: int, horizon: int, val_fraction: float) -> int:
    # the validation part must hold one full window of its own targets
    val_rows = horizon + 1
    return int(np.ceil(max((lookback + horizon + 1) + val_rows, (lookback + horizon) / (1 - val_fraction))))


def suggest_lookback(n_rows: int, horizon: int, val_fraction: float) -> int | None:
    """The lookback to offer: the longest reliable one (``reliable_lookback``), else 2 where
    that can train at all, else None (the horizon must shrink too)."""
    reliable = reliable_lookback(n_rows, horizon, val_fraction)
    if reliable:
        return reliable
    return 2 if n_rows >= minimum_length(2, horizon, val_fraction) else None


def window_counts(n_rows: int, lookback: int, horizon: int, val_fraction: float) -> tuple[int, int]:
    """(training windows, held-out windows) that ``Forecaster.fit`` uses; the held-out end is
    cut into validation, check and test parts, and ``backtest`` scores the test part alone
    (``forecaster.held_out_parts``)."""
    split = held_out_start(n_rows, horizon, val_fraction)
    train = split - lookback - horizon + 1
    held = n_rows - max(split, lookback) - horizon + 1
    return max(train, 0), max(held, 0)


def reliable_lookback(n_rows: int, horizon: int, val_fraction: float) -> int | None:
    """The longest lookback (at most 512) that leaves ``WINDOWS_PER_STEP`` training windows per
    lookback step, or None below 2. The split does not depend on the lookback, so
    ``split - lb - horizon + 1 >= WINDOWS_PER_STEP * lb`` solves for lb directly."""
    split = held_out_start(n_rows, horizon, val_fraction)
    lb = min(512, (split - horizon + 1) // (WINDOWS_PER_STEP + 1))
    return lb if lb >= 2 else None


def few_windows(n_rows: int, lookback: int, horizon: int, val_fraction: float) -> str | None:
    """A warning when training would see fewer than ``WINDOWS_PER_STEP`` windows per lookback
    step: the linear start has a weight per step and horizon step, so with fewer windows it fits
    them almost exactly, and its in-sample errors, which set the 80% interval, are too small.
    None when the series is long enough for these settings."""
    train, _ = window_counts(n_rows, lookback, horizon, val_fraction)
    if train >= WINDOWS_PER_STEP * lookback:
        return None
    shorter = reliable_lookback(n_rows, horizon, val_fraction)
    offer = (
        f"try data.lookback: {shorter} "
        f"({window_counts(n_rows, shorter, horizon, val_fraction)[0]} windows)"
        if shorter
        else f"shorten data.horizon (now {horizon}) as well as the lookback"
    )
    return (
        f"only {train} training window{'s' if train != 1 else ''} for a lookback of {lookback} "
        f"steps, under the {WINDOWS_PER_STEP * lookback} a reliable fit needs (the linear start "
        f"alone has {lookback} weights per forecast step), so forecasts are loose and the 80% "
        f"intervals likely too narrow; {offer}"
    )


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
        """values (T, F) -> standardised (T, F).

        Raises:
            DataError: a value lies more than MAX_SCALED standard deviations from the mean: the
                model computes in float32, where such values overflow into NaN.
        """
        z = (values - np.asarray(self.mean)) / np.asarray(self.std)
        far = np.abs(z) > MAX_SCALED
        if far.any():
            i, j = np.argwhere(far)[0]
            raise DataError(
                f"input column {j + 1} at row {i + 1} of the series is {abs(z[i, j]):.3g} "
                "standard deviations from the training rows' mean: the data is on another scale "
                "than the model learnt (or has an outlier); fix that row or retrain"
            )
        return z

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
