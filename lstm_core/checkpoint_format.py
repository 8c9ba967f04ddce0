"""What a checkpoint's header must hold, checked field by field (with upper bounds) before
anything is built from it: nothing in a file is trusted, nothing is unpickled."""

from __future__ import annotations

import json
import math

import torch

from lstm_core.config import MAX_NAME_CHARS, MAX_NAMES, Config, _is_frequency
from lstm_core.data import Scaler
from lstm_core.errors import CheckpointError, ConfigError
from lstm_core.fitted import SeriesFit
from lstm_core.panel import MAX_ID_CHARS, MAX_SERIES
from lstm_core.safeio import clip, quote
from lstm_core.train import History

MAX_HEADER = 8 * 1024 * 1024  # the JSON header: shapes + metadata; ours are a few KB
_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
_PICKLE_PROTOCOLS = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # torch.save writes a zip holding a pickle


def panel_parts(meta: dict, name: str, n_inputs: int) -> dict:
    """The validated "panel" field, as ``Fitted``'s series-related fields."""
    panel = _json(meta, "panel", name, dict)
    ids = _names(panel.get("ids"), name, "panel ids", MAX_SERIES, MAX_ID_CHARS, "series ids")
    n = len(ids)
    id_col = panel.get("id_col")
    if id_col is not None and not (isinstance(id_col, str) and len(id_col) <= MAX_NAME_CHARS):
        raise CheckpointError(f"{name}: metadata panel id_col is not a column name")
    layout = panel.get("layout")
    if layout not in ("long", "wide"):
        raise CheckpointError(f"{name}: metadata panel layout must be long or wide")
    columns = {}
    # a panel saved before its backtest had a test part holds no test starts nor data hashes
    # (it then scores the validation windows, as it did)
    before = {"test": [0] * n, "data_hash": [""] * n}
    for key in ("mean", "std", "split", "frequency", "test", "data_hash"):
        value = panel.get(key, before.get(key))
        if not isinstance(value, list) or len(value) != n:
            raise CheckpointError(f"{name}: metadata panel {key} must hold one entry per series")
        columns[key] = value
    series = {}
    for i, sid in enumerate(ids):
        split, freq = columns["split"][i], columns["frequency"][i]
        test, digest = columns["test"][i], columns["data_hash"][i]
        for key, ok in (
            ("split", _is_row(split)),
            ("test", _is_row(test)),
            ("data_hash", isinstance(digest, str) and len(digest) <= 64),
        ):
            if not ok:
                raise CheckpointError(
                    f"{name}: metadata panel {key} of {quote(sid, 40)} is invalid"
                )
        if freq is not None and not (
            isinstance(freq, str) and len(freq) <= 32 and _is_frequency(freq)
        ):
            raise CheckpointError(
                f"{name}: metadata panel frequency of {quote(sid, 40)} is not a pandas frequency"
            )
        scaler = Scaler(
            _numbers(columns["mean"][i], n_inputs, name, "mean"),
            _numbers(columns["std"][i], n_inputs, name, "std", positive=True),
        )
        series[sid] = SeriesFit(scaler, split, freq, test, digest)
    return {"series": series, "id_col": id_col, "layout": layout}


