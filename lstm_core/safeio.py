"""Guards on every input and output path: capped reads of regular files, bounded quotes of user
values in messages, CSV text that a spreadsheet cannot run as a formula, and atomic, durable
writes."""

from __future__ import annotations

import contextlib
import os
import re
import reprlib
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from lstm_core.errors import LstmCoreError

TMP_PREFIX = ".tmp-"  # temp files of atomic writes; list_checkpoints skips them
STALE_SECONDS = 15 * 60  # a temp file this old belongs to a writer that died (kill -9)

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlong = 30
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def clip(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters, with '...' where it was cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def listed(names: Iterable[object], limit: int = 8) -> str:
    """Names for a message: the first ``limit``, each clipped, and how many more there are."""
    shown = [clip(str(n), 40) for n in names]
    more = f", ... ({len(shown) - limit} more)" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def quote(value: object, limit: int = 60) -> str:
    """A repr of a user's value that stays short whatever its size: long strings, deep or large
    containers and huge integers are abbreviated, so a message never grows with the input."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 96:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 (a failing repr must not turn a message into a traceback)
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


def read_capped(
    path: str | Path, cap: int, error: type[LstmCoreError], what: str = "file"
) -> bytes:
    """The bytes of the regular file at ``path``, at most ``cap`` of them.

    Devices (/dev/zero), pipes and folders are refused without reading: their size is not known
    in advance and a read could block or never end. The file is opened non-blocking so that a
    FIFO cannot hang the open itself.

    Raises:
        error: the file is missing, unreadable, not a regular file, or larger than ``cap``.
    """
    shown = clip(str(path), 100)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise error(f"cannot read {what} {shown}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a device or pipe"
            raise error(f"{what} {shown} is {kind}, not a regular file; give a file")
        if st.st_size > cap:
            raise error(f"{what} {shown} is larger than {_size(cap)}; trim it first")
        with os.fdopen(fd, "rb") as fh:
            fd = -1  # the file object owns it now
            data = fh.read(cap + 1)
    except OSError as e:
        raise error(f"cannot read {what} {shown}: {e.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > cap:  # it grew while being read
        raise error(f"{what} {shown} is larger than {_size(cap)}; trim it first")
    return data


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{n >> 10} KB"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets run as a formula (OWASP)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def neutralise(cell: str) -> str:
    """A text cell that a spreadsheet would run as a formula (``=HYPERLINK(...)``,
    ``=cmd|' /C calc'!A0``, ``@SUM(...)``), prefixed with a single quote as OWASP advises; a
    number written as text (``-1.5``) and any other text are returned as they are."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_text(df: pd.DataFrame, float_format: str | None = None) -> str:
    """``df`` as CSV without its index, every text cell and column name ``neutralise``d: the
    one way the app and the CLI write CSV. Numeric columns are written as they are.

    Args:
        df: the table; its text is in object, string or categorical columns.
        float_format: as in ``DataFrame.to_csv`` (e.g. "%.6g").
    """

    def cell(value: object) -> object:
        return neutralise(value) if isinstance(value, str) else value

    out = df.copy()
    for name in out.columns:
        col = out[name]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)):
            out[name] = col.astype(object).map(cell)
    out.columns = [cell(c) for c in out.columns]
    return out.to_csv(index=False, float_format=float_format)


def check_writable(path: str | Path, error: type[LstmCoreError], what: str = "output") -> Path:
    """Make sure ``path`` can be written later (before long work): its folder exists or can be
    made, a file can be created there, and ``path`` is not a folder or device.

    Returns:
        ``path`` as a Path.

    Raises:
        error: the folder cannot be made or written, or ``path`` is not a regular file.
    """
    path = Path(path)
    shown = clip(str(path), 100)
    try:
        if path.exists() and not path.is_file():
            raise error(f"{what} {shown} is a folder or device, not a file path; give a file name")
        blocker = next((p for p in path.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise error(
                f"cannot write {what} {shown}: {clip(str(blocker), 80)} is a file, not a folder"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:  # no permission, read-only disk, a name too long...
        raise error(f"cannot write {what} {shown}: {e.strerror}; choose another path") from None
    return path


def write_atomic(
    path: str | Path,
    data: bytes,
    error: type[LstmCoreError],
    what: str = "file",
    overwrite: bool = True,
) -> Path:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one, never a mix.

    The bytes go to a temp file in the same folder, which is fsynced, renamed over ``path``, and
    then the folder is fsynced so the rename itself survives a power cut. On any failure (disk
    full, kill) the temp file is removed when possible; ``remove_stale_temps`` clears what a
    killed writer leaves behind.

    Without ``overwrite`` the temp file is hard-linked to ``path`` instead of renamed: the link
    fails if the name exists, in one step, so of two writers racing for a free name exactly one
    succeeds (checking ``exists()`` first would let both through).

    Raises:
        FileExistsError: ``overwrite`` is false and ``path`` exists (it is unchanged).
        error: the file cannot be written (the previous ``path``, if any, is unchanged).
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX, suffix=path.suffix)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a saved file is readable like any other
        if overwrite:
            os.replace(tmp, path)
            tmp = None
        else:
            os.link(tmp, path)  # FileExistsError if the name is taken; the finally drops tmp
        _fsync_folder(path.parent)
    except OSError as e:
        if isinstance(e, FileExistsError) and not overwrite:
            raise
        kept = " (the previous file is unchanged)" if path.exists() else ""
        raise error(f"cannot write {what} {clip(str(path), 100)}: {e.strerror}{kept}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open a folder; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: str | Path, older_than: float = STALE_SECONDS) -> int:
    """Delete temp files of atomic writes in ``folder`` older than ``older_than`` seconds (a
    writer killed mid-save leaves one). Younger ones may belong to a save in progress.

    Returns:
        How many were removed.
    """
    removed = 0
    now = time.time()
    for p in Path(folder).glob(TMP_PREFIX + "*"):
        with contextlib.suppress(OSError):
            if p.is_file() and now - p.stat().st_mtime > older_than:
                p.unlink()
                removed += 1
    return removed
