"""Forecast: history plus the forecast with its 80% interval, the backtest against baselines,
the rolling-origin view and the error by horizon step, and the report to hand over."""

import streamlit as st

from lstm_core import baselines, plots
from lstm_core.errors import LstmCoreError
from lstm_core.report_text import backtest_caption
from lstm_core.text import forecast_csv, format_metrics, frequency_words
from ui import background, guards, loaders, panel_view, panels, reports, router, state

router.hand_over()
st.title("Forecast")
reports.first_visit_note()
df = guards.require(
    state.frame(), "No data yet: pick a demo or upload a table.", "data", "Go to Data"
)
guards.require(
    state.forecaster(), "No model yet: train one, or load a checkpoint.", "training", "Go to Train"
)
fc, df = panels.view("forecast")  # a panel: the series picked here
shown = f" · series {state.series()}" if state.panel() is not None else ""
st.caption(
    f"Model: {state.get(state.MODEL_NAME)} · data: {state.get(state.DATA_NAME)}{shown} · "
    f"horizon {fc.config_.data.horizon} steps, lookback {fc.config_.data.lookback}, "
    f"{frequency_words(fc.freq_)}"
)
try:
    with st.spinner("Forecasting and backtesting (once per data and model)..."):
        prep = loaders.memo("forecast:prepare", lambda: fc.prepare(df))
        forecast = loaders.memo("forecast:predict", lambda: fc.predict(prep))
        held = loaders.memo("forecast:held_out", lambda: fc.held_out(prep))
        backtest = fc.score(held)
except LstmCoreError as e:
    guards.model_cannot(fc, e, "forecast")

target = guards.pick_target(fc, "forecast_target")
figure = plots.forecast_figure(prep.frame[target], forecast, history_points=state.history_points())
st.plotly_chart(figure, key="forecast_chart")
csv, report = st.columns(2)
csv.download_button(
    "Download the forecast (CSV)",
    forecast_csv(forecast, fc.freq_),
    "forecast.csv",
    "text/csv",
    key="forecast_download",
    type="primary",
)
with report:
    reports.download_button("forecast", fc, df)

st.subheader(
    "Backtest on the held-out end"
    + (f" of series {state.series()}" if state.panel() is not None else "")
)
(st.success if backtest.beats_baselines else st.warning)(backtest.verdict)
st.dataframe(format_metrics(backtest.table))
st.caption(backtest_caption(backtest, fc.config_.data.horizon))
st.plotly_chart(plots.backtest_figure(backtest.forecasts, target), key="forecast_backtest")
windows = baselines.tiled_origins(len(held.origins), fc.config_.data.horizon, most=8)
st.plotly_chart(plots.rolling_origin_figure(held, target, windows), key="forecast_rolling")
st.caption(
    f"The last {len(windows)} of the {len(held.origins):,} forecasts scored above, one horizon "
    "apart: each red line was forecast from the data up to its start only."
)
steps = baselines.error_by_step(held.actual, held.medians())
st.plotly_chart(plots.error_by_step_figure(steps), key="forecast_steps")


def every_series(bt) -> None:
    (st.success if bt.beats_baselines else st.warning)(bt.verdict)
    st.dataframe(format_metrics(bt.summary))
    st.caption(
        "Averaged over series: MASE divides each series' error by its own one-step naive "
        "error in its training rows, so series of any scale count alike (below 1: better than "
        "that naive forecast). 'model wins': series where the model's MASE is the lower."
    )
    st.dataframe(format_metrics(panel_view.series_table(bt)))
    if bt.skipped:
        st.caption(f"Not scored: {', '.join(list(bt.skipped)[:10])} (too short or unusable).")


if state.panel() is not None:
    st.subheader("Backtest of every series")
    background.follow(
        "panel_backtest",
        panels.backtest_task(),
        "Backtesting every series",
        every_series,
        again=lambda: panels.backtest_task(restart=True),
    )
