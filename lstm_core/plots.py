"""Every figure the app shows, built with plotly: one shared look, downsampled for display."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

if TYPE_CHECKING:
    from lstm_core.forecaster import HeldOut

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


def _figure(title: str, height: int, **subplots) -> go.Figure:
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


def _time_title(index: pd.Index) -> str:
    return str(index.name or "time") if isinstance(index, pd.DatetimeIndex) else "row"


def _line(
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


def _vlines(
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
    fig = _figure(
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
        fig.add_trace(_line(frame.index, frame[c].to_numpy(), c, colour), row=i + 1, col=1)
    if len(change_points):
        _vlines(fig, list(change_points), COLOURS["known"], "dot", "known change point", rows=n)
    fig.update_xaxes(rangeslider={"visible": True, "thickness": 0.06}, row=n, col=1)
    fig.update_xaxes(title_text=_time_title(frame.index), row=n, col=1)
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
    fig = _figure(title, 340)
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


def _band(fig: go.Figure, times, lo, hi, name: str, row: int | None = None) -> None:
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
    fig = _figure(title or f"{name}: history and forecast with 80% interval", 460)
    shown = history if not history_points else history.iloc[-history_points:]
    fig.add_trace(_line(shown.index, shown.to_numpy(), f"{name} (observed)", COLOURS["history"]))
    _median_and_band(fig, forecast, "forecast")
    fig.update_xaxes(
        title_text=_time_title(history.index), rangeslider={"visible": True, "thickness": 0.06}
    )
    fig.update_yaxes(title_text=name)
    fig.update_layout(hovermode="x unified")
    return fig


def _median_and_band(
    fig: go.Figure, rows: pd.DataFrame, label: str, row: int | None = None
) -> None:
    t = rows["time"].to_numpy()
    _band(fig, t, rows["q0.1"].to_numpy(), rows["q0.9"].to_numpy(), "80% interval", row=row)
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


def backtest_figure(
    backtest: pd.DataFrame,
    target: str,
    title: str = "Last held-out window: forecast vs what happened",
) -> go.Figure:
    """The model's forecast of the last held-out window (median, 80% interval) against the actual
    values; ``backtest`` is ``Backtest.forecasts`` (time, target, actual, q0.1, q0.5, q0.9)."""
    rows = backtest[backtest["target"] == target]
    fig = _figure(title, 380)
    _median_and_band(fig, rows, "forecast")
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
    fig = _figure(
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
    t = np.asarray(window.index)
    fig.add_trace(
        go.Scatter(
            x=t,
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
        ),
        row=1,
        col=1,
    )
    if forecast is not None and len(forecast):
        _median_and_band(fig, forecast, "forecast", row=1)
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
    fig.update_yaxes(title_text=str(window.name or "value"), row=1, col=1)
    fig.update_yaxes(title_text="attention weight", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text=_time_title(window.index), row=2, col=1)
    return fig


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
    fig = _heatmap(
        title,
        z,
        np.asarray(times),
        _time_title(times),
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
    fig = _figure(title, 300)
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


def _bucket_columns(z: np.ndarray, x: np.ndarray, max_cols: int) -> tuple[np.ndarray, np.ndarray]:
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


def gate_heatmap(
    times: pd.Index,
    gate: np.ndarray,
    title: str = "Skip-gate activations",
) -> go.Figure:
    """Skip-gate activations as units (rows) x time (columns); gate (T, W) in [0, 1], where 1 is
    the LSTM's output (its memory) and 0 the current input's projection. The colour scale is
    fixed to [0, 1], so a gate that hardly moves shows as even stripes.

    Units are sorted from the one leaning most on memory (top row) to the one leaning most on
    the input (bottom row); hovering gives each unit's own number.
    """
    g = np.asarray(gate, dtype=np.float64)
    order = np.argsort(g.mean(axis=0), kind="stable")  # row 1 (drawn at the bottom): least memory
    z = g[:, order].T  # (W, T)
    units = np.repeat((order + 1)[:, None], z.shape[1], axis=1)
    return _heatmap(
        title,
        z,
        np.asarray(times),
        _time_title(times),
        "gate unit (most memory on top)",
        colorscale=GATE_SCALE,
        customdata=units,
        hovertemplate="%{x}<br>unit %{customdata}<br>" + GATE_HOVER + "<extra></extra>",
        zmin=0,
        zmax=1,
        colorbar={
            "title": "gate",
            "thickness": 12,
            "tickvals": [0, 0.5, 1],
            "ticktext": ["0 input", "0.5", "1 memory"],
        },
    )


def _heatmap(
    title: str, z: np.ndarray, x: np.ndarray, x_title: str, y_title: str, **trace: object
) -> go.Figure:
    """Rows 1..R of z (R, C) against x (C,), columns bucketed to stay under MAX_CELLS."""
    max_cols = max(MAX_CELLS // max(z.shape[0], 1), 50)
    if "customdata" in trace:  # per-row labels: keep one column per bucketed column
        keep = _bucket_columns(np.zeros_like(z), x, max_cols)[1]
        trace["customdata"] = np.asarray(trace["customdata"])[:, : len(keep)]
    z, x = _bucket_columns(z, x, max_cols)
    fig = _figure(title, 380)
    fig.add_trace(go.Heatmap(x=x, y=np.arange(1, z.shape[0] + 1), z=z, **trace))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
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
    return _heatmap(
        title,
        z,
        np.asarray(index)[ends],
        f"end of the lookback window ({_time_title(index)})",
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
    fig = _figure(
        title,
        520 if rows == 2 else 340,
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[str(series.name or "series"), "change score (higher: more change)"][:rows],
    )
    fig.add_trace(
        _line(series.index, series.to_numpy(), str(series.name or "series"), COLOURS["history"]),
        row=1,
        col=1,
    )
    if score is not None:
        fig.add_trace(
            _line(
                score.index,
                score.to_numpy(),
                "change score",
                COLOURS["backtest"],
                unit="(how different the analysed columns are before and after this step)",
            ),
            row=2,
            col=1,
        )
    _vlines(fig, list(detected), COLOURS["change"], "solid", "change point", rows)
    if len(detected):
        _numbers(fig, series, list(detected), list(labels))
    _vlines(
        fig,
        list(classical),
        COLOURS["classical"],
        "dash",
        "change point (classical, raw series)",
        rows,
    )
    _vlines(fig, list(known), COLOURS["known"], "dot", "known change point", rows)
    fig.update_xaxes(title_text=_time_title(series.index), row=rows, col=1)
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


def gate_share_figure(
    index: pd.Index,
    share: np.ndarray,
    detection=None,
    known: Sequence = (),
    title: str = "Share of the skip gate's units leaning on the LSTM's memory",
) -> go.Figure:
    """The one line to follow: per step, the share of gate units above 0.5 (``summary.
    gate_reading``), with a ``changepoints.Detection``'s change points (labelled with what
    changed) and the ``known`` timestamps that fall inside ``index``."""
    fig = _figure(title, 340)
    fig.add_trace(
        _line(index, np.asarray(share), "units leaning on memory", COLOURS["history"],
              unit="share", fill="tozeroy")
    )
    points = [c for c in detection.change_points if c.time in index] if detection else []
    labels = [f"{c.kind}: {', '.join(c.columns)}" for c in points]
    _vlines(fig, [c.time for c in points], COLOURS["change"], "solid", "change point", 1, labels)
    _vlines(fig, [t for t in known if t in index], COLOURS["known"], "dot", "known change point")
    fig.update_yaxes(title_text="share of units", range=[0, 1], tickformat=".0%")
    fig.update_xaxes(title_text=_time_title(index))
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
    fig = _figure(title, 420)
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
        _line(held.index[first:last], path[first - start : last - start], "actual",
              COLOURS["actual"])
    )
    fig.update_xaxes(title_text=_time_title(held.index))
    fig.update_yaxes(title_text=target)
    fig.update_layout(hovermode="x unified")
    return fig


def error_by_step_figure(
    table: pd.DataFrame,
    title: str = "Error by horizon step: how the error grows the further ahead the forecast",
) -> go.Figure:
    """Mean absolute error per horizon step (rows of ``baselines.error_by_step``), one line per
    method; the first column (the model) in the forecast colour."""
    fig = _figure(title, 380)
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
