"""Figures of change points: the series with its change score and numbered points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_core.plots.style import COLOURS, downsampled_line, new_figure, time_title, vlines


def change_figure(
    series: pd.Series,
    score: pd.Series | None,
    detected: Sequence = (),
    classical: Sequence = (),
    known: Sequence = (),
    title: str = "Change score and change points",
    labels: Sequence[str] = (),
) -> go.Figure:
    """The series with change points as vertical lines, and the change score below it.

    Args:
        series: one column indexed by time.
        score: change score indexed by time (None: only the series).
        detected, classical, known: timestamps of the detector's, the classical detector's
            and the known change points.
        labels: one text per detected point (what changed, in which columns); the points
            are numbered 1, 2, ... at the top of the series, with their text on hover (long
            labels written on the chart would overlap).
    """
    rows = 2 if score is not None else 1
    fig = new_figure(
        title,
        520 if rows == 2 else 340,
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[str(series.name or "series"), "change score (higher: more change)"][:rows],
    )
    fig.add_trace(
        downsampled_line(
            series.index, series.to_numpy(), str(series.name or "series"), COLOURS["history"]
        ),
        row=1,
        col=1,
    )
    if score is not None:
        fig.add_trace(
            downsampled_line(
                score.index,
                score.to_numpy(),
                "change score",
                COLOURS["backtest"],
                unit="(how different the analysed columns are before and after this step)",
            ),
            row=2,
            col=1,
        )
    vlines(fig, list(detected), COLOURS["change"], "solid", "change point", rows)
    if len(detected):
        _numbers(fig, series, list(detected), list(labels))
    vlines(
        fig,
        list(classical),
        COLOURS["classical"],
        "dash",
        "change point (classical, raw series)",
        rows,
    )
    vlines(fig, list(known), COLOURS["known"], "dot", "known change point", rows)
    fig.update_xaxes(title_text=time_title(series.index), row=rows, col=1)
    return fig


def _numbers(fig: go.Figure, series: pd.Series, times: list, labels: list[str]) -> None:
    """Numbers 1..k in boxes at the top of the series' panel at ``times``, what changed on
    hover. A number close to the previous one (under 4% of the span) steps down a row, in
    pixels, so none hides another; the y range leaves room above the data for them."""
    at, ends = _seconds(pd.Index(times)), _seconds(series.index[[0, -1]])  # any time unit
    span = max(float(ends[1] - ends[0]), 1e-9)
    levels = [0]
    for gap in np.diff(at):
        levels.append((levels[-1] + 1) % 3 if gap < 0.04 * span else 0)
    for i, (t, level) in enumerate(zip(times, levels)):
        text = labels[i] if i < len(labels) else "change point"
        fig.add_annotation(
            x=t,
            y=1,
            yref="y domain",
            yanchor="top",
            yshift=-2 - 22 * level,
            text=str(i + 1),
            showarrow=False,
            font={"size": 11, "color": COLOURS["change"]},
            bgcolor="white",
            bordercolor=COLOURS["change"],
            borderwidth=1,
            borderpad=2,
            hovertext=f"change point {i + 1}: {text}",
        )
    lo, hi = float(series.min()), float(series.max())
    pad = (hi - lo) or 1.0
    fig.update_yaxes(range=[lo - 0.05 * pad, hi + 0.45 * pad], row=1, col=1)


def _seconds(x: pd.Index) -> np.ndarray:
    """Times as seconds since the epoch (row numbers as they are), whatever their unit."""
    if isinstance(x, pd.DatetimeIndex):
        epoch = pd.Timestamp(0, tz=x.tz)
        return np.asarray((x - epoch) / pd.Timedelta(seconds=1), np.float64)
    return np.asarray(x, np.float64)


def detection_window(n_rows: int, first_point: int | None, history_points: int | None) -> int:
    """The first row a change point chart shows: the last ``history_points`` rows, reaching
    further back (with a little context) when a change point lies before them."""
    start = max(0, n_rows - history_points) if history_points else 0
    if first_point is not None and first_point < start:
        start = max(0, first_point - max(5, (n_rows - first_point) // 20))
    return start


def detection_figure(
    series: pd.Series, detection, known: Sequence[int] = (), history_points: int | None = None
) -> go.Figure:
    """``change_figure`` for a ``changepoints.Detection``: its change score, its change points
    numbered (what changed and where on hover), the classical detector's, and ``known`` rows;
    the last ``history_points`` rows when given, but never fewer than reach every change point
    (``detection_window``)."""
    index = series.index
    first = min((c.index for c in detection.change_points), default=None)
    start = detection_window(len(index), first, history_points)
    title = f"Change points ({detection.features} features) and the change score"
    if history_points and start < len(index) - history_points:
        title += f" (the last {len(index) - start:,} rows, to show every change point)"
    points = [c for c in detection.change_points if c.index >= start]
    return change_figure(
        series.iloc[start:],
        detection.score.iloc[start:],
        detected=[c.time for c in points],
        classical=[c.time for c in detection.classical if c.index >= start],
        known=[index[i] for i in known if start <= i < len(index)],
        title=title,
        labels=[f"{c.kind}: {', '.join(c.columns)}" for c in points],
    )
