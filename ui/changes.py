"""The Interpret page's change point controls: sensitivity, detector, and the ranked candidates."""

from __future__ import annotations

import streamlit as st

from lstm_core import changepoints, report_text
from lstm_core.changepoints.detectors import SENSITIVITY_LADDER
from lstm_core.changepoints.rows import candidate_rows
from lstm_core.text import fmt_times

SENSITIVITY_LABEL = "Sensitivity (1 = the cross-validated default; higher finds more)"
DETECTOR_HELP = (
    "union (default): PELT on the mean (less the points a straight line explains, a line "
    "each side of a bend), then a Gaussian cost on the columns' steps (series of 2+ columns: "
    "changes of correlation; isolated outliers pulled in first), then the changes of slope "
    "of a broken line through the series, then a kernel search on rolling statistics of the "
    "series less that line, then a classification score profile on the skip gate of a "
    "small model trained for the series (ClaSP-style: where a nearest-neighbour classifier "
    "tells what comes before a row from what comes after it, so changes of shape too), each "
    "adding the points the others missed; the search's, the profile's and the Gaussian "
    "part's points are then placed where a Gaussian cost drops most. Out of fold over "
    "annotated real series (TCPD), pattern-change series (TSSB) and a synthetic suite (6 "
    "deals of the folds) it scores F1 / Cover 0.785 / 0.750 on TCPD (PELT at its defaults "
    "0.74 / 0.71), TSSB 0.55 / 0.83 (ClaSP published Cover 0.84, PELT 0.55) and the synthetic "
    "suite 0.94 / 0.96 (AR(1) wander still gets false points); with features 'raw' (no "
    "model, the profile on the series less its line) 0.782 / 0.750, 0.52 / 0.82 and "
    "0.93 / 0.95 (objective 0.800 against 0.811). Training the model takes time: the regimes "
    "demo's detection 1.0 s against 0.4 s on the series alone; series over 20,000 rows are "
    "read without it. The design was chosen on these series (all 34 designs without the "
    "gate competing in the folds: synthetic 0.93 / 0.95, TCPD 0.77 / 0.74). tests: last "
    "round's detector, designed on the TCPD series it is scored on (in sample 0.77 / 0.75) "
    "and at the level of reporting no change on TCPD series it never saw (0.60 / 0.54). "
    "search, profile: one part alone, on the series by default (out of fold TCPD 0.70 / 0.68 "
    "and 0.72 / 0.69, TSSB Cover 0.69 and 0.80). Figures: benchmarks/changepoints.py. All but "
    "tests list ranked candidates below."
)
FEATURES_HELP = (
    "default: combined for the union (raw under 40 or over 20,000 rows), raw for the other "
    "detectors; combined for every detector with 'Read the gate of the model in use' ticked. "
    "combined: the union's profile reads the skip gate, its other parts the series (with "
    "tests, the gate's main directions propose candidates, the columns confirm them); raw: "
    "the series' columns alone, no model; gate: the gate alone for tests, search and profile "
    "(its changes are reported as 'dynamics'), for the union the same points as combined (its "
    "change score and candidates read the gate alone). "
    "The caption above gives what each scored."
)
OWN_GATE_LABEL = "Read the gate of the model in use"
OWN_GATE_HELP = (
    "Off (default): the skip gate is that of a small model trained for this series (hidden "
    "16, 2 layers), the view the benchmark measured; training it takes time at the first "
    "press for a series (about 1 s on the regimes demo, 5 s at 20,000 rows; later presses "
    "reuse it). On: the gate of the model in use, "
    "read from its trace (no training; features 'default' then mean combined for every "
    "detector); that view was not measured. With features 'raw' no gate is read either way."
)
CANDIDATES_CAPTION = (
    "Candidates, strongest first: the change points, the change score's highest peaks and "
    "the places a liberal search points to, each with the sensitivity it needs to be kept. A "
    "peak of the change score without a change point is listed with the reason it was not kept."
)
UNSCORED = "Give known change points above to score the detectors against them."

# What the model's view adds, as measured (``report_text.ABLATION``, which the report quotes
# too), and what the page's own gate views are.
GATE_EVIDENCE = (
    f"{report_text.ABLATION} Each point says which part found it; the gate views above show "
    "where the state of the model they are drawn from moves. That gate was not measured this "
    "way: detection reads a detection model's unless you ask for the model in use's."
)


def features_label(features: str | None) -> str:
    """The features select box's words for ``detect``'s choices (None: its default)."""
    return "default" if features is None else features


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
