"""Figures of what a forecast looked at: attention (one window, the whole series), Integrated
Gradients and the deletion test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_core.plots.style import (
    ATTENTION_HOVER,
    COLOURS,
    heatmap,
    median_and_band,
    new_figure,
    time_title,
)

EVEN_CAP = 3.0  # attention colours saturate at 3x the even share 1/L
EVEN_SCALE = [[0, "#f7fbff"], [1 / EVEN_CAP, "#c6dbef"], [1, "#08306b"]]  # 1x: pale
EVEN_HOVER = "%{customdata:.2f} x the even share 1/L"


def attention_figure(
    window: pd.Series,
    attention: np.ndarray,
    forecast: pd.DataFrame | None = None,
    title: str = "Attention of this forecast",
) -> go.Figure:
    """The lookback window of one target with the attention weights drawn on it.

    Colour and marker size are on an absolute scale against the even share 1/L (pale at 1x,
    darkest from ``EVEN_CAP`` x), so a flat attention looks flat; the bars carry a line at 1/L.

    Args:
        window: the target's values over the lookback window, indexed by time (L,).
        attention: (heads, L) weights; each head's row sums to 1.
        forecast: the forecast from this origin (time, q0.1, q0.5, q0.9), drawn after the window.
        title: names the model the attention comes from.
    """
    if forecast is not None and "target" in forecast:
        forecast = forecast[forecast["target"] == window.name]
    attention = np.atleast_2d(attention)
    mean = attention.mean(axis=0)
    L = len(mean)
    even = mean * L  # multiple of the even share
    fig = new_figure(
        title,
        560,
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.55, 0.45],
        subplot_titles=[
            f"series (marker colour and size: attention as a multiple of the even share 1/{L})",
            "attention weight per step (bars: mean of heads; lines: each head; dashed: 1/L)",
        ],
    )
    fig.add_trace(_marked_window(window, even), row=1, col=1)
    if forecast is not None and len(forecast):
        median_and_band(fig, forecast, "forecast", row=1)
    _attention_bars(fig, np.asarray(window.index), attention)
    fig.update_yaxes(title_text=str(window.name or "value"), row=1, col=1)
    fig.update_yaxes(title_text="attention weight", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text=time_title(window.index), row=2, col=1)
    return fig


def _marked_window(window: pd.Series, even: np.ndarray) -> go.Scatter:
    """The window's values, each marker coloured and sized by its attention as a multiple of
    the even share (``even``, (L,))."""
    return go.Scatter(
        x=np.asarray(window.index),
        y=window.to_numpy(),
        mode="lines+markers",
        name=str(window.name or "target"),
        line={"color": "#bbbbbb"},
        marker={
            "size": 6 + 6 * np.minimum(even, EVEN_CAP),
            "color": even,
            "colorscale": EVEN_SCALE,
            "cmin": 0,
            "cmax": EVEN_CAP,
            "showscale": True,
            "colorbar": {"title": "x even", "thickness": 12, "len": 0.5, "y": 0.78,
                         "tickvals": [0, 1, 2, 3], "ticktext": ["0", "1 (even)", "2", "3+"]},
            "line": {"color": COLOURS["history"], "width": 0.5},
        },
        customdata=even,
        hovertemplate="%{x}<br>value %{y:.4g}<br>mean attention " + EVEN_HOVER
        + "<extra></extra>",
    )


def _attention_bars(fig: go.Figure, t: np.ndarray, attention: np.ndarray) -> None:
    """Row 2: the mean attention of the heads as bars, each head as a line (when there are
    several), and a dashed line at the even share 1/L; ``attention`` is (heads, L)."""
    mean = attention.mean(axis=0)
    L = len(mean)
    fig.add_trace(
        go.Bar(
            x=t,
            y=mean,
            name="mean of heads",
            marker_color=COLOURS["history"],
            opacity=0.55,
            hovertemplate="%{x}<br>mean " + ATTENTION_HOVER + "<extra></extra>",
        ),
        row=2,
        col=1,
    )
    for h, row in enumerate(attention if len(attention) > 1 else []):
        fig.add_trace(
            go.Scatter(
                x=t,
                y=row,
                mode="lines",
                name=f"head {h + 1}",
                line={"color": COLOURS["heads"][h % len(COLOURS["heads"])], "width": 1.2},
                hovertemplate=f"%{{x}}<br>head {h + 1} " + ATTENTION_HOVER + "<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.add_hline(y=1 / L, line={"color": "#555555", "dash": "dash", "width": 1}, row=2, col=1)


def attribution_figure(
    times: pd.Index,
    values: np.ndarray,
    columns: Sequence[str],
    title: str = "Integrated Gradients of this forecast (step x column)",
) -> go.Figure:
    """Attributions (L, F) as columns (rows) x steps, on a scale symmetric about 0: blue cells
    raise the forecast against the window's mean, red cells lower it."""
    z = np.asarray(values, dtype=np.float64).T  # (F, L)
    span = float(np.abs(z).max()) or 1e-9
    fig = heatmap(
        title,
        z,
        np.asarray(times),
        time_title(times),
        "input column",
        colorscale="RdBu",
        zmin=-span,
        zmax=span,
        colorbar={"title": "effect", "thickness": 12},
        customdata=np.repeat(np.asarray(columns, dtype=object)[:, None], z.shape[1], axis=1),
        hovertemplate="%{x}<br>%{customdata}<br>%{z:+.3g}: moves the forecast (summed over the "
        "horizon, scaled units) against the window's mean<extra></extra>",
    )
    fig.update_yaxes(tickvals=np.arange(1, len(columns) + 1), ticktext=list(columns))
    return fig


