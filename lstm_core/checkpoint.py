"""Checkpoints as safetensors weights + JSON metadata: nothing is ever unpickled."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch
from safetensors.torch import load as read_safetensors  # parses tensors; never unpickles

from lstm_core import safeio
from lstm_core.checkpoint_format import (
    MAX_HEADER,
    check_shapes,
    metadata_parts,
    panel_parts,
    read_header,
)
from lstm_core.config import Config
from lstm_core.errors import CheckpointError, CheckpointExists, ConfigError, DeleteRefused
from lstm_core.fitted import Fittable, Fitted, SeriesFit, check_is_fitted
from lstm_core.forecaster import Forecaster
from lstm_core.network import build_net, load_network
from lstm_core.panel_forecaster import PanelForecaster, forecaster_from
from lstm_core.safeio import clip, quote

FORMAT = "1"
CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
SUFFIX = ".safetensors"
VALIDATED = "validated."  # prefix of the validated network's tensors (``Fitted.validated``)
MAX_BYTES = 512 * 1024 * 1024
DEMO = CHECKPOINT_DIR / "demo.safetensors"  # shipped: new visitors start with it; never deleted
ADMIN_ENV = "STUDIO_ADMIN"  # "1": whoever runs the server may delete any checkpoint but the demo
TRASH = ".trash"  # deleted checkpoints wait in this subfolder, for an undo, TRASH_KEEP_S at most
TRASH_KEEP_S = 24 * 3600.0
_TOKEN = re.compile(r"[0-9a-f]{64}")  # an owner token: a sha256 in hex
_TRASH_ID = re.compile(r"[0-9a-f]{32}-[A-Za-z0-9._-]{1,64}")  # uuid4 hex, "-", the file's stem


def sanitize_name(name: str) -> str:
    """A safe file stem: letters, digits, '-', '_' and '.' only, no leading dots, <= 64 chars."""
    stem = Path(str(name)).name
    stem = stem.removesuffix(SUFFIX)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:64]
    if not stem:
        raise CheckpointError(
            f"{quote(name, 40)} is not a usable checkpoint name; use letters and digits"
        )
    return stem


def _versions() -> dict[str, str]:
    import pandas

    return {
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "pandas": pandas.__version__,
        "numpy": np.__version__,
    }


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def target_path(name: str, directory: str | Path = CHECKPOINT_DIR) -> Path:
    """Where ``save(…, name, directory)`` writes: ``directory/<sanitised name>.safetensors``."""
    return Path(directory) / (sanitize_name(name) + SUFFIX)


def check_writable(name: str, directory: str | Path = CHECKPOINT_DIR) -> Path:
    """Make sure a checkpoint can be saved there before training for minutes.

    Raises:
        CheckpointError: the name is unusable or the folder cannot be made or written.
    """
    return safeio.check_writable(target_path(name, directory), CheckpointError, "checkpoint")


def save(
    forecaster: Fittable,
    name: str,
    directory: str | Path = CHECKPOINT_DIR,
    overwrite: bool = True,
    owner: str | None = None,
) -> Path:
    """Write ``directory/<sanitised name>.safetensors`` atomically and durably: a temp file in
    the same folder, fsynced, renamed over the target (hard-linked to it without
    ``overwrite``, so that of two saves racing for a name exactly one wins), then the folder
    fsynced. The metadata holds a sha256 of the weights, which ``loads`` verifies, and with an
    ``owner`` id its ``owner_token``, which decides who may delete the file. Temp files left by
    a writer that was killed are removed first.

    A panel's model is saved with its first series in the fields every checkpoint has (so a
    reader that knows no panels loads that series' model), plus a "panel" field: the ids, the
    id column and each series' scaling, held-out start and test start.

    Raises:
        CheckpointExists: ``overwrite`` is false and the name is taken (the file is unchanged).
        CheckpointError: the name is unusable, the panel's metadata is too large, or the file
            cannot be written (disk full, no permission); an existing file is then unchanged.
    """
    state = check_is_fitted(forecaster)
    first = next(iter(state.series.values()))
    panel = _panel_metadata(state) if state.layout is not None else None
    path = target_path(name, directory)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        folder = clip(str(path.parent), 100)
        raise CheckpointError(f"cannot make folder {folder}: {e.strerror}") from None
    safeio.remove_stale_temps(path.parent)
    taken = f"a checkpoint named {path.stem!r} exists; choose another name or delete it"
    if not overwrite and path.exists():  # a cheap early answer; the link below decides
        raise CheckpointExists(taken)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.model.state_dict().items()}
    if state.validated is not None:  # a model trained again after validation keeps both
        tensors |= {
            VALIDATED + k: v.detach().cpu().contiguous()
            for k, v in state.validated.state_dict().items()
        }
    metadata = {
        "format": FORMAT,
        "config": state.config.to_yaml(),
        "scaler": json.dumps({"mean": first.scaler.mean, "std": first.scaler.std}),
        "columns": json.dumps(
            {"inputs": state.inputs, "targets": state.targets, "time_col": state.time_col}
        ),
        "frequency": json.dumps(first.freq),
        "split": json.dumps(int(first.split)),
        "history": json.dumps(state.history.to_dict()),
        "metrics": json.dumps(state.metrics),
        "data_hash": state.data_hash,
        "versions": json.dumps(_versions()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "weights_sha256": weights_digest(tensors),
    }
    if owner is not None:
        metadata["owner"] = owner_token(owner)
    if panel is not None:
        metadata["panel"] = panel
        if sum(map(len, metadata.values())) > MAX_HEADER - 64 * 1024:  # leave room for shapes
            raise CheckpointError(
                f"the panel's metadata ({len(panel) >> 20} MB for its series' ids and scaling) "
                f"is over the {MAX_HEADER >> 20} MB a checkpoint may hold; train on fewer series"
            )
    data = safetensors.torch.save(tensors, metadata=metadata)
    try:
        return safeio.write_atomic(path, data, CheckpointError, "checkpoint", overwrite)
    except FileExistsError:
        raise CheckpointExists(taken) from None


def load(path: str | Path) -> Forecaster | PanelForecaster:
    """Rebuild a Forecaster (a PanelForecaster for a panel's model) from a checkpoint file (a
    regular file of at most MAX_BYTES). Raises CheckpointError with the reason."""
    data = safeio.read_capped(path, MAX_BYTES, CheckpointError, "checkpoint")
    return loads(data, Path(path).name)


def loads(data: bytes, name: str = "checkpoint") -> Forecaster | PanelForecaster:
    """Like ``load``, from bytes (an upload). Nothing is unpickled: a pickle is refused.

    Everything is validated before anything is allocated: the file is identified as
    safetensors by its structure, its config and metadata are checked (with upper bounds),
    the network is built on the meta device (shapes only) and its shapes compared with the
    file's, and only then are the tensors read; they must be finite and match the stored
    checksum.
    """
    name = clip(name, 80)
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name} is larger than {MAX_BYTES >> 20} MB")
    header = read_header(data, name)
    meta = header.pop("__metadata__", None)
    meta = meta if isinstance(meta, dict) else {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{name} is not an AttentiveLSTM Studio checkpoint (format "
            f"{quote(meta.get('format'), 20)}, expected {FORMAT!r})"
        )
    parts = metadata_parts(meta, name)
    cfg = parts["config"]
    series = panel_parts(meta, name, len(parts["inputs"])) if "panel" in meta else None
    try:
        shape_net = build_net(cfg, len(parts["inputs"]), len(parts["targets"]), meta=True)
    except ConfigError as e:
        raise CheckpointError(f"{name}: its config is invalid: {e}") from None
    expected = shape_net.state_dict()
    if any(k.startswith(VALIDATED) for k in header):  # a refit panel's validated network too
        expected |= {VALIDATED + k: v for k, v in expected.items()}
    check_shapes(header, expected, name)
    try:
        tensors = read_safetensors(data)  # the sizes are known to match the config now
    except Exception as e:  # safetensors raises its own error types for corrupt files
        why = clip(str(e), 100)
        raise CheckpointError(f"{name} is not a valid safetensors file ({why})") from None
    broken = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(
            f"{name}: {len(broken)} weight tensor(s) hold NaN or infinite values (first "
            f"{clip(broken[0], 60)}); the model is unusable, retrain it"
        )
    digest = meta.get("weights_sha256")
    if digest is not None and digest != weights_digest(tensors):
        raise CheckpointError(
            f"{name}: the weights do not match the checksum stored with them (a torn or altered "
            "file); use another copy or retrain"
        )
    one = {"": SeriesFit(parts.pop("scaler"), parts.pop("split"), parts.pop("freq"))}
    own = {k: v for k, v in tensors.items() if not k.startswith(VALIDATED)}
    validated = {k.removeprefix(VALIDATED): v for k, v in tensors.items() if k not in own}
    sizes = (len(parts["inputs"]), len(parts["targets"]))
    return forecaster_from(
        Fitted(
            model=load_network(cfg, own, *sizes),
            validated=load_network(cfg, validated, *sizes) if validated else None,
            **{"series": one, **parts, **(series or {})},
        )
    )


def _panel_metadata(state: Fitted) -> str:
    """The "panel" field: ids, id column, layout, and per series its scaler, held-out start,
    frequency, test start and data hash (in the order of ``ids``)."""
    fits = list(state.series.values())
    return json.dumps({
        "ids": list(state.series),
        "id_col": state.id_col,
        "layout": state.layout,
        "mean": [list(f.scaler.mean) for f in fits],
        "std": [list(f.scaler.std) for f in fits],
        "split": [int(f.split) for f in fits],
        "frequency": [f.freq for f in fits],
        "test": [int(f.test) for f in fits],
        "data_hash": [f.data_hash for f in fits],
    })


@dataclass(frozen=True)
class CheckpointInfo:
    """One saved checkpoint, as listed: file facts and the metadata worth showing."""

    name: str
    path: Path
    size: int
    modified: float
    created: str | None
    targets: tuple[str, ...]
    inputs: tuple[str, ...]
    config: dict
    metrics: dict | None
    best_val_loss: float | None
    error: str | None  # why the file cannot be loaded, if it cannot
    series: int = 1  # series the model learnt from (a panel's model: more than one)


def list_checkpoints(directory: str | Path = CHECKPOINT_DIR) -> list[CheckpointInfo]:
    """Every ``*.safetensors`` in ``directory``, newest first; broken files are listed with why."""
    out = []
    for p in sorted(Path(directory).glob("*" + SUFFIX), key=lambda p: -p.stat().st_mtime):
        if p.name.startswith(safeio.TMP_PREFIX) or not p.is_file():  # a FIFO would block open()
            continue
        st = p.stat()
        try:
            meta = _metadata(p)
            if meta.get("format") != FORMAT:
                raise ValueError("not an AttentiveLSTM Studio checkpoint")
            cols = json.loads(meta["columns"])
            hist = json.loads(meta["history"])
            vals = hist.get("val_loss") or []
            info = CheckpointInfo(
                p.stem,
                p,
                st.st_size,
                st.st_mtime,
                meta.get("created"),
                tuple(cols["targets"]),
                tuple(cols["inputs"]),
                Config.from_yaml(meta["config"]).to_dict(),
                json.loads(meta.get("metrics", "null")),
                min(vals) if vals else None,
                None,
                len(json.loads(meta["panel"])["ids"]) if "panel" in meta else 1,
            )
        except Exception as e:  # a listing must survive any broken file; it says why instead
            info = CheckpointInfo(
                p.stem, p, st.st_size, st.st_mtime, None, (), (), {}, None, None, f"unreadable: {e}"
            )
        out.append(info)
    return out


def _metadata(path: Path) -> dict:
    """The metadata in a checkpoint's header, read without the tensors.

    Raises:
        OSError, ValueError: the file cannot be read or its header is not JSON.
    """
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        if n > MAX_HEADER:
            raise ValueError("header too large")
        meta = json.loads(fh.read(n)).get("__metadata__", {}) or {}
    return meta if isinstance(meta, dict) else {}


# ---------------------------------------------------------------- ownership, trash and undo


def owner_token(owner: str) -> str:
    """What a checkpoint stores of its owner: a sha256 of the owner id, never the id itself,
    so reading a file reveals nothing that grants deleting it."""
    return hashlib.sha256(b"attentive-lstm-owner:" + owner.encode()).hexdigest()


def owner_of(path: str | Path) -> str | None:
    """The owner token stored in the checkpoint at ``path``, read from the file alone (so it
    holds after a restart); None when it has none (saved by an older version, or unreadable)."""
    try:
        token = _metadata(Path(path)).get("owner")
    except (OSError, ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and _TOKEN.fullmatch(token) else None


def _owned_by(path: Path, owner: str | None) -> bool | None:
    """Whether ``owner`` owns the file; None when the file records no owner."""
    token = owner_of(path)
    if token is None:
        return None
    return owner is not None and hmac.compare_digest(token, owner_token(owner))


def _admin(admin: bool | None) -> bool:
    return os.environ.get(ADMIN_ENV) == "1" if admin is None else admin


def delete_refusal(path: str | Path, owner: str | None, admin: bool | None = None) -> str | None:
    """Why ``owner`` may not delete the checkpoint at ``path``; None when it may.

    Its owner (whose id's token the file stores) may; with ``admin`` (default: the environment
    has STUDIO_ADMIN=1) anyone may, files without an owner included. The shipped demo never is.
    """
    path = Path(path)
    if path.resolve() == DEMO.resolve():
        return "The shipped demo is kept: new visitors start with it"
    if not path.is_file():
        return f"There is no checkpoint {path.stem!r} any more"
    if _admin(admin):
        return None
    owned = _owned_by(path, owner)
    if owned is None:
        return (
            f"{path.stem} records no owner (an older version saved it, or it is unreadable): "
            f"only an administrator (a server run with {ADMIN_ENV}=1) may delete it"
        )
    return None if owned else f"{path.stem} was saved by someone else: only its owner may delete it"


def may_delete(path: str | Path, owner: str | None, admin: bool | None = None) -> bool:
    """Whether ``owner`` may delete the checkpoint at ``path`` (see ``delete_refusal``)."""
    return delete_refusal(path, owner, admin) is None


def trash(path: str | Path, owner: str | None, admin: bool | None = None) -> str:
    """Move a checkpoint to the trash (``<folder>/.trash/<trash id>.safetensors``), where it
    waits TRASH_KEEP_S for ``restore``; older trash is purged first.

    The trash id is unique (a uuid4 and the file's stem), so two deleted files of one name
    never overwrite each other. Ownership is checked again on the file moved, and a file that
    changed hands in between is put back.

    Returns:
        The trash id, which ``restore`` takes.

    Raises:
        DeleteRefused: ``owner`` may not delete it (the reason is the message).
        CheckpointError: the file cannot be moved.
    """
    path = Path(path)
    why = delete_refusal(path, owner, admin)
    if why is not None:
        raise DeleteRefused(why)
    trash_id = f"{uuid.uuid4().hex}-{path.stem}"
    kept = path.parent / TRASH / (trash_id + SUFFIX)
    try:
        kept.parent.mkdir(exist_ok=True)
        purge_trash(path.parent)
        os.replace(path, kept)  # a fresh uuid name: nothing in the trash is overwritten
        os.utime(kept)  # its time in the trash starts now
    except OSError as e:
        raise CheckpointError(f"{path.stem} was not deleted: {e.strerror}") from None
    if not _admin(admin) and not _owned_by(kept, owner):  # replaced since the check above
        # back under its name, unless a newer save took the name meanwhile: that save then
        # supersedes this one as any overwrite does, and this one waits in the trash
        _relink(kept, path)
        raise DeleteRefused(f"{path.stem} was saved by someone else: only its owner may delete it")
    return trash_id


def restore(
    trash_id: str,
    owner: str | None,
    directory: str | Path = CHECKPOINT_DIR,
    admin: bool | None = None,
) -> Path:
    """Bring back exactly the file that ``trash`` moved under ``trash_id``.

    If its name was taken since, it comes back as ``<name>-restored`` (or ``-restored-2``...),
    never over the other file.

    Returns:
        Where it is now.

    Raises:
        DeleteRefused: it was not ``owner``'s (and ``admin`` is false).
        CheckpointError: the id is malformed, or the file is no longer in the trash.
    """
    if not (isinstance(trash_id, str) and _TRASH_ID.fullmatch(trash_id)):
        raise CheckpointError(f"{quote(trash_id, 60)} is not a trash id")
    directory = Path(directory)
    kept, stem = directory / TRASH / (trash_id + SUFFIX), trash_id[33:]
    if not kept.is_file():
        hours = TRASH_KEEP_S / 3600
        raise CheckpointError(f"{stem} is no longer in the trash (it keeps files {hours:g} h)")
    if not _admin(admin) and not _owned_by(kept, owner):
        raise DeleteRefused(f"{stem} was deleted by someone else: only its owner may restore it")
    for n in range(1, 101):
        tail = "" if n == 1 else "-restored" if n == 2 else f"-restored-{n - 1}"
        path = directory / (stem[: 64 - len(tail)] + tail + SUFFIX)
        if _relink(kept, path):
            os.utime(path)  # back at the top of the list, newest first
            return path
    raise CheckpointError(f"{stem} cannot be restored: every name tried is taken")


def _relink(src: Path, dst: Path) -> bool:
    """Move ``src`` to ``dst`` unless ``dst`` exists (a link fails then, in one step)."""
    try:
        os.link(src, dst)
    except FileExistsError:
        return False
    except OSError as e:
        raise CheckpointError(f"{dst.stem} cannot be restored: {e.strerror}") from None
    src.unlink()
    return True


def purge_trash(directory: str | Path = CHECKPOINT_DIR, keep_s: float = TRASH_KEEP_S) -> int:
    """Remove checkpoints that have waited in ``directory``'s trash longer than ``keep_s``.

    Returns:
        How many were removed.
    """
    removed, now = 0, time.time()
    for p in (Path(directory) / TRASH).glob("*" + SUFFIX):
        try:
            if now - p.stat().st_mtime > keep_s:
                p.unlink()
                removed += 1
        except OSError:  # removed by another session's purge meanwhile
            continue
    return removed
