"""Forecast: history plus the forecast with its 80% interval, and the backtest against baselines."""

import streamlit as st

import ui
from lstm_core import plots, summary
from lstm_core.errors import LstmCoreError

st.title("Forecast")
df = ui.require(ui.frame(), "No data yet: pick a demo or upload a table.", "data", "Go to Data")
fc = ui.require(
    ui.forecaster(), "No model yet: train one, or load a checkpoint.", "training", "Go to Train"
)
st.caption(
    f"Model: {ui.get(ui.MODEL_NAME)} · data: {ui.get(ui.DATA_NAME)} · "
    f"horizon {fc.config_.data.horizon} steps, lookback {fc.config_.data.lookback}"
)
try:
    with st.spinner("Forecasting and backtesting (once per data and model)..."):
        prep = ui.memo("forecast:prepare", lambda: fc.prepare(df))
        forecast = ui.memo("forecast:predict", lambda: fc.predict(prep))
        backtest = ui.memo("forecast:backtest", lambda: fc.backtest(prep))
except LstmCoreError as e:
    ui.model_cannot(fc, e, "forecast")

target = ui.pick_target(fc, "forecast_target")
figure = plots.forecast_figure(prep.frame[target], forecast, history_points=ui.history_points())
st.plotly_chart(figure, key="forecast_chart")
st.download_button(
    "Download the forecast (CSV)",
    forecast.to_csv(index=False),
    "forecast.csv",
    "text/csv",
    key="forecast_download",
    type="primary",
)

st.subheader("Backtest on the held-out end")
(st.success if backtest.beats_naive else st.warning)(backtest.verdict)
st.dataframe(summary.format_metrics(backtest.table))
st.caption(
    f"{backtest.windows} forecast windows in the held-out end, every step and target. "
    "MASE below 1 beats the one-step naive forecast in-sample; coverage80 is the share "
    "of actual values inside the 80% interval (0.8 is calibrated); "
    f"seasonal period m={backtest.season}."
)
st.plotly_chart(plots.backtest_figure(backtest.forecasts, target), key="forecast_backtest")
