"""Frozen configuration dataclasses, strict validation, and the YAML round-trip."""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Literal, get_args, get_origin

import yaml

from lstm_core.errors import ConfigError
from lstm_core.safeio import clip, quote, read_capped

MissingPolicy = Literal["interpolate", "ffill", "refuse"]
Device = Literal["auto", "cpu", "cuda", "mps"]
# how the loss weighs windows: "none" scales each series by its mean and spread (the loss is in
# series spreads); "series" divides each series by its level (mean absolute value), so the loss
# is relative to the series' level; "level" also divides each window's targets by the window's
# own level (its mean absolute value) and multiplies the forecast back, so the network forecasts
# the ratio to the level and the loss is relative to each window's level (as ES-RNN)
WindowNorm = Literal["none", "series", "level"]
MIN_HIDDEN = 32  # floor of the automatic hidden size: 1.5 x one variable would be useless
# Upper bounds keep a few bytes of config from allocating gigabytes: a hidden size of 1024 with
# 8 layers is already ~100M weights, far beyond what this app trains on a CPU in minutes.
MAX_HIDDEN = 1024
MAX_HEADS = 64
MAX_NAMES = 1000  # columns in targets + covariates
MAX_NAME_CHARS = 256
MAX_CONFIG_CHARS = 128 * 1024  # a config is a few hundred bytes; pure-Python YAML parses ~0.3 MB/s
MAX_YAML_DEPTH = 32  # the config is 2 levels deep; deeper nesting is refused, not recursed


@dataclass(frozen=True)
class DataConfig:
    time_col: str | None = None  # None: detect, or use the row index
    targets: tuple[str, ...] = ()  # empty: the first numeric column
    covariates: tuple[str, ...] = ()  # extra input columns
    lookback: int = 96  # input window length
    horizon: int = 24  # steps forecast
    frequency: str | None = None  # pandas offset alias; None: inferred
    missing: MissingPolicy = "interpolate"
    window_norm: WindowNorm = "none"  # see WindowNorm


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
    # an epoch replaces the start (the linear fit) only when its validation loss is lower by
    # at least this share: a tie within noise keeps the simpler model
    start_margin: float = 0.01
    val_fraction: float = 0.2
    # a panel's model, once validation has chosen its epochs (and the check kept the LSTM):
    # trained again from its start on every row for those epochs, so the forecasts learn each
    # series' latest rows; the backtest scores the validated network (one series: not used)
    refit: bool = True
    seed: int = 0
    device: Device = "auto"
    threads: int | None = None  # CPU threads; None: the cores other work leaves free
    mixed_precision: bool = True  # bf16 autocast, CUDA only


# (key, test, what is allowed) for numeric ranges
_RANGES: dict[str, tuple] = {
    "lookback": (lambda v: 2 <= v <= 10_000, "an integer from 2 to 10000"),
    "horizon": (lambda v: 1 <= v <= 2_000, "an integer from 1 to 2000"),
    "hidden_size": (
        lambda v: v is None or 1 <= v <= MAX_HIDDEN,
        f"null (automatic) or an integer from 1 to {MAX_HIDDEN}",
    ),
    "num_layers": (lambda v: 1 <= v <= 8, "an integer from 1 to 8"),
    "dropout": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "num_heads": (lambda v: 1 <= v <= MAX_HEADS, f"an integer from 1 to {MAX_HEADS}"),
    "patch_len": (
        lambda v: v is None or 1 <= v <= 10_000,
        "null (automatic) or an integer from 1 to 10000",
    ),
    "epochs": (lambda v: 1 <= v <= 10_000, "an integer from 1 to 10000"),
    "batch_size": (lambda v: 1 <= v <= 65_536, "an integer from 1 to 65536"),
    "learning_rate": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "weight_decay": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "grad_clip": (lambda v: v > 0, "a number > 0"),
    "patience": (lambda v: 1 <= v <= 10_000, "an integer from 1 to 10000"),
    "start_margin": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "val_fraction": (lambda v: 0 < v < 0.5, "a number in (0, 0.5)"),
    "threads": (
        lambda v: v is None or 1 <= v <= 1024, "null (the free cores) or an integer from 1 to 1024"
    ),
    "seed": (lambda v: 0 <= v < 2**32, "an integer from 0 to 4294967295"),  # torch's seed range
}


