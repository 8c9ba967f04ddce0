"""What detection returns: change points with their kind and columns, scores, the whole result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from lstm_core.interpret import Trace
from lstm_core.text import plain_time

Features = Literal["combined", "raw", "gate"]
Classical = Literal["pelt", "binseg", "kernel"]
# which search segments: "tests" (candidates confirmed by local tests of each kind), "search"
# (one kernel search on rolling statistics at a learned penalty), "profile" (a classification
# score profile at a learned threshold: changes of shape too) or "union" (PELT on the mean +
# a Gaussian cost on the steps + kinks + search + profile, the default:
# benchmarks/changepoints.py)
Detector = Literal["tests", "search", "profile", "union"]
# which view of the series found a point: its own columns, or the model's representation (gate)
Method = Literal["raw", "representation"]
# how a detection's notes begin when it trained its own detection model (``pipeline``)
TRAINED_NOTE = "trained a detection model"


def trained_model(detection: object) -> bool:
    """Whether a detection read the gate of a detection model trained for the series (its
    notes say so) rather than a given model's."""
    notes = getattr(detection, "notes", ()) or ()
    return any(n.startswith(TRAINED_NOTE) for n in notes)


# which part of a detector found a point: the local tests, PELT on the mean, binary segmentation
# on a Gaussian cost (mean and covariance), a broken line's changes of slope, the kernel search
# on rolling statistics or the classification score profile ("union" runs the last five)
Part = Literal["tests", "pelt", "gaussian", "kink", "search", "profile"]
# what changed: the segmentation's kinds, or "dynamics" when only the model's gate changed
Kind = Literal["level", "trend", "spread", "seasonality", "correlation", "dynamics"]


@dataclass(frozen=True)
class ChangePoint:
    """One change: ``index`` is the 0-based row (time order) of the new regime's first
    observation; ``kind`` says what changed there and ``columns`` in which columns (empty for
    the classical detectors, which do not say)."""

    index: int
    time: object
    score: float  # the change score curve at this row
    kind: Kind | None = None
    columns: tuple[str, ...] = ()
    # the winning test's statistic minus its penalty ("tests"), a cost's drop between the
    # neighbouring points minus its penalty ("pelt", "gaussian", "kink", "search"), or the
    # rank-sum evidence (-log10 p) minus the threshold ("profile")
    evidence: float = math.nan
    also: tuple[Kind, ...] = ()  # other kinds whose tests passed here too
    method: Method | None = None  # which view found it (None for the classical detectors)
    part: Part | None = None  # which part of the detector found it (None: classical)

    def to_dict(self) -> dict:
        out = {"index": self.index, "time": plain_time(self.time), "score": round(self.score, 6)}
        if self.kind is not None:
            out |= {
                "kind": self.kind,
                "columns": list(self.columns),
                "evidence": round(self.evidence, 3),
                "also": list(self.also),
                "method": self.method,
                "part": self.part,
            }
        return out


@dataclass(frozen=True)
class Candidate:
    """A place that could be a change point, ranked by its evidence: kept or why not."""

    index: int
    time: object
    score: float  # the change score curve at this row
    needed: float  # sensitivity at which it pays its penalty (kept ones: at most the one used)
    kept: bool
    kind: Kind | None  # what changed most there (the local tests' best kind)
    columns: tuple[str, ...]
    method: Method
    part: Part = "tests"

    def reason(self, sensitivity: float) -> str:
        """Why it is, or is not, a change point, in words."""
        if self.kept:
            return "kept"
        if self.needed == math.inf:
            return "no sensitivity keeps it"
        if self.needed <= sensitivity:  # "tests": it passes here, but was never a candidate
            return "its test passes here, but the detector's searches did not propose it"
        return f"below the threshold: needs sensitivity {self.needed:.2g} (used {sensitivity:g})"

    def to_dict(self, sensitivity: float) -> dict:
        return {
            "index": self.index,
            "time": plain_time(self.time),
            "score": round(self.score, 6),
            "needed": None if self.needed == math.inf else round(self.needed, 4),
            "kept": self.kept,
            "kind": self.kind,
            "columns": list(self.columns),
            "method": self.method,
            "part": self.part,
            "reason": self.reason(sensitivity),
        }


