"""Figures of the series, training and forecasts: the series, the loss, the forecast, backtests and
the error by horizon step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_core.plots.style import (
    COLOURS,
    LOSS_NAMES,
    LOSS_TITLE,
    MAX_PANELS,
    downsampled_line,
    median_and_band,
    new_figure,
    time_title,
    vlines,
)

if TYPE_CHECKING:
    from lstm_core.forecaster import HeldOut


def series_figure(
    frame: pd.DataFrame,
    targets: Sequence[str] = (),
    change_points: Sequence = (),
    title: str = "The series",
) -> go.Figure:
    """One panel per column of ``frame`` (shared time axis, range slider); targets are marked.

    ``change_points`` are timestamps (or rows) drawn as vertical lines, e.g. a demo's known ones.
    At most MAX_PANELS columns are drawn (targets first); the title says how many are left out.
    """
    cols = list(frame.columns)[:MAX_PANELS]
    if len(frame.columns) > MAX_PANELS:
        title += f" (first {MAX_PANELS} of {len(frame.columns)} columns)"
    n = max(len(cols), 1)
    fig = new_figure(
        title,
        140 + 150 * n,
        rows=n,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        subplot_titles=[f"{c} ({'target' if c in targets else 'input'})" for c in cols],
    )
    for i, c in enumerate(cols):
        colour = COLOURS["series"][i % len(COLOURS["series"])]
        trace = downsampled_line(frame.index, frame[c].to_numpy(), c, colour)
        fig.add_trace(trace, row=i + 1, col=1)
    if len(change_points):
        vlines(fig, list(change_points), COLOURS["known"], "dot", "known change point", rows=n)
    fig.update_xaxes(rangeslider={"visible": True, "thickness": 0.06}, row=n, col=1)
    fig.update_xaxes(title_text=time_title(frame.index), row=n, col=1)
    fig.update_layout(hovermode="x unified", showlegend=len(change_points) > 0)
    return fig


def loss_figure(
    train_loss: Sequence[float],
    val_loss: Sequence[float],
    best_epoch: int = 0,
    total_epochs: int = 0,
    title: str = LOSS_TITLE,
    batch_loss: Sequence[tuple[float, float]] = (),
) -> go.Figure:
    """Training and validation loss by epoch, with the best (kept) epoch marked; the x axis
    spans ``total_epochs`` (the configured number) so a live chart does not rescale every epoch.
    ``batch_loss`` (fractional epoch, running training loss) draws a live run's first batches."""
    fig = new_figure(title, 340)
    if len(batch_loss):
        at, loss = zip(*batch_loss)
        fig.add_trace(
            go.Scatter(
                x=list(at),
                y=list(loss),
                name="train (per batch)",
                mode="lines",
                line={"color": COLOURS["history"], "width": 1, "dash": "dot"},
                hovertemplate="epoch %{x:.2f}<br>running train loss %{y:.4f}<extra></extra>",
            )
        )
    epochs = np.arange(1, len(train_loss) + 1)
    hover = "epoch %{x}<br>%{fullData.name} loss %{y:.4f}<extra></extra>"
    for name, losses, colour in (
        (LOSS_NAMES["train"], train_loss, "history"),
        (LOSS_NAMES["validation"], val_loss, "backtest"),
    ):
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=list(losses),
                name=name,
                mode="lines+markers",
                line={"color": COLOURS[colour]},
                hovertemplate=hover,
            )
        )
    if best_epoch:
        fig.add_trace(
            go.Scatter(
                x=[best_epoch],
                y=[val_loss[best_epoch - 1]],
                name=f"best epoch {best_epoch} (kept)",
                mode="markers",
                marker={"symbol": "star", "size": 14, "color": COLOURS["forecast"]},
                hovertemplate="best epoch %{x}: validation loss %{y:.4f}; these weights are kept"
                "<extra></extra>",
            )
        )
    n = max(len(train_loss), total_epochs)
    fig.update_xaxes(
        title_text="epoch",
        range=[0.5, max(n, 1) + 0.5],
        tick0=1,
        dtick=max(1, int(np.ceil(n / 10))),
    )
    fig.update_yaxes(title_text="loss")
    return fig


