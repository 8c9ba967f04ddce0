"""Checkpoints as safetensors weights + JSON metadata: nothing is ever unpickled."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch
from safetensors.torch import load as read_safetensors  # parses tensors; never unpickles

from lstm_core.config import Config
from lstm_core.data import Scaler
from lstm_core.errors import CheckpointError, ConfigError
from lstm_core.forecaster import Forecaster, build_net
from lstm_core.train import History

FORMAT = "1"
CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
SUFFIX = ".safetensors"
MAX_BYTES = 512 * 1024 * 1024


def sanitize_name(name: str) -> str:
    """A safe file stem: letters, digits, '-', '_' and '.' only, no leading dots, <= 64 chars."""
    stem = Path(str(name)).name
    if stem.endswith(SUFFIX):
        stem = stem[: -len(SUFFIX)]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:64]
    if not stem:
        raise CheckpointError(f"{name!r} is not a usable checkpoint name; use letters and digits")
    return stem


def _versions() -> dict[str, str]:
    import pandas

    return {
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "pandas": pandas.__version__,
        "numpy": np.__version__,
    }


def save(
    forecaster: Forecaster,
    name: str,
    directory: str | Path = CHECKPOINT_DIR,
    overwrite: bool = True,
) -> Path:
    """Write ``directory/<sanitised name>.safetensors`` atomically (temp file + rename).

    Raises:
        CheckpointError: the name is unusable, or taken and ``overwrite`` is false.
    """
    forecaster._check_fitted()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (sanitize_name(name) + SUFFIX)
    if not overwrite and path.exists():
        raise CheckpointError(
            f"a checkpoint named {path.stem!r} exists; choose another name or delete it"
        )
    metadata = {
        "format": FORMAT,
        "config": forecaster.config_.to_yaml(),
        "scaler": json.dumps({"mean": forecaster.scaler_.mean, "std": forecaster.scaler_.std}),
        "columns": json.dumps(
            {
                "inputs": forecaster.inputs_,
                "targets": forecaster.targets_,
                "time_col": forecaster.time_col_,
            }
        ),
        "frequency": json.dumps(forecaster.freq_),
        "split": json.dumps(int(forecaster.split_)),
        "history": json.dumps(forecaster.history_.to_dict()),
        "metrics": json.dumps(getattr(forecaster, "metrics_", None)),
        "data_hash": forecaster.data_hash_,
        "versions": json.dumps(_versions()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in forecaster.model_.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=SUFFIX)
    os.close(fd)
    try:
        safetensors.torch.save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load(path: str | Path) -> Forecaster:
    """Rebuild a Forecaster from a checkpoint file. Raises CheckpointError with the reason."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read {path}: {e.strerror}") from None
    return loads(data, path.name)


def loads(data: bytes, name: str = "checkpoint") -> Forecaster:
    """Like ``load``, from bytes (an upload). Nothing is unpickled: a pickle is refused."""
    if len(data) > MAX_BYTES:
        raise CheckpointError(f"{name} is larger than {MAX_BYTES >> 20} MB")
    if data[:2] == b"\x80\x02" or data[:1] == b"\x80" or data[:2] == b"PK":
        raise CheckpointError(
            f"{name} looks like a pickle or torch.save file; only .safetensors checkpoints made "
            "by AttentiveLSTM Studio are accepted (pickles can run code and are never loaded)"
        )
    try:
        tensors = read_safetensors(data)
        meta = _header_metadata(data)
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{name} is not a valid safetensors file ({e})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{name} is not an AttentiveLSTM Studio checkpoint (format {meta.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    try:
        cfg = Config.from_yaml(meta["config"])
        scaler = json.loads(meta["scaler"])
        columns = json.loads(meta["columns"])
        history = History.from_dict(json.loads(meta["history"]))
        fc = Forecaster(cfg)
        fc.config_ = cfg
        fc.scaler_ = Scaler(tuple(scaler["mean"]), tuple(scaler["std"]))
        fc.inputs_ = tuple(columns["inputs"])
        fc.targets_ = tuple(columns["targets"])
        fc.time_col_ = columns["time_col"]
        fc.freq_ = json.loads(meta["frequency"])
        fc.split_ = int(json.loads(meta["split"]))
        fc.history_ = history
        fc.metrics_ = json.loads(meta.get("metrics", "null"))
        fc.data_hash_ = meta["data_hash"]
        fc.meta_ = {"created": meta.get("created"), "versions": json.loads(meta["versions"])}
    except ConfigError as e:
        raise CheckpointError(f"{name}: its config is invalid: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{name}: metadata is missing or malformed ({e})") from None
    if len(fc.scaler_.mean) != len(fc.inputs_):
        raise CheckpointError(
            f"{name}: scaler has {len(fc.scaler_.mean)} columns, inputs {len(fc.inputs_)}"
        )
    net = build_net(cfg, len(fc.inputs_), len(fc.targets_))
    expected = net.state_dict()
    if set(tensors) != set(expected) or any(
        tensors[k].shape != expected[k].shape for k in expected
    ):
        diff = sorted(set(tensors) ^ set(expected)) or [
            f"{k} {tuple(tensors[k].shape)} != {tuple(expected[k].shape)}"
            for k in expected
            if tensors[k].shape != expected[k].shape
        ]
        raise CheckpointError(
            f"{name}: weights do not match its config ({'; '.join(map(str, diff[:3]))})"
        )
    net.load_state_dict(tensors)
    fc.model_ = net.eval()
    return fc


def _header_metadata(data: bytes) -> dict[str, str]:
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    return header.get("__metadata__", {}) or {}


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


def list_checkpoints(directory: str | Path = CHECKPOINT_DIR) -> list[CheckpointInfo]:
    """Every ``*.safetensors`` in ``directory``, newest first; broken files are listed with why."""
    out = []
    for p in sorted(Path(directory).glob("*" + SUFFIX), key=lambda p: -p.stat().st_mtime):
        if p.name.startswith(".tmp-"):
            continue
        st = p.stat()
        try:
            with open(p, "rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                if n > 10_000_000:
                    raise ValueError("header too large")
                meta = json.loads(fh.read(n)).get("__metadata__", {}) or {}
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
            )
        except Exception as e:  # a listing must survive any broken file; it says why instead
            info = CheckpointInfo(
                p.stem, p, st.st_size, st.st_mtime, None, (), (), {}, None, None, f"unreadable: {e}"
            )
        out.append(info)
    return out


def delete(name: str, directory: str | Path = CHECKPOINT_DIR) -> None:
    """Remove a checkpoint by name (sanitised, so it cannot leave ``directory``)."""
    path = Path(directory) / (sanitize_name(name) + SUFFIX)
    if not path.exists():
        raise CheckpointError(f"no checkpoint named {sanitize_name(name)!r}")
    path.unlink()