@functools.cache
def _hints(cls: type) -> dict[str, object]:
    """The resolved type of each field (annotations are strings under ``from __future__``)."""
    return typing.get_type_hints(cls)


def _check_value(section: str, name: str, hint: object, value: object) -> object:
    """Coerce and validate one value against its field's type; raise ConfigError naming the key."""
    key = f"{section}.{name}"

    def bad(allowed: str) -> ConfigError:
        return ConfigError(f"{key}: {quote(value)} is not allowed; expected {allowed}", key)

    if get_origin(hint) in (typing.Union, types.UnionType):  # X | None
        if value is None:
            return None
        (hint,) = [a for a in get_args(hint) if a is not type(None)]
    elif value is None:
        raise bad("a value (null is not allowed here)")
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise bad("one of " + ", ".join(allowed))
        return value
    if origin is tuple:  # tuple[str, ...]: column names
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, (list, tuple))
            or len(value) > MAX_NAMES
            or not all(isinstance(v, str) and len(v) <= MAX_NAME_CHARS for v in value)
        ):
            raise bad(f"a list of at most {MAX_NAMES} column names")
        return tuple(value)
    if hint is str:
        if not isinstance(value, str) or len(value) > MAX_NAME_CHARS:
            raise bad(f"a string of at most {MAX_NAME_CHARS} characters")
        if name == "frequency" and not _is_frequency(value):
            raise bad("a pandas frequency such as h, D, W, MS, 15min, or null (inferred)")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(_RANGES.get(name, (None, "an integer"))[1])
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(_RANGES.get(name, (None, "a number"))[1])
        try:
            value = float(value)  # an int too large for a float raises OverflowError
        except OverflowError:
            raise bad(_RANGES.get(name, (None, "a number"))[1]) from None
        if not math.isfinite(value):
            raise bad(_RANGES.get(name, (None, "a number"))[1])
    test, allowed = _RANGES.get(name, (lambda v: True, ""))
    if not test(value):
        raise bad(allowed)
    return value


def _is_frequency(text: str) -> bool:
    import pandas as pd  # lazy: reading a config should not need pandas otherwise

    try:
        pd.tseries.frequencies.to_offset(text)
    except (ValueError, TypeError):
        return False
    return True


def _check_keys(where: str, raw: dict, allowed) -> None:
    """Keys must be names from ``allowed``; a number or list as a key is refused by name."""
    for k in raw:
        if not isinstance(k, str):
            raise ConfigError(
                f"{where}: key {quote(k)} is not a name; keys are {', '.join(allowed)}", where
            )


def _build(section: str, cls: type, raw: object):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: expected a mapping of keys, got {quote(raw)}", section)
    names = [f.name for f in fields(cls)]
    _check_keys(section, raw, names)
    unknown = sorted(set(raw) - set(names))
    if unknown:
        key = f"{section}.{clip(unknown[0], 60)}"
        raise ConfigError(f"{key}: unknown key; allowed keys are {', '.join(names)}", key)
    hints = _hints(cls)
    return cls(**{k: _check_value(section, k, hints[k], v) for k, v in raw.items()})


