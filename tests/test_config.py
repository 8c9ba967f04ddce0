"""Config: defaults, YAML round-trip, strict validation, automatic hidden size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lstm_core.config import (
    MAX_HIDDEN,
    MIN_HIDDEN,
    Config,
    LSTMConfig,
    config_from_sections,
    config_sections,
    key_section,
    load_config,
    resolve_hidden_size,
)
from lstm_core.errors import ConfigError

DEFAULT_YAML = Path(__file__).resolve().parent.parent / "lstm_core" / "default.yaml"


def test_defaults_follow_the_spec():
    lstm = Config().lstm
    assert (lstm.hidden_size, lstm.num_layers, lstm.dropout) == (None, 2, 0.2)
    assert lstm.bidirectional and lstm.use_attention and lstm.num_heads == 4
    assert Config().training.grad_clip == 1.0


def test_yaml_round_trip_is_identical():
    cfg = Config().replace(data={"targets": ["a", "b"], "covariates": ["c"]}, lstm={"hidden_size": 6})
    text = cfg.to_yaml()
    again = Config.from_yaml(text)
    assert again == cfg
    assert again.to_yaml() == text


def test_shipped_default_yaml_is_the_default_config():
    assert Config.from_yaml(DEFAULT_YAML.read_text()) == Config()


def test_spec_lstm_section_is_accepted():
    spec = """
lstm:
  hidden_size: null      # null = automatic (1.5 x input)
  num_layers: 2
  dropout: 0.2
  bidirectional: true
  use_attention: true
