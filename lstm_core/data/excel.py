"""Reading one sheet of an Excel workbook, refused by its zip directory and its sheet's extent
before openpyxl and pandas build any row."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from xml.etree import ElementTree
from xml.parsers import expat

import pandas as pd

from lstm_core.data.limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_CELLS,
    MAX_UNZIPPED,
    MAX_XLSX_INDEX,
    MAX_XLSX_PART,
    MAX_ZIP_RATIO,
)
from lstm_core.errors import DataError
from lstm_core.safeio import clip, listed, quote


def read_excel(raw: bytes, sheet: str | int | None) -> pd.DataFrame:
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
                raise DataError(f"no sheet {quote(sheet, 40)}; the sheets are {listed(names)}")
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
    raise DataError(f"no sheet of the workbook holds data (sheets: {listed(names)})")


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
