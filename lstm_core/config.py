"""Frozen configuration dataclasses, strict validation, and the YAML round-trip."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Literal, get_args

import yaml

from lstm_core.errors import ConfigError

MissingPolicy = Literal["interpolate", "ffill", "refuse"]
Device = Literal["auto", "cpu", "cuda", "mps"]
MIN_HIDDEN = 32  # floor of the automatic hidden size: 1.5 x one variable would be useless


@dataclass(frozen=True)
class DataConfig:
    time_col: str | None = None  # None: detect, or use the row index
    targets: tuple[str, ...] = ()  # empty: the first numeric column
    covariates: tuple[str, ...] = ()  # extra input columns
    lookback: int = 96  # input window length
    horizon: int = 24  # steps forecast
    frequency: str | None = None  # pandas offset alias; None: inferred
    missing: MissingPolicy = "interpolate"


@dataclass(frozen=True)
class LSTMConfig:
    hidden_size: int | None = None  # None: 1.5 x input width, see resolve_hidden_size
    num_layers: int = 2
    dropout: float = 0.2
    bidirectional: bool = True
    use_attention: bool = True
    num_heads: int = 4
    patch_len: int | None = None  # steps per LSTM input token; None: lookback // 24, at least 1


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    patience: int = 5  # epochs without validation improvement before stopping
    val_fraction: float = 0.2
    seed: int = 0
    device: Device = "auto"
    mixed_precision: bool = True  # bf16 autocast, CUDA only


# (key, test, what is allowed) for numeric ranges
_RANGES: dict[str, tuple] = {
    "lookback": (lambda v: v >= 2, "an integer >= 2"),
    "horizon": (lambda v: v >= 1, "an integer >= 1"),
    "hidden_size": (lambda v: v is None or v >= 1, "null (automatic) or an integer >= 1"),
    "num_layers": (lambda v: 1 <= v <= 8, "an integer from 1 to 8"),
    "dropout": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "num_heads": (lambda v: v >= 1, "an integer >= 1"),
    "patch_len": (lambda v: v is None or v >= 1, "null (automatic) or an integer >= 1"),
    "epochs": (lambda v: 1 <= v <= 10_000, "an integer from 1 to 10000"),
    "batch_size": (lambda v: 1 <= v <= 65_536, "an integer from 1 to 65536"),
    "learning_rate": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "weight_decay": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "grad_clip": (lambda v: v > 0, "a number > 0"),
    "patience": (lambda v: v >= 1, "an integer >= 1"),
    "val_fraction": (lambda v: 0 < v < 0.5, "a number in (0, 0.5)"),
    "seed": (lambda v: v >= 0, "an integer >= 0"),
}


def _check_value(section: str, f: dataclasses.Field, value: object) -> object:
    """Coerce and validate one value against its field's type; raise ConfigError naming the key."""
    key = f"{section}.{f.name}"
    ann = str(f.type)

    def bad(allowed: str) -> ConfigError:
        return ConfigError(f"{key}: {value!r} is not allowed; expected {allowed}", key)

    if value is None:
        if "None" in ann:
            return None
        raise bad("a value (null is not allowed here)")
    if "tuple[str" in ann:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad("a list of column names")
        return tuple(value)
    if f.name in ("missing", "device"):
        allowed = get_args(MissingPolicy if f.name == "missing" else Device)
        if value not in allowed:
            raise bad("one of " + ", ".join(allowed))
        return value
    if ann.startswith("str"):
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if ann == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if ann.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(_RANGES.get(f.name, (None, "an integer"))[1])
    elif ann == "float":
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise bad(_RANGES.get(f.name, (None, "a number"))[1])
        value = float(value)
    test, allowed = _RANGES.get(f.name, (lambda v: True, ""))
    if not test(value):
        raise bad(allowed)
    return value


def _build(section: str, cls: type, raw: object):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: expected a mapping of keys, got {raw!r}", section)
    names = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(
            f"{section}.{unknown[0]}: unknown key; allowed keys are {', '.join(names)}",
            f"{section}.{unknown[0]}",
        )
    return cls(**{k: _check_value(section, names[k], v) for k, v in raw.items()})


def parse_yaml(text: str, where: str = "") -> object:
    """``yaml.safe_load`` whose syntax errors become a ConfigError giving the line (and, with
    ``where``, the section or file the text came from, which is then the error's key)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        ctx, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if ctx and cmark:
            problem += f" ({ctx} at line {cmark.line + 1})"
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}invalid YAML{at}: {problem}", where or None) from None


SECTIONS = {"data": DataConfig, "lstm": LSTMConfig, "training": TrainConfig}


@dataclass(frozen=True)
class Config:
    """The whole run: data, model (the spec's `lstm` section) and training."""

    data: DataConfig = field(default_factory=DataConfig)
    lstm: LSTMConfig = field(default_factory=LSTMConfig)
    training: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        h, heads = self.lstm.hidden_size, self.lstm.num_heads
        width = None if h is None else h * (2 if self.lstm.bidirectional else 1)
        if self.lstm.use_attention and width is not None and width % heads:
            raise ConfigError(
                f"lstm.num_heads: {heads} does not divide the attention width {width} "
                f"(hidden_size {h}{' x 2 directions' if self.lstm.bidirectional else ''}); "
                "choose a hidden_size or num_heads so that it divides, or hidden_size: null",
                "lstm.num_heads",
            )
        overlap = set(self.data.targets) & set(self.data.covariates)
        if overlap:
            raise ConfigError(
                f"data.covariates: {sorted(overlap)} also listed as targets; a column is one or "
                "the other (targets are inputs too)",
                "data.covariates",
            )

    @classmethod
    def from_dict(cls, raw: object) -> Config:
        """Build and validate a Config from plain data (e.g. parsed YAML). Raises ConfigError."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError("the config must be a mapping with sections data, lstm, training")
        unknown = sorted(set(raw) - set(SECTIONS))
        if unknown:
            raise ConfigError(
                f"{unknown[0]}: unknown section; allowed sections are data, lstm, training",
                unknown[0],
            )
        return cls(**{name: _build(name, c, raw.get(name)) for name, c in SECTIONS.items()})

    @classmethod
    def from_yaml(cls, text: str) -> Config:
        """Parse one YAML document (safe_load only). Raises ConfigError with the line of a syntax error."""
        return cls.from_dict(parse_yaml(text))

    def to_dict(self) -> dict:
        out = {}
        for name in SECTIONS:
            sec = dataclasses.asdict(getattr(self, name))
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in sec.items()}
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def replace(self, **sections: dict) -> Config:
        """A new validated Config with some keys changed: ``cfg.replace(data={"lookback": 16})``."""
        raw = self.to_dict()
        for name, changes in sections.items():
            if name not in SECTIONS:
                raise ConfigError(f"{name}: unknown section", name)
            raw[name] = {**raw[name], **changes}
        return Config.from_dict(raw)


def resolve_hidden_size(lstm: LSTMConfig, input_width: int) -> int:
    """The hidden size to build: the configured one, or ceil(1.5 x input width), at least
    MIN_HIDDEN, rounded up so the attention width divides by the heads."""
    if lstm.hidden_size is not None:
        return lstm.hidden_size
    h = max(MIN_HIDDEN, math.ceil(1.5 * input_width))
    directions = 2 if lstm.bidirectional else 1
    if lstm.use_attention:
        while (h * directions) % lstm.num_heads:
            h += 1
    return h


def load_config(path: str) -> Config:
    """Read a YAML config file. Raises ConfigError if it is missing or invalid."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    return Config.from_yaml(text)