def forecast_figure(
    history: pd.Series,
    forecast: pd.DataFrame,
    history_points: int | None = None,
    title: str | None = None,
) -> go.Figure:
    """History of one target and its forecast: the median and the 80% interval.

    Args:
        history: the target's values indexed by time; its name picks the target's forecast rows.
        forecast: ``Forecaster.predict`` (time, target, q0.1, q0.5, q0.9).
        history_points: show only the last this many observations (None: all).
    """
    name = str(history.name or "target")
    if "target" in forecast:
        forecast = forecast[forecast["target"] == history.name]
    fig = new_figure(title or f"{name}: history and forecast with 80% interval", 460)
    shown = history if not history_points else history.iloc[-history_points:]
    fig.add_trace(
        downsampled_line(shown.index, shown.to_numpy(), f"{name} (observed)", COLOURS["history"])
    )
    median_and_band(fig, forecast, "forecast")
    fig.update_xaxes(
        title_text=time_title(history.index), rangeslider={"visible": True, "thickness": 0.06}
    )
    fig.update_yaxes(title_text=name)
    fig.update_layout(hovermode="x unified")
    return fig


def backtest_figure(
    backtest: pd.DataFrame,
    target: str,
    title: str = "Last held-out window: forecast vs what happened",
) -> go.Figure:
    """The model's forecast of the last held-out window (median, 80% interval) against the actual
    values; ``backtest`` is ``Backtest.forecasts`` (time, target, actual, q0.1, q0.5, q0.9)."""
    rows = backtest[backtest["target"] == target]
    fig = new_figure(title, 380)
    median_and_band(fig, rows, "forecast")
    fig.add_trace(
        go.Scatter(
            x=rows["time"].to_numpy(),
            y=rows["actual"],
            mode="lines+markers",
            name="actual",
            line={"color": COLOURS["actual"], "width": 1.5},
            marker={"size": 4},
            hovertemplate="%{x}<br>actual value %{y:.4g}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="time")
    fig.update_yaxes(title_text=target)
    fig.update_layout(hovermode="x unified")
    return fig


def rolling_origin_figure(
    held: HeldOut,
    target: str,
    windows: Sequence[int],
    title: str = "Rolling-origin backtest: forecasts from successive origins vs what happened",
) -> go.Figure:
    """The held-out end of one target with the model's forecasts (median and 80% interval) from
    the origins ``windows`` (positions in ``held.origins``, e.g. ``baselines.tiled_origins``)."""
    k = held.targets.index(target)
    H = held.actual.shape[1]
    fig = new_figure(title, 420)
    for n, w in enumerate(windows):
        o = int(held.origins[w])
        t = np.asarray(held.index[o : o + H])
        q = held.model[w, :, k]  # (H, 3)
        fig.add_trace(
            go.Scatter(x=t, y=q[:, 2], mode="lines", line={"width": 0}, showlegend=False,
                       hoverinfo="skip", legendgroup="band")
        )
        fig.add_trace(
            go.Scatter(
                x=t, y=q[:, 0], mode="lines", line={"width": 0}, fill="tonexty",
                fillcolor=COLOURS["band"], name="80% interval", legendgroup="band",
                showlegend=n == 0, hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=t, y=q[:, 1], mode="lines", name="forecast (median)", legendgroup="median",
                showlegend=n == 0, line={"color": COLOURS["forecast"], "width": 2},
                hovertemplate=f"%{{x}}<br>forecast made at {held.index[o - 1]}: %{{y:.4g}}"
                "<extra></extra>",
            )
        )
    # what happened, row by row: each window's first step, then the last window's other steps
    path = np.concatenate([held.actual[:, 0, k], held.actual[-1, 1:, k]])
    start, first = int(held.origins[0]), int(held.origins[windows[0]])
    last = int(held.origins[windows[-1]]) + H
    fig.add_trace(
        downsampled_line(held.index[first:last], path[first - start : last - start], "actual",
              COLOURS["actual"])
    )
    fig.update_xaxes(title_text=time_title(held.index))
    fig.update_yaxes(title_text=target)
    fig.update_layout(hovermode="x unified")
    return fig


def error_by_step_figure(
    table: pd.DataFrame,
    title: str = "Error by horizon step: how the error grows the further ahead the forecast",
) -> go.Figure:
    """Mean absolute error per horizon step (rows of ``baselines.error_by_step``), one line per
    method; the first column (the model) in the forecast colour."""
    fig = new_figure(title, 380)
    others = iter(COLOURS["series"][1:] + (COLOURS["classical"],))
    for i, name in enumerate(table.columns):
        fig.add_trace(
            go.Scatter(
                x=table.index.to_numpy(),
                y=table[name].to_numpy(),
                name=str(name),
                mode="lines+markers",
                line={"color": COLOURS["forecast"] if i == 0 else next(others),
                      "width": 2.5 if i == 0 else 1.5},
                marker={"size": 5},
                hovertemplate=f"step %{{x}}<br>{name}: MAE %{{y:.4g}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="steps ahead")
    fig.update_yaxes(title_text="mean absolute error", rangemode="tozero")
    return fig
