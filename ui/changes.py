"""The Interpret page's change point controls: sensitivity, detector, and the ranked candidates."""

from __future__ import annotations

import streamlit as st

from lstm_core import changepoints
from lstm_core.changepoints.detectors import SENSITIVITY_LADDER
from lstm_core.changepoints.rows import candidate_rows
from lstm_core.text import fmt_times

SENSITIVITY_LABEL = "Sensitivity (1 = the cross-validated default; higher finds more)"
DETECTOR_HELP = (
    "tests (default): candidates kept by local tests of each kind of change, designed on the "
    "TCPD series it is scored on (in sample 0.77 / 0.75 F1 / Cover there), and at the level of "
    "reporting no change on TCPD series it never saw (0.60 / 0.54); search: one kernel search "
    "on rolling statistics at a penalty learned across annotated series (out of fold: TCPD "
    "0.70 / 0.68, TSSB 0.54 / 0.69); profile: where a nearest-neighbour classifier tells what "
    "comes before a row from what comes after it, so changes of shape with the same level and "
    "spread too (ClaSP-style; out of fold TSSB Cover 0.80 on the series, 0.83 on the skip gate "
    "of the small detection model); union: search plus the profile's other points (the "
    "profile reads the skip gate unless the features are raw; best out of fold over TCPD, "
    "TSSB and the synthetic suite, 0.715 against the search's 0.692; PELT on TCPD "
    "0.74 / 0.71). Here the gate is that of the model in use, which was not measured: the "
    "figures are the detection model's (benchmarks/changepoints.py). All list the candidates "
    "below."
)
CANDIDATES_CAPTION = (
    "Candidates, strongest first: the change points, the change score's highest peaks and "
    "the places a liberal search points to, each with the sensitivity it needs to be kept. A "
    "peak of the change score without a change point is listed with the reason it was not kept."
)
UNSCORED = "Give known change points above to score the detectors against them."

# What the model's view adds, as measured by benchmarks/changepoints.py (out of fold over the
# union of 20 TCPD, 38 TSSB and 44 synthetic series; the "search" detector reading the series'
# rolling statistics, the gate's main directions, or both; the run of 2026-12-04 that also
# scored the profile designs). The Interpret page quotes this so
# nobody reads more into the gate than the measurements support.
GATE_EVIDENCE = (
    "Which view finds change points, measured with the 'search' detector out of fold on 20 "
    "annotated real series (TCPD), 38 pattern-change series (TSSB) and 44 synthetic ones "
    "(F1 / Cover): the series' own statistics ('raw') 0.70 / 0.68, 0.54 / 0.69 and 0.81 / 0.81; "
    "the skip gate of the small model detection trains for itself (hidden 16, 2 layers; not the "
    "model in use) alone 0.63 / 0.58, 0.51 / 0.41 and 0.75 / 0.71, at the level of reporting no "
    "change point (0.69 / 0.60, 0.52 / 0.41, 0.76 / 0.72); both together 0.69 / 0.68, "
    "0.54 / 0.62 and 0.81 / 0.80. So detection reads the "
    "series ('raw', the default) and each point says which view found it; the gate views "
    "above show where the model's state moves. Read by a classification score profile "
    "(detector 'profile', which tells what comes before a row from what comes after it), that "
    "detection model's gate does see the pattern changes: TSSB Cover 0.83 out of fold (the "
    "series' own 0.80; ClaSP 0.84 published), and the search plus the gate's profile (detector "
    "'union') scores best over the three sets (0.71 / 0.70, 0.52 / 0.82 and 0.82 / 0.83). The "
    "gate of the model in use was not measured this way."
)


def detector_choice(container) -> str:
    """The detector select box (default marked by its position)."""
    choices = list(changepoints.DETECTOR_CHOICES)
    return container.selectbox(
        "Detector",
        choices,
        index=choices.index(changepoints.DEFAULT_DETECTOR),
        help=DETECTOR_HELP,
    )


def show_candidates(det, prep, freq) -> None:
    """The ranked candidate table of a Detection, in the user's rows, when its detector ranks
    them."""
    if not det.candidates:
        return
    table = candidate_rows(det, prep)
    table["time"] = fmt_times(table["time"], freq)
    st.caption(CANDIDATES_CAPTION)
    st.dataframe(table.set_index("row"))


def sensitivity_choice(container) -> float:
    """The sensitivity slider: the engine's ladder, the cross-validated 1 preselected."""
    return container.select_slider(SENSITIVITY_LABEL, list(SENSITIVITY_LADDER), value=1.0)
