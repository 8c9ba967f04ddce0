"""AttentiveLSTM Studio: the router (pages, sidebar widgets every page shares)."""

import streamlit as st

import ui

st.set_page_config(
    page_title="AttentiveLSTM Studio", page_icon=":material/insights:", layout="wide"
)
ui.start_session()  # first visit: the demo data and the demo checkpoint, so results show at once
ui.collect_job()  # a training run that finished while the user was on another page

pg = st.navigation(
    {
        "Prepare": [
            st.Page("app_pages/data.py", title="Data", icon=":material/table_chart:"),
            st.Page("app_pages/settings.py", title="Model settings", icon=":material/tune:"),
            st.Page("app_pages/training.py", title="Train", icon=":material/model_training:"),
        ],
        "Results": [
            st.Page(
                "app_pages/forecast.py",
                title="Forecast",
                icon=":material/show_chart:",
                default=True,
            ),
            st.Page("app_pages/explain.py", title="Interpret", icon=":material/visibility:"),
        ],
        "Manage": [
            st.Page("app_pages/checkpoints.py", title="Checkpoints", icon=":material/save:")
        ],
    }
)

with st.sidebar:
    st.caption(f"**Data:** {ui.get(ui.DATA_NAME) or 'none yet'}")
    st.caption(f"**Model:** {ui.get(ui.MODEL_NAME) or 'none yet'}")
    if ui.training():
        st.progress(ui.job().snapshot().fraction, text="training in the background")
    st.select_slider(
        "History shown in charts",
        options=[200, 500, 2000, 10_000, "all"],
        value=500,
        key="history_points",
        help="How many of the last observations the forecast "
        "and interpretation charts show; the model always uses all the data.",
    )

pg.run()
