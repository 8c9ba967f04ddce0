"""Change point detection: kinds of change (level, trend, spread, seasonality, correlation) in
the series and in the model's skip gate, a classical reference, and TCPDBench's scores.

Modules: ``results`` (what is returned), ``metrics`` (one matcher for F1, covering and
agreement), ``features`` (series and gate columns), ``robust`` (the columns made ready),
``segment`` (searches and confirmation tests), ``search`` and ``profile`` (a kernel search, a
classification score profile), ``placement`` (where a found point sits: a Gaussian cost),
``detectors`` (those as detectors; ranked candidates),
``pipeline`` (``detect``), ``rows`` (known points as given, a detection in the user's rows),
``synthetic`` (seeded series of every kind).
"""

from lstm_core.changepoints.features import change_features, change_score, gate_components
from lstm_core.changepoints.metrics import MARGIN, agreement, covering, f1_score, match, score
from lstm_core.changepoints.pipeline import (
    DEFAULT_DETECTOR,
    DEFAULT_FEATURES,
    classical,
    detect,
    detection_config,
    locate,
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
from lstm_core.changepoints.rows import known_from_column, parse_rows
from lstm_core.changepoints.segment import KINDS, Settings

FEATURE_CHOICES = ("raw", "combined", "gate")
DETECTOR_CHOICES = ("tests", "search", "profile", "union")

__all__ = [
    "DEFAULT_DETECTOR", "DEFAULT_FEATURES", "DETECTOR_CHOICES", "FEATURE_CHOICES", "KINDS", "MARGIN", "Agreement", "Candidate", "ChangePoint", "Classical", "Detection",
    "Detector", "Features", "Kind", "Method", "Metrics", "Settings", "agreement", "change_features", "change_score",
    "classical", "covering", "detect", "detection_config", "f1_score", "gate_components",
    "known_from_column", "locate", "match", "parse_rows", "score",
]
