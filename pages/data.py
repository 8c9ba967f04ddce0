"""Data: pick a demo or upload a table, choose its columns, see the series and the data report."""

import streamlit as st

from lstm_core import data, plots
from lstm_core.columns import column_choice
from lstm_core.report_text import data_report_lines
from ui import actions, guards, panels, router, state
from ui.labels import inserted_rows_note

router.hand_over()
st.title("Data")
st.caption(
    "Upload CSV, TSV, Parquet, Excel or JSON, or use a built-in demo. Then choose the columns."
)
demo_col, upload_col = st.columns(2)
with demo_col:
    st.selectbox("Demo dataset", data.demo_names(), key="data_demo")
    st.button("Use this demo", key="data_use_demo", on_click=actions.use_demo)
with upload_col:
    # any file is accepted here and lstm_core says what is wrong with it, in words
    st.file_uploader(
        "Or upload a table (CSV, TSV, Parquet, Excel or JSON)",
        key="data_upload",
        on_change=actions.use_upload,
    )

df = guards.require(
    state.frame(), "No data yet: pick a demo or upload a table above.", "data", "Data"
)
st.subheader(f"Columns of {state.get(state.DATA_NAME)} ({len(df):,} rows)")
panels.layout_picker(df)
panel = state.panel()
cfg = state.config()
wide = panel is not None and panel.layout == "wide"
# a long panel's id column is neither a time nor a value
table = df if panel is None or panel.id_col is None else df.drop(columns=[panel.id_col])
choice = column_choice(table, cfg)
# keyed by the data and the applied choice: a new upload or a loaded model resets the widgets
key = f"{state.get(state.DATA_TOKEN)}_{hash((choice.time_col, choice.targets, choice.covariates))}"
a, b, c, d = st.columns(4)
none = "(none: use the row number)"
options = [none, *choice.columns]
time_col = a.selectbox(
    "Time column", options, index=options.index(choice.time_col or none), key=f"data_time_{key}"
)
if wide:  # every numeric column is a series: its values are the target
    targets, covariates = list(cfg.data.targets), []
    b.caption("Target: each column's own values (one column, one series).")
else:
    targets = b.multiselect(
        "Target(s) to forecast", choice.numeric, default=choice.targets, key=f"data_targets_{key}"
    )
    others = [col for col in choice.numeric if col not in targets]  # a target is never a covariate
    covariates = c.multiselect(
        "Covariates (extra inputs)",
        others,
        default=[col for col in choice.covariates if col in others],
        key=f"data_covariates_{key}_{'|'.join(targets)}",
    )
policies = ["interpolate", "ffill", "refuse"]
missing = d.selectbox(
    "Missing values", policies, index=policies.index(cfg.data.missing), key=f"data_missing_{key}"
)
if st.button("Apply columns", type="primary", key="data_apply"):
    error = actions.set_columns(
        None if time_col == none else time_col, targets, covariates, missing
    )
    if error:
        st.error(f"Not applied: {error}. The previous choice is kept.")
    else:
        st.rerun()

if panel is not None:
    panels.overview(panel)
prep, error = actions.prepared()
if error:
    what = "This data" if panel is None else f"Series {state.series()}"
    st.error(f"{what} cannot be used as configured: {error}. Choose other columns above.")
    st.stop()
inserted = inserted_rows_note(prep)
if inserted:
    st.warning(inserted, icon=":material/table_rows:")
known = prep.user_times(state.get(state.KNOWN_CPS, ()))
st.plotly_chart(plots.series_figure(prep.frame, prep.targets, known), key="data_chart")
with st.expander("Data report", expanded=True):
    st.markdown("\n".join(f"- {line}" for line in data_report_lines(prep)))
with st.expander("First rows of the table as uploaded"):
    st.dataframe(df.head(50))
router.link("settings", "Next: model settings")
