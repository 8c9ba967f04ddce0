"""Every figure the app shows, built with plotly: one shared look (style), downsampled for display.

Figures by family: forecast (series, loss, forecasts, backtests), attention (attention,
attributions, deletion test), gate (skip-gate activations), changes (change points). Callers
use ``plots.<figure>``; the names are re-exported here.
"""

from __future__ import annotations

from lstm_core.plots.attention import (
    EVEN_CAP,
    attention_figure,
    attention_heatmap,
    attribution_figure,
    faithfulness_figure,
)
from lstm_core.plots.changes import change_figure, detection_figure, detection_window
from lstm_core.plots.forecast import (
    backtest_figure,
    error_by_step_figure,
    forecast_figure,
    loss_figure,
    rolling_origin_figure,
    series_figure,
)
from lstm_core.plots.gate import gate_heatmap, gate_share_figure
from lstm_core.plots.style import (
    COLOURS,
    LAYOUT,
    LIVE_LOSS_TITLE,
    LOSS_TITLE,
    MAX_CELLS,
    MAX_POINTS,
    downsample,
)

__all__ = [
    "COLOURS",
    "EVEN_CAP",
    "LAYOUT",
    "LIVE_LOSS_TITLE",
    "LOSS_TITLE",
    "MAX_CELLS",
    "MAX_POINTS",
    "attention_figure",
    "attention_heatmap",
    "attribution_figure",
    "backtest_figure",
    "change_figure",
    "detection_figure",
    "detection_window",
    "downsample",
    "error_by_step_figure",
    "faithfulness_figure",
    "forecast_figure",
    "gate_heatmap",
    "gate_share_figure",
    "loss_figure",
    "rolling_origin_figure",
    "series_figure",
]
