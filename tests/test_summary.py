"""Summaries: YAML sections round-trip, errors name their key, the model size matches the model."""

from __future__ import annotations

import numpy as np
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
        row["targets"] == "y" and row["lookback / horizon"] == "16 / 4"
        and float(row["backtest MAE"]) > 0
    )
    broken = table.set_index("name").loc["broken"]
    assert broken["problem"].startswith("unreadable") and broken["backtest MAE"] == "n/a"
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
    assert choice.targets == ("a",) and choice.covariates == ()  # no name tells: the first


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


# ---------------------------------------------------------------- issue 9: what a user reads


@pytest.mark.parametrize(
    "value, text",
    [
        (297712.3, "297,712"),
        (4.1835, "4.184"),
        (0.012345, "0.01235"),
        (0.0, "0"),
        (2.5e-5, "2.50e-05"),
        (None, "n/a"),
        (float("nan"), "n/a"),
        (float("inf"), "n/a"),
        (pd.NA, "n/a"),
    ],
)
def test_fmt_number_reads_like_a_person_writes(value, text):
    assert summary.fmt_number(value) == text


@pytest.mark.parametrize(
    "freq, words",
    [("h", "hourly"), ("MS", "monthly"), ("15min", "every 15 minutes"), ("D", "daily"),
     ("W-SUN", "weekly"), ("2h", "every 2 hours"), ("YS", "yearly"), (None, "none (row numbers)")],
)
def test_frequency_words(freq, words):
    assert summary.frequency_words(freq) == words


def test_times_drop_what_does_not_vary():
    months = pd.date_range("1949-01-01", periods=3, freq="MS")
    assert summary.fmt_times(months, "MS") == ["1949-01", "1949-02", "1949-03"]
    days = pd.date_range("2020-01-01", periods=2, freq="D")
    assert summary.fmt_times(days, "D") == ["2020-01-01", "2020-01-02"]
    hours = pd.date_range("2020-01-01", periods=2, freq="h")
    assert summary.fmt_times(hours, "h") == ["2020-01-01 00:00", "2020-01-01 01:00"]
    assert summary.fmt_times(pd.RangeIndex(3), None) == ["0", "1", "2"]


def test_data_report_lines_in_words(series, tiny_cfg):
    from lstm_core.data import prepare

    lines = summary.data_report_lines(prepare(series, tiny_cfg.data))
    assert lines[0] == "400 rows from 2024-01-01 00:00 to 2024-01-17 15:00"
    assert lines[1] == "frequency: hourly"


def test_the_likeliest_target_is_named_like_one_and_never_a_time_or_empty_column():
    ett = pd.DataFrame({c: [1.0, 2.0, 3.0] for c in ("HUFL", "HULL", "OT")})
    assert summary.likely_target(ett, None) == "OT"
    plain = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert summary.likely_target(plain, None) == "a"
    rows = pd.DataFrame({"time": [0, 1, 2], "value": [None, None, None]})
    assert summary.likely_target(rows, None) is None
    with pytest.raises(DataError, match=r"no column of numbers to forecast \(value is empty\)"):
        summary.default_columns(rows)
    # whole numbers under a time-like name are steps: the time column, not a value
    assert summary.default_columns(pd.DataFrame({"time": [0, 1, 2], "value": [1.0, 2, 3]})) == (
        "time",
        "value",
    )


def test_column_choice_proposes_the_likeliest_target():
    df = pd.DataFrame({"date": pd.date_range("2020", periods=4, freq="h"),
                       **{c: [1.0, 2, 3, 4] for c in ("HUFL", "OT")}})
    choice = summary.column_choice(df, Config())
    assert choice.targets == ("OT",) and choice.numeric == ("HUFL", "OT")


def test_checkpoint_stem_keeps_the_whole_name():
    assert summary.checkpoint_stem("etth2 OT/ 96→48") == "etth2_OT_96_48"
    assert summary.checkpoint_stem("a\\b.safetensors") == "a_b"


def test_device_label_has_no_thread_count():
    assert summary.device_label("CPU (2 threads)") == "CPU"
    assert summary.device_label("NVIDIA H200 (139 GiB)") == "NVIDIA H200 (139 GiB)"


def test_gate_reading_is_the_share_of_units_leaning_on_memory():
    gate = np.array([[0.9, 0.8, 0.2, 0.6], [0.1, 0.2, 0.3, 0.6], [0.9, 0.9, 0.9, 0.9]])
    r = summary.gate_reading(gate)
    np.testing.assert_allclose(r.memory_share, [0.75, 0.25, 1.0])
    assert (r.low, r.high) == (1, 2) and r.mean_share == pytest.approx(2 / 3)
    times = pd.date_range("2020-01-01", periods=3, freq="D")
    text = r.sentence(times, "D")
    assert "67% of the gate's units lean on the LSTM's memory" in text
    assert "25% (at 2020-01-02" in text and "100% (at 2020-01-03)" in text
    flat = summary.gate_reading(np.full((5, 4), 0.7))
    assert "the mix hardly changes" in flat.sentence()


def test_attention_reading_says_where_forecasts_look():
    attention = np.zeros((2, 20))
    attention[:, -2:] = 0.5  # all attention on the last two steps
    text = summary.attention_reading(attention)
    assert text.startswith("100% of the attention goes to the latest 2 of 20 steps (more than")
    assert "the most attended lag is 2 steps back" in text
    times = pd.date_range("2020-01-01", periods=20, freq="h")
    assert "the step it weighs most is 2020-01-01 18:00" in summary.attention_reading(
        attention[0], times, "h"
    )


def test_last_steps_keeps_the_windows_that_end_in_the_span(fitted, series):
    from lstm_core.interpret import trace

    tr = trace(fitted, series)
    short = summary.last_steps(tr, 100)
    assert len(short.index) == 100 and short.gate.shape == (100, tr.gate.shape[1])
    assert short.index[-1] == tr.index[-1]
    ends = short.map_starts + tr.lookback - 1  # relative to the span's first step
    assert ends.min() >= 0 and ends.max() <= 99 + tr.map_block
    assert summary.last_steps(tr, None) is tr


def test_backtest_caption_does_not_call_mase_above_one_a_loss(fitted, series):
    text = summary.backtest_caption(fitted.backtest(series), 4)
    assert "usually score above 1 even when they beat every baseline" in text
