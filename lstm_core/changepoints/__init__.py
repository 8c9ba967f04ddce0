"""Change point detection: kinds of change (level, trend, spread, seasonality, correlation) in
the series and in the model's skip gate, a classical reference, and TCPDBench's scores.

Modules: ``results`` (what is returned), ``metrics`` (one matcher for F1, covering and
agreement), ``features`` (series and gate columns), ``segment`` (searches and confirmation
tests), ``pipeline`` (``detect``), ``synthetic`` (seeded series of every kind).
"""

from lstm_core.changepoints.features import change_features, change_score, gate_components
from lstm_core.changepoints.metrics import MARGIN, agreement, covering, f1_score, match, score
from lstm_core.changepoints.pipeline import (
    DEFAULT_DETECTOR,
    DEFAULT_FEATURES,
    classical,
    detect,
    detection_config,
    known_from_column,
    locate,
    parse_rows,
)
from lstm_core.changepoints.results import (
    Agreement,
    Candidate,
    ChangePoint,
    Classical,
    Detection,
    Detector,
    Features,
    Kind,
    Method,
    Metrics,
)
from lstm_core.changepoints.segment import KINDS, Settings

FEATURE_CHOICES = ("raw", "combined", "gate")
DETECTOR_CHOICES = ("tests", "search")

# What the model's view adds, as measured by benchmarks/changepoints.py (out of fold over the
# union of 20 TCPD, 38 TSSB and 44 synthetic series; the "search" detector reading the series'
# rolling statistics, the gate's main directions, or both). The app quotes this so nobody reads
# more into the gate than the measurements support.
GATE_EVIDENCE = (
    "Which view finds change points, measured with the 'search' detector out of fold on 20 "
    "annotated real series (TCPD), 38 pattern-change series (TSSB) and 44 synthetic ones "
    "(F1 / Cover): the series' own statistics ('raw') 0.70 / 0.68, 0.54 / 0.69 and 0.81 / 0.81; "
    "the skip gate of the small model detection trains for itself (hidden 16, 2 layers; not the "
    "model in use) alone 0.61 / 0.55, 0.51 / 0.41 and 0.74 / 0.70, no better than reporting no "
    "change point (0.69 / 0.60, 0.52 / 0.41, 0.76 / 0.72); both together 0.69 / 0.68, "
    "0.54 / 0.62 and 0.80 / 0.80. So detection reads the "
    "series ('raw', the default) and each point says which view found it; the gate views "
    "above show where the model's state moves."
)

__all__ = [
    "DEFAULT_DETECTOR", "DEFAULT_FEATURES", "DETECTOR_CHOICES", "FEATURE_CHOICES", "GATE_EVIDENCE", "KINDS", "MARGIN", "Agreement", "Candidate", "ChangePoint", "Classical", "Detection",
    "Detector", "Features", "Kind", "Method", "Metrics", "Settings", "agreement", "change_features", "change_score",
    "classical", "covering", "detect", "detection_config", "f1_score", "gate_components",
    "known_from_column", "locate", "match", "parse_rows", "score",
]