def _is_row(value: object) -> bool:
    """A row number as a checkpoint may hold one (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**9


def read_header(data: bytes, name: str) -> dict:
    """The safetensors JSON header, identified by its structure (an 8-byte length, then JSON
    that fits in the file); a pickle or a zip (torch.save) is named as such."""
    n = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if 2 <= n <= min(MAX_HEADER, len(data) - 8) and data[8:9] == b"{":
        try:
            header = json.loads(data[8 : 8 + n])
        except (ValueError, RecursionError):
            header = None
        if isinstance(header, dict):
            return header
        raise CheckpointError(f"{name} is not a valid safetensors file (its header is not JSON)")
    if data[:2] in _PICKLE_PROTOCOLS or data[:4] in _ZIP_MAGIC:
        raise CheckpointError(
            f"{name} looks like a pickle or torch.save file; only .safetensors checkpoints made "
            "by AttentiveLSTM Studio are accepted (pickles can run code and are never loaded)"
        )
    raise CheckpointError(
        f"{name} is not a valid safetensors file (no header of the right shape); only "
        ".safetensors checkpoints made by AttentiveLSTM Studio are accepted"
    )


def _json(meta: dict, key: str, name: str, types: type | tuple, default=...) -> object:
    """One JSON field of the metadata, of the given type(s)."""
    if key not in meta and default is not ...:
        return default
    try:
        value = json.loads(meta[key])
    except (KeyError, TypeError, ValueError, RecursionError):
        raise CheckpointError(f"{name}: metadata field {key!r} is missing or not JSON") from None
    if not isinstance(value, types) or isinstance(value, bool) and bool not in _tuple(types):
        raise CheckpointError(f"{name}: metadata field {key!r} has the wrong type")
    return value


def _tuple(types: type | tuple) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _names(
    value: object,
    name: str,
    what: str,
    most: int = MAX_NAMES,
    chars: int = MAX_NAME_CHARS,
    kind: str = "column names",
) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= most
        or not all(isinstance(v, str) and len(v) <= chars for v in value)
        or len(set(value)) != len(value)
    ):
        raise CheckpointError(f"{name}: metadata {what} is not a list of distinct {kind}")
    return tuple(value)


def _numbers(value: object, n: int, name: str, what: str, positive: bool = False) -> tuple:
    ok = (
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(v) and (v > 0 or not positive) for v in value)
    )
    if not ok:
        kind = "positive finite numbers" if positive else "finite numbers"
        raise CheckpointError(f"{name}: scaler {what} must be {n} {kind}")
    return tuple(float(v) for v in value)


def metadata_parts(meta: dict, name: str) -> dict:
    """The validated metadata, as ``Fitted``'s fields (but the model) plus "scaler", "split"
    and "freq" (one series' ``SeriesFit``)."""
    text = meta.get("config")
    if not isinstance(text, str):
        raise CheckpointError(f"{name}: metadata field 'config' is missing")
    try:
        cfg = Config.from_yaml(text)
    except ConfigError as e:
        raise CheckpointError(f"{name}: its config is invalid: {e}") from None
    if cfg.lstm.hidden_size is None:
        raise CheckpointError(
            f"{name}: its config is invalid: lstm.hidden_size is null, but a trained model has "
            "a fixed size"
        )
    columns = _json(meta, "columns", name, dict)
    inputs = _names(columns.get("inputs"), name, "inputs")
    targets = _names(columns.get("targets"), name, "targets")
    if inputs[: len(targets)] != targets:
        raise CheckpointError(f"{name}: metadata inputs must start with the targets")
    if cfg.data.targets + cfg.data.covariates != inputs:
        raise CheckpointError(f"{name}: its config's targets and covariates differ from its inputs")
    time_col = columns.get("time_col")
    if time_col is not None and not (isinstance(time_col, str) and len(time_col) <= MAX_NAME_CHARS):
        raise CheckpointError(f"{name}: metadata time_col is not a column name")
    scaler = _json(meta, "scaler", name, dict)
    mean = _numbers(scaler.get("mean"), len(inputs), name, "mean")
    std = _numbers(scaler.get("std"), len(inputs), name, "std", positive=True)
    freq = _json(meta, "frequency", name, (str, type(None)))
    if freq is not None and (len(freq) > 32 or not _is_frequency(freq)):
        raise CheckpointError(
            f"{name}: metadata frequency {quote(freq, 32)} is not a pandas frequency"
        )
    split = _json(meta, "split", name, int)
    if not 0 <= split <= 10**9:
        raise CheckpointError(f"{name}: metadata split {quote(split)} is out of range")
    raw_history = _json(meta, "history", name, dict)
    try:
        history = History.from_dict(raw_history)
    except (TypeError, ValueError):
        raise CheckpointError(f"{name}: metadata history is malformed") from None
    data_hash = meta.get("data_hash", "")
    if not isinstance(data_hash, str):
        raise CheckpointError(f"{name}: metadata data_hash is not text")
    return {
        "config": cfg,
        "scaler": Scaler(mean, std),
        "inputs": inputs,
        "targets": targets,
        "time_col": time_col,
        "freq": freq,
        "split": split,
        "history": history,
        "metrics": _json(meta, "metrics", name, (dict, type(None)), None),
        "data_hash": data_hash,
        "meta": {
            "created": clip(meta["created"], 40) if isinstance(meta.get("created"), str) else None,
            "versions": _json(meta, "versions", name, dict, {}),
        },
    }


def check_shapes(header: dict, expected: dict[str, torch.Tensor], name: str) -> None:
    """The file's tensor names and shapes (from its header) must be what the config builds."""
    found = {}
    for k, v in header.items():
        shape = v.get("shape") if isinstance(v, dict) else None
        if not (
            isinstance(shape, list)
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
            and v.get("dtype") in _FLOAT_DTYPES
        ):
            raise CheckpointError(f"{name}: tensor {quote(k, 40)} has no float dtype and shape")
        found[k] = tuple(shape)
    diff = sorted(set(found) ^ set(expected)) or [
        f"{k} {found[k]} != {tuple(expected[k].shape)}"
        for k in expected
        if found[k] != tuple(expected[k].shape)
    ]
    if diff:
        shown = "; ".join(clip(str(d), 60) for d in diff[:3])
        raise CheckpointError(f"{name}: weights do not match its config ({shown})")