@dataclass(frozen=True)
class Metrics:
    """Scores against known change points, as in van den Burg & Williams (2020), and the plain
    count behind them (``found`` of ``known``; the trivial start point excluded)."""

    f1: float
    precision: float
    recall: float
    covering: float
    found: int  # known change points matched by a detection (best annotator)
    known: int  # known change points (of that annotator)

    def sentence(self) -> str:
        return f"found {self.found} of {self.known} known change point{'s' * (self.known != 1)}"


@dataclass(frozen=True)
class Agreement:
    """How the model-based and the classical change points match (within ``margin``)."""

    pairs: tuple[tuple[int, int], ...]  # (model index, classical index)
    share: float  # 2 x matched / (model + classical); 1.0 when both find nothing
    margin: int


@dataclass(frozen=True)
class Detection:
    """Everything ``detect`` found; ``score`` is indexed by the series' time."""

    change_points: tuple[ChangePoint, ...]
    score: pd.Series  # (T,) change score
    classical: tuple[ChangePoint, ...]
    classical_method: Classical
    agreement: Agreement
    metrics: Metrics | None  # None without known change points
    classical_metrics: Metrics | None
    trace: Trace | None  # None when no model was used (features "raw")
    features: Features
    sensitivity: float
    min_size: int
    lookback: int | None
    columns: tuple[str, ...]  # what was analysed: series columns, then gate components
    notes: tuple[str, ...] = field(default=())
    detector: Detector = "tests"
    # ranked, strongest first: always with "search", "profile" and "union"; with "tests"
    # when detect(candidates=True)
    candidates: tuple[Candidate, ...] = ()

    def candidate_table(self) -> pd.DataFrame:
        """Candidates as rows, strongest first: index, time, kind, columns, method, the part of
        the detector that proposed it, needed sensitivity, score, and whether it was kept or
        why not."""
        c = self.candidates
        return pd.DataFrame(
            {
                "index": [k.index for k in c],
                "time": [k.time for k in c],
                "kind": [k.kind for k in c],
                "columns": [", ".join(k.columns) for k in c],
                "method": [k.method for k in c],
                "part": [k.part for k in c],
                "needed sensitivity": [k.needed for k in c],
                "score": [k.score for k in c],
                "kept or why not": [k.reason(self.sensitivity) for k in c],
            }
        )

    def table(self) -> pd.DataFrame:
        """Change points as rows: index, time, kind, columns, evidence, method, the part of the
        detector that found it, score, classical match."""
        matched = dict(self.agreement.pairs)
        return pd.DataFrame(
            {
                "index": [c.index for c in self.change_points],
                "time": [c.time for c in self.change_points],
                "kind": [c.kind for c in self.change_points],
                "columns": [", ".join(c.columns) for c in self.change_points],
                "evidence": [c.evidence for c in self.change_points],
                "method": [c.method for c in self.change_points],
                "part": [c.part for c in self.change_points],
                "score": [c.score for c in self.change_points],
                "classical match": pd.array(
                    [matched.get(c.index) for c in self.change_points], dtype="Int64"
                ),
            }
        )

    def to_dict(self) -> dict:
        """Plain JSON-ready data (what ``python -m lstm_core detect --json`` prints)."""

        def m(x: Metrics | None) -> dict | None:
            return None if x is None else {k: round(v, 6) for k, v in x.__dict__.items()}

        return {
            "change_points": [c.to_dict() for c in self.change_points],
            "classical": {
                "method": self.classical_method,
                "change_points": [c.to_dict() for c in self.classical],
            },
            "agreement": {
                "share": round(self.agreement.share, 6),
                "pairs": [list(p) for p in self.agreement.pairs],
                "margin": self.agreement.margin,
            },
            "metrics": m(self.metrics),
            "classical_metrics": m(self.classical_metrics),
            "n_obs": len(self.score),
            "features": self.features,
            "columns": list(self.columns),
            "sensitivity": self.sensitivity,
            "min_size": self.min_size,
            "lookback": self.lookback,
            "notes": list(self.notes),
            "detector": self.detector,
            "candidates": [c.to_dict(self.sensitivity) for c in self.candidates],
        }
