"""Summaries: YAML sections round-trip, errors name their key, the model size matches the model."""

from __future__ import annotations

import pandas as pd
import pytest

from lstm_core import summary
from lstm_core.checkpoint import list_checkpoints, save
from lstm_core.config import Config
from lstm_core.errors import ConfigError, DataError
from lstm_core.train import History


def test_sections_round_trip(tiny_cfg):
    texts = summary.config_sections(tiny_cfg)
    assert list(texts) == ["data", "lstm", "training"]
    assert summary.config_from_sections(texts) == tiny_cfg


def test_bad_yaml_names_its_section_and_line(tiny_cfg):
    texts = summary.config_sections(tiny_cfg) | {"lstm": "hidden_size: 4\nnum_layers: [1"}
    with pytest.raises(ConfigError, match=r"lstm: invalid YAML at line \d+") as e:
        summary.config_from_sections(texts)
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
    texts = summary.config_sections(tiny_cfg) | {section: text}
    with pytest.raises(ConfigError) as e:
        summary.config_from_sections(texts)
    assert e.value.key == key and summary.key_section(e.value.key) == section


def test_summary_counts_the_parameters_fit_builds(fitted, tiny_cfg):
    s = summary.summarize(tiny_cfg, input_width=3)
    assert s.parameters == sum(p.numel() for p in fitted.model_.parameters())
    assert s.hidden_size == 4 and not s.automatic
    auto = summary.summarize(Config(), input_width=1)
    assert auto.automatic and auto.hidden_size == 32 and auto.attention_width % 4 == 0
    bigger = summary.summarize(Config().replace(training={"batch_size": 128}), input_width=1)
    assert bigger.batch_bytes > auto.batch_bytes > 16 * auto.parameters
    assert any("memory per training batch" in line for line in auto.lines())


def test_checkpoint_table_has_a_row_per_file(fitted, tmp_path):
    save(fitted, "a", tmp_path)
    (tmp_path / "broken.safetensors").write_bytes(b"not a checkpoint")
    table = summary.checkpoint_table(list_checkpoints(tmp_path))
    assert set(table["name"]) == {"a", "broken"}
    row = table.set_index("name").loc["a"]
    assert (
        row["targets"] == "y" and row["lookback / horizon"] == "16 / 4" and row["backtest MAE"] > 0
    )
    assert table.set_index("name").loc["broken", "problem"].startswith("unreadable")
    assert next(iter(summary.metrics_frame(fitted.metrics_).index)) == "AttentiveLSTM"


def test_column_choice_prefers_the_config_then_detection(series, tiny_cfg):
    choice = summary.column_choice(series, tiny_cfg)
    assert (
        choice.time_col == "time" and choice.targets == ("y",) and choice.covariates == ("x1", "x2")
    )
    other = pd.DataFrame(
        {
            "when": pd.date_range("2020", periods=5, freq="D").astype(str),
            "a": range(5),
            "b": [1.0, 2, 3, 4, 6],
        }
    )
    choice = summary.column_choice(other, tiny_cfg)
    assert choice.time_col == "when" and choice.numeric == ("a", "b")
    assert choice.targets == ("a",) and choice.covariates == ()


def test_training_summary_says_where_early_stopping_fired():
    h = History(
        (1.0, 0.9, 0.95),
        (1.0, 0.8, 0.85),
        2,
        "early_stopping",
        "early stopping at epoch 3",
        "CPU",
        1.0,
        100.0,
    )
    lines = summary.training_summary(h)
    assert (
        lines[0] == "early stopping at epoch 3" and "best epoch 2: validation loss 0.8000" in lines
    )


def test_format_metrics_says_na_where_a_method_has_no_interval(fitted, series):
    table = summary.format_metrics(fitted.backtest(series).table)
    assert table.loc["naive (last value)", "coverage80"] == "n/a"
    assert table.loc["AttentiveLSTM", "coverage80"] != "n/a"


def test_parse_rows():
    assert summary.parse_rows("300, 100 100\n200") == [100, 200, 300]
    assert summary.parse_rows("  ") == []
    with pytest.raises(DataError, match="'1.5' is not a row number"):
        summary.parse_rows("1.5")


def test_training_summary_when_the_linear_start_was_kept():
    from lstm_core.train import History

    h = History((1.0, 0.9), (0.7, 0.8), 0, "completed", "kept the start", "CPU", 1.0, 100.0, 0.6)
    assert "best epoch 0: validation loss 0.6000" in summary.training_summary(h)
