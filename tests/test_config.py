"""Config: defaults, YAML round-trip, strict validation, automatic hidden size."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstm_core.config import MIN_HIDDEN, Config, LSTMConfig, resolve_hidden_size
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
        ("data: {lookback: 1}", "data.lookback", ">= 2"),
        ("data: {missing: drop}", "data.missing", "interpolate"),
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