def faithfulness_figure(
    ratios: dict[str, float],
    reliable: dict[str, bool],
    title: str = "Deletion test: each view's top steps against random steps",
) -> go.Figure:
    """Each view's forecast move when its top steps are deleted, as a multiple of random's; a
    dashed line at 1 (random). Views above random are solid, the others grey."""
    names = list(ratios)
    fig = new_figure(title, 300)
    fig.add_trace(
        go.Bar(
            x=[ratios[n] for n in names],
            y=names,
            orientation="h",
            marker_color=[COLOURS["history"] if reliable[n] else "#bbbbbb" for n in names],
            name="x random",
            hovertemplate="%{y}: %{x:.2f} x the move of random steps<extra></extra>",
        )
    )
    fig.add_vline(x=1, line={"color": "#555555", "dash": "dash", "width": 1})
    fig.update_xaxes(title_text="forecast move when deleted (multiple of random steps)",
                     rangemode="tozero")
    fig.update_yaxes(title_text="view", autorange="reversed")
    return fig


def attention_heatmap(
    index: pd.Index,
    attention_map: np.ndarray,
    starts: np.ndarray,
    title: str = "Attention over the whole series (window x lag)",
) -> go.Figure:
    """Attention of every window as lags (rows; 1 = the window's last step) x windows (columns,
    at the time of each window's last step).

    Args:
        index: (T,) the series' time index.
        attention_map: (R, L) attention per window (or block of windows), oldest step first,
            as in ``interpret.Trace.attention_map``.
        starts: (R,) first row of each window (``Trace.map_starts``).
    """
    z = np.asarray(attention_map, dtype=np.float64)[:, ::-1].T  # (L, R): row 0 = lag 1
    ends = np.minimum(np.asarray(starts) + z.shape[0] - 1, len(index) - 1)
    L = z.shape[0]
    return heatmap(
        title,
        z,
        np.asarray(index)[ends],
        f"end of the lookback window ({time_title(index)})",
        "lag (1 = the last step)",
        colorscale=EVEN_SCALE,
        zmin=0,
        zmax=EVEN_CAP / L,
        colorbar={"title": "x even", "thickness": 12, "tickvals": [0, 1 / L, 2 / L, EVEN_CAP / L],
                  "ticktext": ["0", "1 (even)", "2", "3+"]},
        hovertemplate="window ending %{x}<br>lag %{y} (steps back from its end)<br>attention "
        "weight %{z:.3f}: share of the forecast's focus on this step (even share: "
        f"{1 / L:.3f})<extra></extra>",
    )