class _StrictLoader(yaml.SafeLoader):
    """safe_load that also refuses aliases (``*a`` can expand a few bytes into gigabytes),
    nesting deeper than MAX_YAML_DEPTH (the composer recurses) and duplicate keys (the last one
    would win silently)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed; write the value out",
                self.peek_event().start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_YAML_DEPTH} levels deep",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen = set()
            for key_node, _ in node.value:
                k = self.construct_object(key_node, deep=False)
                try:
                    duplicate = k in seen
                except TypeError:  # unhashable: the base class says so
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {quote(k, 40)}", key_node.start_mark
                    )
                seen.add(k)
        return super().construct_mapping(node, deep)


def parse_yaml(text: str, where: str = "") -> object:
    """``yaml.safe_load`` whose syntax errors become a ConfigError giving the line (and, with
    ``where``, the section or file the text came from, which is then the error's key).

    Stricter than safe_load: aliases, duplicate keys, nesting deeper than MAX_YAML_DEPTH and
    texts over MAX_CONFIG_CHARS are refused, so no config can expand or recurse without bound.
    """
    prefix = f"{where}: " if where else ""
    if len(text) > MAX_CONFIG_CHARS:
        raise ConfigError(
            f"{prefix}the config is {len(text)} characters long; a config is a few hundred "
            f"(at most {MAX_CONFIG_CHARS})",
            where or None,
        )
    loader = None
    try:
        loader = _StrictLoader(text)  # its reader already refuses control characters
        return loader.get_single_data()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        ctx, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if ctx and cmark:
            problem += f" ({ctx} at line {cmark.line + 1})"
        message = f"{prefix}invalid YAML{at}: {clip(problem, 160)}"
        raise ConfigError(message, where or None) from None
    except ValueError:  # yaml builds ints with int(); Python refuses over 4300 digits
        raise ConfigError(f"{prefix}invalid YAML: a number is too long", where or None) from None
    except RecursionError:  # belt and braces: MAX_YAML_DEPTH should stop this first
        raise ConfigError(f"{prefix}invalid YAML: nested too deep", where or None) from None
    finally:
        if loader is not None:
            loader.dispose()


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
        _check_keys("config", raw, SECTIONS)
        unknown = sorted(set(raw) - set(SECTIONS))
        if unknown:
            name = clip(unknown[0], 60)
            raise ConfigError(
                f"{name}: unknown section; allowed sections are data, lstm, training", name
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
    """The hidden size to build: the configured one, or ceil(1.5 x input width) between
    MIN_HIDDEN and MAX_HIDDEN, rounded so the attention width divides by the heads."""
    if lstm.hidden_size is not None:
        return lstm.hidden_size
    h = min(max(MIN_HIDDEN, math.ceil(1.5 * input_width)), MAX_HIDDEN)
    if not lstm.use_attention:
        return h
    directions = 2 if lstm.bidirectional else 1
    step = lstm.num_heads // math.gcd(lstm.num_heads, directions)  # h must be a multiple of it
    if step > MAX_HIDDEN:
        raise ConfigError(
            f"lstm.num_heads: {lstm.num_heads} heads need a hidden size above {MAX_HIDDEN}; "
            f"use at most {MAX_HEADS} heads",
            "lstm.num_heads",
        )
    up = -(-h // step) * step
    return up if up <= MAX_HIDDEN else MAX_HIDDEN // step * step


def load_config(path: str) -> Config:
    """Read a YAML config file (UTF-8, at most MAX_CONFIG_CHARS bytes, a regular file).

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8, too large or invalid.
    """
    raw = read_capped(path, MAX_CONFIG_CHARS, ConfigError, "config")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"config {clip(str(path), 100)} is not UTF-8 text (byte 0x{raw[e.start]:02x} at "
            f"position {e.start}); save it as UTF-8"
        ) from None
    return Config.from_yaml(text)


# ---------------------------------------------------------------- one YAML text per section


def config_sections(cfg: Config) -> dict[str, str]:
    """The config as one YAML text per section (data, lstm, training), keys in field order."""
    return {name: yaml.safe_dump(body, sort_keys=False) for name, body in cfg.to_dict().items()}

def config_from_sections(texts: dict[str, str]) -> Config:
    """Parse one YAML text per section into a validated Config.

    Raises:
        ConfigError: with ``key`` set to the offending key, or to the section whose text is not
            valid YAML (the message then gives the line within that section).
    """
    raw = {name: parse_yaml(texts.get(name, "") or "{}", name) for name in SECTIONS}
    return Config.from_dict(raw)

def key_section(key: str | None) -> str | None:
    """The section ("data", "lstm", "training") a ConfigError key belongs to, if any."""
    head = (key or "").split(".")[0]
    return head if head in SECTIONS else None

def config_yaml(config: dict) -> str:
    """A stored config (plain dict) as YAML in field order."""
    return yaml.safe_dump(config, sort_keys=False)
