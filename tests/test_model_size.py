"""Model size: the parameters counted without building the model match the model fit builds."""

from __future__ import annotations

from lstm_core.config import Config
from lstm_core.model_size import summarize
from ui.labels import model_lines


def test_summary_counts_the_parameters_fit_builds(fitted, tiny_cfg):
    s = summarize(tiny_cfg, input_width=3)
    assert s.parameters == sum(p.numel() for p in fitted.model_.parameters())
    assert s.hidden_size == 4 and not s.automatic
    auto = summarize(Config(), input_width=1)
    assert auto.automatic and auto.hidden_size == 32 and auto.attention_width % 4 == 0
    bigger = summarize(Config().replace(training={"batch_size": 128}), input_width=1)
    assert bigger.batch_bytes > auto.batch_bytes > 16 * auto.parameters
    assert any("memory per training batch" in line for line in model_lines(auto))
