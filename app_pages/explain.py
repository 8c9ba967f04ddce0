"""Interpret: attention and skip-gate activations for one forecast and the whole series, and
the change points the skip gate points to."""

import streamlit as st

import ui
from lstm_core import changepoints, interpret, plots, summary
from lstm_core.errors import LstmCoreError

st.title("Interpret")
df = ui.require(ui.frame(), "No data yet: pick a demo or upload a table.", "data", "Go to Data")
fc = ui.require(
    ui.forecaster(), "No model yet: train one, or load a checkpoint.", "training", "Go to Train"
)
try:
    prep = ui.memo("forecast:prepare", lambda: fc.prepare(df))
except LstmCoreError as e:
    ui.model_cannot(fc, e, "read")
lookback, rows = fc.config_.data.lookback, len(prep.frame)
target = ui.pick_target(fc, "explain_target")
trace = ui.background("explain:trace", lambda: interpret.trace(fc, prep))
found, known_rows = ui.detection() or (None, [])


@st.fragment
def one_origin() -> None:
    st.subheader("One forecast: where the model looked")
    label = "Forecast origin (row of the first forecast step; the last = the next forecast)"
    origin = st.slider(label, lookback, rows, rows, key="explain_origin")
    ex = fc.explain(prep, origin)
    st.caption(f"Lookback window {ex.times[0]} to {ex.times[-1]} ({lookback} steps).")
    window = prep.frame[target].iloc[origin - lookback : origin]
    figure = plots.attention_figure(window, ex.attention, ex.forecast)
    st.plotly_chart(figure, key="explain_attention")
    title = "Skip-gate activations in this window (channel x time)"
    st.plotly_chart(plots.gate_heatmap(ex.times, ex.gate, title), key="explain_gate")


@st.fragment(run_every=1.0 if ui.running(trace) else None)
def whole_series() -> None:
    st.subheader("The whole series")
    if ui.ready(trace, "Running the model over every window"):
        tr = trace.result
        figure = plots.attention_heatmap(tr.index, tr.attention_map, tr.map_starts)
        st.plotly_chart(figure, key="explain_attention_map")
        title = "Skip-gate activations over the whole series (channel x time, window-averaged)"
        st.plotly_chart(plots.gate_heatmap(tr.index, tr.gate, title), key="explain_gate_map")


@st.fragment(run_every=1.0 if ui.running(found) else None)
def change_points() -> None:
    if found is None:
        st.info(
            "Press Detect: the series is segmented together with the skip gate's "
            "activations, and a classical detector runs on the raw series beside it."
        )
    elif ui.ready(found, "Detecting change points"):
        det = found.result
        figure = plots.detection_figure(prep.frame[target], det, known_rows)
        st.plotly_chart(figure, key="explain_changes")
        st.dataframe(summary.detection_table(det))
        st.caption(
            f"Agreement between the two detectors: {det.agreement.share:.0%} (within "
            f"{det.agreement.margin} rows). {' '.join(det.notes)}"
        )
        st.dataframe(det.table(), hide_index=True)


one_origin()
whole_series()
st.subheader("Change points")
st.caption(changepoints.GATE_EVIDENCE)
with st.form(f"explain_detect_{ui.get(ui.DATA_TOKEN)}"):
    a, b, c, d = st.columns(4)
    sensitivity = a.select_slider(
        "Sensitivity (1 = BIC default; higher finds more)", [0.25, 0.5, 1.0, 2.0, 4.0], value=1.0
    )
    min_size = b.number_input("Minimum segment (rows; 0 = automatic)", min_value=0, value=0)
    choices = list(changepoints.FEATURE_CHOICES)
    features = c.selectbox(
        "Features",
        choices,
        index=choices.index(changepoints.DEFAULT_FEATURES),
        help="raw: the series' columns; combined: the skip gate's main directions propose "
        "candidates too, the series' columns confirm them; gate: the gate alone (its changes "
        "are reported as 'dynamics'). The caption above gives what each scored.",
    )
    method = d.selectbox("Classical reference", ["pelt", "binseg", "kernel"])
    known = st.text_input(
        "Known change points (rows from 0, separated by commas, semicolons or spaces; "
        "optional: scores F1 and covering)",
        value=" ".join(map(str, ui.get(ui.KNOWN_CPS, ()))),
    )
    if st.form_submit_button("Detect change points", type="primary"):
        error = ui.start_detection(
            fc,
            prep,
            known,
            trace=trace.result if trace.status == "done" else None,  # no second pass
            sensitivity=sensitivity,
            features=features,
            min_size=min_size or None,
            classical_method=method,
        )
        if error:
            st.error(error)
        else:
            st.rerun()  # poll the new run
change_points()