"""
    assert Config.from_yaml(spec).lstm == LSTMConfig()


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("lstm: {hiden_size: 8}", "lstm.hiden_size", "unknown key"),
        ("model: {}", "model", "unknown section"),
        ("lstm: {num_layers: two}", "lstm.num_layers", "integer"),
        ("lstm: {dropout: 1.5}", "lstm.dropout", "[0, 1)"),
        ("lstm: {bidirectional: 'yes'}", "lstm.bidirectional", "true or false"),
        ("training: {device: tpu}", "training.device", "auto, cpu, cuda, mps"),
        ("training: {learning_rate: -1}", "training.learning_rate", "(0, 1]"),
        ("data: {lookback: 1}", "data.lookback", "from 2 to"),
        ("data: {missing: drop}", "data.missing", "interpolate"),
        ("data: {window_norm: log}", "data.window_norm", "none, series, level"),
        ("lstm: {hidden_size: 7}", "lstm.num_heads", "divide"),
        ("data: {targets: [a], covariates: [a]}", "data.covariates", "also listed"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(text, key, words):
    with pytest.raises(ConfigError) as e:
        Config.from_yaml(text)
    assert e.value.key == key
    assert key in str(e.value) and words in str(e.value)


def test_broken_yaml_says_where():
    with pytest.raises(ConfigError, match="invalid YAML at line 3.*line 2"):
        Config.from_yaml("lstm:\n  hidden_size: [1\n")


def test_unsafe_yaml_tags_are_refused():
    with pytest.raises(ConfigError, match="invalid YAML"):
        Config.from_yaml("!!python/object/apply:os.system ['echo hi']")


def test_automatic_hidden_size_has_a_floor_and_divides_by_heads():
    auto = LSTMConfig()
    assert resolve_hidden_size(auto, 1) == MIN_HIDDEN
    h = resolve_hidden_size(auto, 64)  # 1.5 x 64 = 96, as the spec's table suggests
    assert h == 96 and (2 * h) % 4 == 0
    odd = LSTMConfig(num_heads=3, bidirectional=False)
    h = resolve_hidden_size(odd, 30)  # 45 is divisible by 3
    assert h == 45
    assert resolve_hidden_size(LSTMConfig(hidden_size=10), 99) == 10


# ---------------------------------------------------------------- hostile configs (issue 10)


def test_aliases_are_refused_before_anything_expands():
    with pytest.raises(ConfigError, match="aliases"):
        Config.from_yaml("x: &a 12\ndata: {lookback: *a}\n")
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
    ) + "data: {lookback: *i}\n"  # 9**9 strings if expanded
    with pytest.raises(ConfigError, match="aliases") as e:
        Config.from_yaml(bomb)
    assert len(str(e.value)) < 200


def test_messages_quote_a_bounded_part_of_the_value():
    with pytest.raises(ConfigError) as e:
        Config.from_yaml("data: {time_col: " + "t" * 50_000 + "}")
    assert "data.time_col" in str(e.value) and len(str(e.value)) < 200
    with pytest.raises(ConfigError) as e:
        Config.from_yaml("data: {lookback: [" + ", ".join(["[1, [2, [3]]]"] * 5000) + "]}")
    assert len(str(e.value)) < 200


@pytest.mark.parametrize(
    "text, words",
    [
        ("data: {lookback: 1}\ndata: {lookback: 2}\n", "duplicate key 'data'"),
        ("lstm: {num_layers: 1, num_layers: 2}", "duplicate key 'num_layers'"),
        ("1: {}\ndata: {}\n", "key 1 is not a name"),
        ("data: {1: 2, lookback: 12}", "key 1 is not a name"),
        ("data: " + "[" * 5000 + "]" * 5000, "nested more than 32 levels"),
        ("training: {seed: " + "9" * 5000 + "}", "number is too long"),
        ("training: {learning_rate: 1" + "0" * 400 + "}", "training.learning_rate"),
        ("training: {seed: 100000000000000000000000000}", "from 0 to 4294967295"),
        ("lstm: {hidden_size: 20000}", "from 1 to 1024"),
        ("lstm: {hidden_size: 1000000}", "from 1 to 1024"),
        ("lstm: {num_heads: 999983}", "from 1 to 64"),
        ("lstm: {num_heads: 1000000000}", "from 1 to 64"),
        ("data: {lookback: 1000000000}", "from 2 to 10000"),
        ("data: {horizon: 100000000}", "from 1 to 2000"),
        ("data: {frequency: 12345}", "a string"),
        ("data: {frequency: fortnightly}", "pandas frequency"),
        ("data: {covariates: [" + ", ".join(f"c{i}" for i in range(1001)) + "]}", "at most 1000"),
        ("x" * (200 * 1024), "at most"),
    ],
)
def test_hostile_configs_are_refused_with_a_message(text, words):
    with pytest.raises(ConfigError, match=re.escape(words)) as e:
        Config.from_yaml(text)
    assert len(str(e.value)) < 300


def test_sub_second_frequencies_are_still_valid_config():
    assert Config.from_yaml("data: {frequency: 15min}").data.frequency == "15min"
    assert Config.from_yaml("data: {frequency: ms}").data.frequency == "ms"  # prepare bounds it


def test_automatic_hidden_size_never_loops_and_stays_in_range():
    for heads in (1, 3, 7, 64):
        for width in (1, 100, 10_000):
            for bi in (True, False):
                h = resolve_hidden_size(LSTMConfig(num_heads=heads, bidirectional=bi), width)
                assert 1 <= h <= MAX_HIDDEN and (h * (2 if bi else 1)) % heads == 0
    with pytest.raises(ConfigError, match="num_heads"):  # unvalidated dataclass: no loop either
        resolve_hidden_size(LSTMConfig(num_heads=999_983), 3)


@pytest.mark.parametrize("content, words", [
    (b"data: {time_col: \"\xff\xfe\"}\n", "not UTF-8 text (byte 0xff"),
    (b"\xef\xbb\xbfdata: {lookback: 12}\n", None),  # a UTF-8 byte order mark is fine
])
def test_config_files_are_utf8(tmp_path, content, words):
    p = tmp_path / "c.yaml"
    p.write_bytes(content)
    if words is None:
        assert load_config(str(p)).data.lookback == 12
    else:
        with pytest.raises(ConfigError, match=re.escape(words)):
            load_config(str(p))


def test_config_files_that_are_devices_or_folders_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="folder"):
        load_config(str(tmp_path))
    if Path("/dev/zero").exists():
        with pytest.raises(ConfigError, match="device or pipe"):
            load_config("/dev/zero")


def test_sections_round_trip(tiny_cfg):
    texts = config_sections(tiny_cfg)
    assert list(texts) == ["data", "lstm", "training"]
    assert config_from_sections(texts) == tiny_cfg


def test_bad_yaml_names_its_section_and_line(tiny_cfg):
    texts = config_sections(tiny_cfg) | {"lstm": "hidden_size: 4\nnum_layers: [1"}
    with pytest.raises(ConfigError, match=r"lstm: invalid YAML at line \d+") as e:
        config_from_sections(texts)
    assert e.value.key == "lstm"


@pytest.mark.parametrize(
    "section, text, key",
    [
        ("lstm", "num_heads: 3\nhidden_size: 4", "lstm.num_heads"),
        ("training", "epochs: -1", "training.epochs"),
        ("data", "lookbak: 3", "data.lookbak"),
    ],
)
def test_bad_values_name_the_key(tiny_cfg, section, text, key):
    texts = config_sections(tiny_cfg) | {section: text}
    with pytest.raises(ConfigError) as e:
        config_from_sections(texts)
    assert e.value.key == key and key_section(e.value.key) == section
