"""Figures of the skip gate: its units over time, and the share leaning on the LSTM's memory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lstm_core.plots.style import (
    COLOURS,
    GATE_HOVER,
    GATE_SCALE,
    downsampled_line,
    heatmap,
    new_figure,
    time_title,
    vlines,
)


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
    return heatmap(
        title,
        z,
        np.asarray(times),
        time_title(times),
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


def gate_share_figure(
    index: pd.Index,
    share: np.ndarray,
    detection=None,
    known: Sequence = (),
    title: str = "Share of the skip gate's units leaning on the LSTM's memory",
) -> go.Figure:
    """The one line to follow: per step, the share of gate units above 0.5 (``interpret.readings.
    gate_reading``), with a ``changepoints.Detection``'s change points (labelled with what
    changed) and the ``known`` timestamps that fall inside ``index``."""
    fig = new_figure(title, 340)
    fig.add_trace(
        downsampled_line(index, np.asarray(share), "units leaning on memory", COLOURS["history"],
              unit="share", fill="tozeroy")
    )
    points = [c for c in detection.change_points if c.time in index] if detection else []
    labels = [f"{c.kind}: {', '.join(c.columns)}" for c in points]
    vlines(fig, [c.time for c in points], COLOURS["change"], "solid", "change point", 1, labels)
    vlines(fig, [t for t in known if t in index], COLOURS["known"], "dot", "known change point")
    fig.update_yaxes(title_text="share of units", range=[0, 1], tickformat=".0%")
    fig.update_xaxes(title_text=time_title(index))
    return fig
