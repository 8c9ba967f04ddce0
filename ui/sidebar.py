"""The sidebar every page shares: the data and model in use, a live training status, and the
"history shown" setting."""

from __future__ import annotations

import streamlit as st

from ui import background, panel_view
from ui.state import (
    DATA_NAME,
    HISTORY,
    HISTORY_DEFAULT,
    MODEL_NAME,
    get,
    panel,
    put,
    series,
)

HISTORY_OPTIONS = [200, 500, 2000, 10_000, "all"]


def _training_status() -> None:
    """Live on every page while this session trains; when the run ends, its model goes into
    use and the whole page is redrawn with it."""
    polling = background.training()

    @st.fragment(run_every=1.0 if polling else None)
    def body() -> None:
        j = background.job()
        if j is not None and background.training():
            snap = j.snapshot()
            st.progress(snap.fraction, text=f"Training: {background.training_text(snap)}")
        elif polling:
            background.collect_training()
            st.rerun()

    body()


def draw() -> None:
    with st.sidebar:
        _training_status()
        st.caption(f"**Data:** {get(DATA_NAME) or 'none yet'}")
        if panel() is not None:
            st.caption(panel_view.series_label(panel(), series()))
        st.caption(f"**Model:** {get(MODEL_NAME) or 'none yet'}")
        st.select_slider(
            "History shown in charts",
            options=HISTORY_OPTIONS,
            value=get(HISTORY, HISTORY_DEFAULT),  # a refresh keeps the choice
            key="history_points",
            on_change=lambda: put({HISTORY: st.session_state["history_points"]}),
            help="How many of the last observations the forecast and interpretation charts "
            "show; the model always uses all the data.",
        )
