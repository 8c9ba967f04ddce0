"""The look every figure shares: layout, colours, hover texts, and the pieces figures are built
from (lines downsampled for display, vertical markers, bands, bucketed heatmaps)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_POINTS = 10_000  # a trace longer than this is downsampled for display (the data is not)
MAX_CELLS = 400_000  # heatmap cells shown; longer heatmaps are averaged over time buckets
MAX_PANELS = 12  # columns drawn by series_figure

LAYOUT = {
    "template": "plotly_white",
    "font": {"size": 13},
    "margin": {"l": 10, "r": 10, "t": 95, "b": 10},
    "hovermode": "closest",
}
COLOURS = {
    "series": ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"),
    "history": "#1f77b4",
    "forecast": "#d62728",
    "band": "rgba(214,39,40,0.18)",
    "backtest": "#ff7f0e",
    "actual": "#111111",
    "change": "#d62728",
    "classical": "#7f7f7f",
    "known": "#2ca02c",
    "heads": (
        "#9ecae1",
        "#6baed6",
        "#4292c6",
        "#2171b5",
        "#08519c",
        "#08306b",
        "#c6dbef",
        "#deebf7",
    ),
}
ATTENTION_HOVER = "attention weight %{y:.3f}: share of the forecast's focus on this time step"
GATE_HOVER = (
    "skip gate %{z:.2f}: 1 = LSTM output used (its memory of earlier steps), "
    "0 = the input skip path used (the current input's projection)"
)
GATE_SCALE = "RdBu"  # red = 0 (the input's projection), blue = 1 (the LSTM's memory)
LOSS_TITLE = "Loss per epoch (pinball loss on scaled data; lower is better)"
LIVE_LOSS_TITLE = "This run so far: loss per epoch (lower is better)"
# what each curve measures (History: train is all quantiles, validation the median only)
LOSS_NAMES = {"train": "train (all quantiles)", "validation": "validation (median)"}


def new_figure(title: str, height: int, **subplots) -> go.Figure:
    """An empty figure (or subplots) with the shared look: title, then legend, then the plots."""
    fig = make_subplots(**subplots) if subplots else go.Figure()
    fig.update_layout(
        **LAYOUT,
        height=height,
        title={
            "text": title,
            "x": 0,
            "xanchor": "left",
            "yref": "container",
            "yanchor": "top",
            "y": 1 - 12 / height,
            "font": {"size": 16},
        },
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "yref": "container",
            "yanchor": "top",
            "y": 1 - 42 / height,
            "traceorder": "normal",
        },
    )
    return fig


def downsample(y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of a min/max decimation of ``y`` (T,): every bucket keeps its lowest and highest
    point, so spikes stay visible. Returns all indices when ``len(y) <= max_points``."""
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    size = int(np.ceil(n / (max_points // 2)))
    rows = int(np.ceil(n / size))
    v = np.asarray(y, dtype=np.float64)
    pad = np.full(rows * size, np.nan)
    pad[:n] = v
    grid = pad.reshape(rows, size)
    lo = np.where(np.isnan(grid), np.inf, grid).argmin(axis=1)
    hi = np.where(np.isnan(grid), -np.inf, grid).argmax(axis=1)
    base = np.arange(rows) * size
    idx = np.unique(np.concatenate([base + lo, base + hi, [0, n - 1]]))
    return idx[idx < n]


def time_title(index: pd.Index) -> str:
    return str(index.name or "time") if isinstance(index, pd.DatetimeIndex) else "row"


def downsampled_line(
    x: pd.Index, y: np.ndarray, name: str, colour: str, unit: str = "value", **kw
) -> go.Scatter:
    idx = downsample(np.asarray(y))
    return go.Scatter(
        x=np.asarray(x)[idx],
        y=np.asarray(y)[idx],
        name=name,
        mode="lines",
        line={"color": colour, "width": 1.4},
        hovertemplate=f"%{{x}}<br>{name} {unit} %{{y:.4g}}<extra></extra>",
        **kw,
    )


def vlines(
    fig: go.Figure,
    times: Sequence,
    colour: str,
    dash: str,
    label: str,
    rows: int = 1,
    texts: Sequence[str] = (),
) -> None:
    """Vertical lines at ``times`` on every row, one legend entry, and ``texts`` (one per line)
    written at the top of the first row."""
    for i, t in enumerate(times):
        for r in range(1, rows + 1):
            # annotation settings without a text would draw plotly's placeholder "new text"
            note = (
                {
                    "annotation_text": texts[i],
                    "annotation_position": "top right",
                    "annotation_font": {"size": 11, "color": colour},
                }
                if texts and r == 1
                else {}
            )
            fig.add_vline(
                x=t,
                line={"color": colour, "dash": dash, "width": 1.5},
                row=r if rows > 1 else None,
                col=1 if rows > 1 else None,
                **note,
            )
    if len(times):  # one legend entry per kind of marker
        fig.add_trace(
            go.Scatter(
                x=[times[0]],
                y=[None],
                mode="lines",
                name=label,
                line={"color": colour, "dash": dash},
            )
        )


def band(fig: go.Figure, times, lo, hi, name: str, row: int | None = None) -> None:
    kw = {"row": row, "col": 1} if row else {}
    fig.add_trace(
        go.Scatter(
            x=times, y=hi, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"
        ),
        **kw,
    )
    fig.add_trace(
        go.Scatter(
            x=times,
            y=lo,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=COLOURS["band"],
            name=name,
            customdata=np.stack([lo, hi], axis=-1),
            hovertemplate="%{x}<br>80% interval %{customdata[0]:.4g} to %{customdata[1]:.4g}"
            " (10th to 90th percentile)<extra></extra>",
        ),
        **kw,
    )


def median_and_band(
    fig: go.Figure, rows: pd.DataFrame, label: str, row: int | None = None
) -> None:
    t = rows["time"].to_numpy()
    band(fig, t, rows["q0.1"].to_numpy(), rows["q0.9"].to_numpy(), "80% interval", row=row)
    kw = {"row": row, "col": 1} if row else {}
    fig.add_trace(
        go.Scatter(
            x=t,
            y=rows["q0.5"],
            mode="lines+markers",
            name=f"{label} (median)",
            line={"color": COLOURS["forecast"], "width": 2},
            marker={"size": 4},
            hovertemplate=f"%{{x}}<br>median {label} %{{y:.4g}}<extra></extra>",
        ),
        **kw,
    )


def bucket_columns(z: np.ndarray, x: np.ndarray, max_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Average ``z`` (rows, T) over equal time buckets so at most ``max_cols`` columns remain."""
    T = z.shape[1]
    if T <= max_cols:
        return z, x
    size = int(np.ceil(T / max_cols))
    cols = int(np.ceil(T / size))
    pad = np.full((z.shape[0], cols * size), np.nan)
    pad[:, :T] = z
    with np.errstate(invalid="ignore"):
        z = np.nanmean(pad.reshape(z.shape[0], cols, size), axis=2)
    return z, x[::size][:cols]


def heatmap(
    title: str, z: np.ndarray, x: np.ndarray, x_title: str, y_title: str, **trace: object
) -> go.Figure:
    """Rows 1..R of z (R, C) against x (C,), columns bucketed to stay under MAX_CELLS."""
    max_cols = max(MAX_CELLS // max(z.shape[0], 1), 50)
    if "customdata" in trace:  # per-row labels: keep one column per bucketed column
        keep = bucket_columns(np.zeros_like(z), x, max_cols)[1]
        trace["customdata"] = np.asarray(trace["customdata"])[:, : len(keep)]
    z, x = bucket_columns(z, x, max_cols)
    fig = new_figure(title, 380)
    fig.add_trace(go.Heatmap(x=x, y=np.arange(1, z.shape[0] + 1), z=z, **trace))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig
