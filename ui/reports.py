"""The first-visit line and the "Download report" button the result pages share."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lstm_core import data, report
from lstm_core.forecaster import Forecaster
from ui import background, loaders
from ui.state import DATA_NAME, KNOWN_CPS, MODEL_NAME, MODEL_TOKEN, data_key, get

DEMO_PREFIX = "demo: "


def first_visit_note() -> None:
    """While the demo is in use: what it is, and how to use one's own data, in one line."""
    name = get(DATA_NAME) or ""
    if not name.startswith(DEMO_PREFIX):
        return
    demo = data.load_demo(name.removeprefix(DEMO_PREFIX))
    st.info(
        f"This is the built-in demo ({demo.description[0].lower()}{demo.description[1:]}), "
        "forecast by a small model shipped with the app. To use your own series, upload a "
        "CSV, Excel, Parquet or JSON table on the Data page.",
        icon=":material/waving_hand:",
    )


def download_button(page: str, fc: Forecaster, df: pd.DataFrame) -> None:
    """ "Download report": one HTML file with every chart, built when clicked, that opens offline.
    It includes the whole-series trace and the change points when this session has them.
    ``fc`` and ``df``: the model and table the page shows (a panel: its series shown)."""
    tokens = (data_key(), get(MODEL_TOKEN))
    found = background.detection()
    if found:
        known = tuple(found.known)  # the detection's: already grid rows
    else:  # a demo's known points are the file's rows; the report counts grid rows
        prep = loaders.memo("forecast:prepare", lambda: fc.prepare(df))
        known = tuple(prep.grid_rows(get(KNOWN_CPS, ())))
    ex, ex_trace = background.explainer() or (None, None)
    context = report.Context(
        data_name=get(DATA_NAME) or "data",
        model_name=get(MODEL_NAME) or "model",
        trace=background.finished(background.current("trace", tokens)),
        detection=background.finished(found.task) if found else None,
        known=known,
        explainer=ex,
        explainer_trace=ex_trace,
    )
    st.download_button(
        "Download report (HTML, opens offline)",
        lambda: report.build(fc, df, context),
        "attentivelstm-report.html",
        "text/html",
        key=f"{page}_report",
        on_click="ignore",
        icon=":material/description:",
    )
    if context.trace is None and page == "forecast":
        st.caption("Open Interpret first to include the whole-series gate views.")
