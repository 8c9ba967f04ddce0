"""The Interpret page's change point controls: sensitivity, detector, and the ranked candidates."""

from __future__ import annotations

import streamlit as st

from lstm_core import changepoints
from lstm_core.changepoints.rows import candidate_rows
from lstm_core.text import fmt_times

SENSITIVITY_LABEL = "Sensitivity (1 = the cross-validated default; higher finds more)"
DETECTOR_HELP = (
    "tests (default): candidates kept by local tests of each kind of change; search: one "
    "kernel search on rolling statistics at a penalty learned across annotated series "
    "(benchmarks/changepoints.py scores both out of fold). Both list the candidates below."
)
CANDIDATES_CAPTION = (
    "Candidates, strongest first: the change points, the change score's highest peaks and "
    "the places a liberal search points to, each with the sensitivity it needs to be kept. A "
    "peak of the change score without a change point is listed with the reason it was not kept."
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
