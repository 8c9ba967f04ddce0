"""Data: pick a demo or upload a table, choose its columns, see the series and the data report."""

import streamlit as st

import ui
from lstm_core import data, plots, summary

st.title("Data")
st.caption(
    "Upload CSV, TSV, Parquet, Excel or JSON, or use a built-in demo. Then choose the columns."
)

demo_col, upload_col = st.columns(2)
with demo_col:
    name = st.selectbox("Demo dataset", data.demo_names(), key="data_demo")
    if st.button("Use this demo", key="data_use_demo"):
        ui.use_demo(name)
with upload_col:
    # any file is accepted here and lstm_core says what is wrong with it, in words
    upload = st.file_uploader(
        "Or upload a table (CSV, TSV, Parquet, Excel or JSON)", key="data_upload"
    )
    if upload is not None and upload.file_id != ui.get(ui.UPLOAD_ID):
        error = ui.use_upload(upload)
        if error:
            st.error(f"{upload.name} was not loaded: {error}. The data you had is kept.")

df = ui.require(ui.frame(), "No data yet: pick a demo or upload a table above.", "data", "Data")
st.subheader(f"Columns of {ui.get(ui.DATA_NAME)} ({len(df):,} rows)")
choice = summary.column_choice(df, ui.config())
token = ui.get(ui.DATA_TOKEN)
with st.form(f"data_columns_{token}"):
    a, b, c, d = st.columns(4)
    none = "(none: use the row number)"
    options = [none, *choice.columns]
    time_col = a.selectbox("Time column", options, index=options.index(choice.time_col or none))
    targets = b.multiselect("Target(s) to forecast", choice.numeric, default=choice.targets)
    covariates = c.multiselect(
        "Covariates (extra inputs)", choice.numeric, default=choice.covariates
    )
    policies = ["interpolate", "ffill", "refuse"]
    missing = d.selectbox(
        "Missing values", policies, index=policies.index(ui.config().data.missing)
    )
    if st.form_submit_button("Apply columns", type="primary"):
        error = ui.set_columns(None if time_col == none else time_col, targets, covariates, missing)
        if error:
            st.error(f"Not applied: {error}. The previous choice is kept.")

prep, error = ui.prepared()
if error:
    st.error(f"This data cannot be used as configured: {error}. Choose other columns above.")
    st.stop()
known = prep.frame.index[list(ui.get(ui.KNOWN_CPS, ()))]
st.plotly_chart(plots.series_figure(prep.frame, prep.targets, known), key="data_chart")
with st.expander("Data report", expanded=True):
    st.markdown("\n".join(f"- {line}" for line in prep.report.lines()))
with st.expander("First rows of the table as uploaded"):
    st.dataframe(df.head(50))
st.page_link(ui.PAGES["settings"], label="Next: model settings", icon=":material/arrow_forward:")
