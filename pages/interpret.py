"""Interpret: what is explained (the network's share of the forecast), attention, Integrated
Gradients and the skip gate for one forecast, each scored by a deletion test, the whole series,
and the change points with the gate's response at each."""

import streamlit as st

from lstm_core import changepoints, plots
from lstm_core.changepoints.rows import change_point_rows
from lstm_core.errors import LstmCoreError
from lstm_core.interpret import last_steps
from lstm_core.interpret.readings import attention_reading, gate_reading
from lstm_core.report_text import detection_caption, detection_table
from lstm_core.text import fmt_times, format_metrics, times_at
from ui import background, changes, guards, interpret_views, loaders, panels, reports, router, state
from ui import interpret_text as text

router.hand_over()
st.title("Interpret")
df = guards.require(
    state.frame(), "No data yet: pick a demo or upload a table.", "data", "Go to Data"
)
guards.require(
    state.forecaster(), "No model yet: train one, or load a checkpoint.", "training", "Go to Train"
)
fc, df = panels.view("explain")  # a panel: the series picked here, through its own view
try:
    prep = loaders.memo("forecast:prepare", lambda: fc.prepare(df))
except LstmCoreError as e:
    guards.model_cannot(fc, e, "read")
lookback, rows, freq = fc.config_.data.lookback, len(prep.frame), fc.freq_
target = guards.pick_target(fc, "explain_target")
explained = interpret_views.what_is_explained(fc, prep)
trace = background.trace_task(fc, prep) if explained.trace is None else None
found = background.detection()
detected = background.finished(found.task) if found else None
known_rows = found.known if found else prep.grid_rows(state.get(state.KNOWN_CPS, ()))
st.caption(
    "The skip gate mixes, unit by unit and step by step, the LSTM's output (its memory of "
    "earlier steps; gate 1, blue) with a projection of the current input (gate 0, red)."
)


@st.fragment
def one_origin() -> None:
    st.subheader("One forecast: what drives it, and which views show it")
    label = "Forecast origin (row of the first forecast step; the last = the next forecast)"
    origin = st.slider(label, lookback, rows, rows, key="explain_origin")
    interpret_views.one_origin(explained, prep, target, origin)


def whole_series(tr) -> None:
    view = last_steps(tr, state.history_points())
    reading = gate_reading(view.gate)
    known = times_at(prep.frame.index, known_rows)
    src = text.source(explained.label)
    title = f"Share of the skip gate's units leaning on memory{src}"
    figure = plots.gate_share_figure(view.index, reading.memory_share, detected, known, title)
    st.plotly_chart(figure, key="explain_share")
    said = reading.sentence(view.index, freq)
    caption = interpret_views.whole_series_caption(explained, prep, target, "gate", said)
    st.caption(f"{caption} {text.points_on_gate(detected, explained.label)}")
    title = f"Skip gate over the series{src}: each unit's gate (window-averaged), scale 0 to 1"
    st.plotly_chart(plots.gate_heatmap(view.index, view.gate, title), key="explain_gate_map")
    st.caption(interpret_views.whole_series_caption(explained, prep, target, "gate", text.GATE_MAP))
    title = f"Attention over the whole series{src} (window x lag)"
    figure = plots.attention_heatmap(view.index, view.attention_map, view.map_starts, title)
    st.plotly_chart(figure, key="explain_attention_map")
    said = attention_reading(view.attention_map)
    st.caption(interpret_views.whole_series_caption(explained, prep, target, "attention", said))


def change_points(det) -> None:
    if detected is None:  # it finished during this run, after the gate chart was drawn
        st.rerun()
    figure = plots.detection_figure(prep.frame[target], det, known_rows, state.history_points())
    st.plotly_chart(figure, key="explain_changes")
    st.dataframe(format_metrics(detection_table(det)))
    st.caption(
        f"{detection_caption(det) or changes.UNSCORED} Agreement between the two detectors: "
        f"{det.agreement.share:.0%} (within {det.agreement.margin} rows)."
        + (f" Notes: {'; '.join(det.notes)}." if det.notes else "")
    )
    table = change_point_rows(det, prep)  # the rows and times of the user's file
    table["time"] = fmt_times(table["time"], freq)
    st.dataframe(format_metrics(table.set_index("#")))
    changes.show_candidates(det, prep, freq)
    tr = explained.trace or background.finished(trace)
    if tr is not None:
        interpret_views.gate_at_points(explained, tr, det, prep)


one_origin()
st.subheader("The whole series")
if explained.trace is not None:
    whole_series(explained.trace)
else:
    background.follow(
        "trace",
        trace,
        "Running the model over every window",
        whole_series,
        again=lambda: background.trace_task(fc, prep, restart=True),
    )
st.subheader("Change points")
st.caption(changes.GATE_EVIDENCE)
shown = "" if state.panel() is None else f"_{state.series()}"  # a form per series
with st.form(f"explain_detect_{state.get(state.DATA_TOKEN)}{shown}"):
    a, b, c, d, e = st.columns(5)
    sensitivity = changes.sensitivity_choice(a)
    min_size = b.number_input("Minimum segment (rows; 0 = automatic)", min_value=0, value=0)
    features = c.selectbox(
        "Features",
        [None, *changepoints.FEATURE_CHOICES],
        format_func=changes.features_label,
        help=changes.FEATURES_HELP,
    )
    method = d.selectbox("Classical reference", ["pelt", "binseg", "kernel"])
    detector = changes.detector_choice(e)
    own_gate = st.checkbox(changes.OWN_GATE_LABEL, value=False, help=changes.OWN_GATE_HELP)
    known = st.text_input(
        "Known change points (rows of your table from 0, separated by commas, semicolons or "
        "spaces; optional: scores F1 and covering)",
        value=" ".join(map(str, state.get(state.KNOWN_CPS, ()))),
    )
    if st.form_submit_button("Detect change points", type="primary"):
        error = background.start_detection(
            fc,
            prep,
            known,
            own_gate,
            sensitivity=sensitivity,
            features=features,
            min_size=min_size or None,
            classical_method=method,
            detector=detector,
            candidates=True,
        )
        if error:
            st.error(error)
        else:
            st.rerun()  # poll the new run
if found is None:
    st.info("Press Detect: the series is segmented, and a classical detector runs beside it.")
else:
    background.follow("detection", found.task, "Detecting change points", change_points)
reports.download_button("explain", fc, df)
