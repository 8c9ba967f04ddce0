"""The sentences the CLI's HTML report writes and the pages quote as well, written once: the data
report, the training run, the backtest's caption, the detectors' scores, who found each change
point, a view's deletion test and the gate's measured response rate."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Literal

import pandas as pd

from lstm_core.changepoints.results import trained_model
from lstm_core.data import Prepared
from lstm_core.interpret import faithfulness
from lstm_core.text import MISSING, fmt_times, frequency_words


def training_summary(history) -> list[str]:
    """What a finished training run did, as short lines for the Train page and the
    report's model card."""
    if not history.train_loss:
        return [history.message]
    best = history.best_val_loss  # epoch 0: the linear fit the network starts from
    lines = [
        history.message,
        f"best epoch {history.best_epoch}: validation loss {best:.4f}",
        (
            f"{len(history.train_loss)} epoch(s) in {history.seconds:.1f} s on {history.device}, "
            f"{history.windows_per_sec:,.0f} windows/s"
        ),
    ]
    return lines


def data_report_lines(prep: Prepared) -> list[str]:
    """The data report of a prepared series, in words: rows, span, frequency, what was done."""
    r, index = prep.report, prep.frame.index
    start, end = fmt_times(index[[0, -1]], prep.freq)
    missing = ", ".join(f"{k} {v:,}" for k, v in r.missing.items() if v) or "none"
    return [
        f"{r.rows:,} rows from {start} to {end}",
        f"frequency: {frequency_words(prep.freq)}",
        f"duplicate timestamps: {r.duplicates:,}",
        f"gaps (missing timestamps): {r.gaps:,}",
        f"missing values: {missing}",
        *r.actions,
    ]


def backtest_caption(backtest, horizon: int) -> str:
    """What the backtest table's columns mean, without promising what MASE cannot."""
    return (
        f"{backtest.windows:,} forecast windows in the held-out end, every step and target. "
        "MASE divides each error by the in-sample error of a one-step naive forecast, so "
        f"forecasts {horizon} steps ahead usually score above 1 even when they beat every "
        "baseline: compare the rows (lower is better) rather than reading 1 as the bar. "
        "coverage80 is the share of actual values inside the 80% interval (0.8 is calibrated; "
        f"{MISSING} for methods without an interval); "
        + (
            f"seasonal period m={backtest.season}."
            if backtest.season > 1
            else "no seasonal cycle was found (the time step names none and the training rows "
            "show none), so the seasonal naive is the naive."
        )
    )


def detection_table(detection) -> pd.DataFrame:
    """One row per detector of a ``changepoints.Detection``: how many change points it found
    and, when known change points were given, "found k of K", F1, precision, recall, covering."""
    rows = {}
    for name, points, m in (
        (f"this detector ({detection.features})", detection.change_points, detection.metrics),
        (
            f"classical ({detection.classical_method}, raw series)",
            detection.classical,
            detection.classical_metrics,
        ),
    ):
        row: dict = {"change points": len(points)}
        if m is not None:
            row |= {
                "known change points": m.sentence(),
                "F1": m.f1,
                "precision": m.precision,
                "recall": m.recall,
                "covering": m.covering,
            }
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def detection_caption(detection) -> str:
    """The count behind the benchmark scores, and why finding nothing does not score 0 ("" when
    no known change points were given, so nothing was scored)."""
    m = detection.metrics
    if m is None:
        return ""
    return (
        f"This detector {m.sentence()}; the classical one "
        f"{detection.classical_metrics.sentence()}. F1 and precision follow TCPDBench, which "
        "counts the series' start as a change point both sides always share, so a detector "
        "that finds nothing still scores above 0."
    )


GATE_RATES = Path(__file__).resolve().parent / "interpret" / "gate_rates.json"

# how each change point was found, by the detection's features (``found_by``)
FOUND_BY = {
    "raw": "tests on the raw series",
    "combined": "tests on the raw series (candidates from the series and the skip gate)",
    "gate": "segmentation of the model's skip gate",
    "detection gate": "segmentation of the skip gate of a detection model trained for the series",
    "search": "a kernel search on the raw series' rolling statistics",
    "profile": "a classification score profile of the raw series",
    "profile gate": "a classification score profile of the model's skip gate",
    "profile detection gate": (
        "a classification score profile of the skip gate of a detection model trained for the "
        "series"
    ),
    "union": (
        "PELT, a Gaussian cost, a broken line, a kernel search or a classification score "
        "profile of the raw series"
    ),
    "pelt": "PELT on the raw series' mean",
    "gaussian": "a Gaussian cost (mean and covariance) on the raw series' steps",
    "kink": "a broken line through the raw series (a change of slope)",
}
# the phrases that name the gate of the model in use (the one the pages and the report draw)
GATE_FOUND = (FOUND_BY["gate"], FOUND_BY["profile gate"])
IN_USE = "the model in use"  # the label of the model whose gate detection reads when given one
# when detection read a gate other than the one drawn
OTHER_GATE = (
    "detection read the skip gate of a model trained for detection, not the gate drawn here"
)

# The detectors' ablation as benchmarks/changepoints.py measured it (out of fold over 20 TCPD,
# 38 TSSB and 44 synthetic series, run of 2026-12-06); the report and the Interpret page quote it
# so nobody reads more into the gate than the measurements support.
ABLATION = (
    "Which view finds change points, out of fold over 6 deals of the folds on 20 annotated real "
    "series (TCPD), 38 pattern-change series (TSSB) and 44 synthetic ones (F1 / Cover): the "
    "default detector (PELT, a Gaussian cost on the steps, a broken line's changes of slope and "
    "a kernel search on the series, and a classification score profile of the skip gate of a "
    "small model trained for detection: hidden 16, 2 layers, not the model in use) scores "
    "0.785 / 0.750, 0.553 / 0.833 and 0.938 / 0.957 (PELT at its defaults 0.74 / 0.71, "
    "0.47 / 0.37 and 0.62 / 0.66; ClaSP published TSSB Cover 0.84). With the profile on the "
    "series instead, and no model, it scores 0.782 / 0.750, 0.520 / 0.817 and 0.933 / 0.954 "
    "(objective 0.800 against 0.811, spreads 0.002 and 0.003; with the detection model "
    "trained from two other seeds 0.809 and 0.811): the gate sees TSSB's pattern changes and "
    "is level on TCPD. Its constants were chosen in the folds, its design on these same "
    "series: with the design chosen in the folds too, TCPD scores 0.77 / 0.75 and the "
    "synthetic suite 0.93 / 0.95. The gate alone, read by the kernel search, scores at the "
    "level of reporting no change point (0.64 / 0.60, 0.50 / 0.40, 0.75 / 0.71 against "
    "0.69 / 0.60, 0.52 / 0.41, 0.76 / 0.72); read by the profile, it sees TSSB's pattern "
    "changes (Cover 0.82) but not TCPD's (0.69 / 0.60)."
)


@functools.cache  # a shipped file: read once per process, not on every page run
def gate_rate_sentence(path: Path = GATE_RATES) -> str:
    """How often the gate responds at annotated changes and at random points across the TCPD
    and TSSB development series, as ``benchmarks/faithfulness.py --dev-sets`` measured and
    stored it ("" when the file is missing)."""
    try:
        d = json.loads(path.read_text())
        return (
            f"Across the TCPD and TSSB development series (a small model trained on each), the "
            f"gate responded (p < {d['alpha']:g}) at {d['annotated']:.0%} of {d['points']} "
            f"annotated changes and at {d['random']:.0%} of as many random points "
            "(benchmarks/faithfulness.py --dev-sets)."
        )
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def deletion_sentence(score: faithfulness.ViewScore) -> str:
    """A view's deletion test in one sentence (the report and the Interpret page share it)."""
    lo, hi = score.interval
    return (
        f"Deleting its top {score.steps} steps moves the forecast {score.ratio:.2f}x as much as "
        f"deleting {score.steps} random steps (95% interval {lo:.2f} to {hi:.2f}x; "
        f"{score.draws} random draws)."
    )


def withheld(score: faithfulness.ViewScore, narrate: bool) -> Literal["nil", "unreliable"] | None:
    """Why a view's reading is withheld, for the report and the Interpret page alike: "nil" when
    the network takes no part in the forecasts (``narrate`` False), "unreliable" when deleting
    the view's top steps moves the forecast no more than random deletions; None when it may be
    described."""
    if not narrate:
        return "nil"
    return None if score.reliable else "unreliable"


def points_sentence(detection: object, drawn: str = IN_USE) -> str:
    """What the red lines over the gate are: the detected change points and the detectors that
    found them (per point, as ``found_by`` names them), or that there are none; and whether the
    gate drawn (``drawn``'s: the model in use's or the explanation model's) is the one detection
    read."""
    points = getattr(detection, "change_points", None)
    if detection is None:
        return "No change points are drawn yet."
    if not points:
        return "Detection found no change points."
    detectors = {found_by(c, detection) for c in points}
    by = ", ".join(sorted(detectors))
    other = other_gate(detection, drawn)
    if getattr(detection, "features", "raw") == "raw":
        gate = ", not by the gate"  # no gate was read
    elif other:
        gate = f" ({other})"
    else:
        took_part = detectors & {*GATE_FOUND, FOUND_BY["combined"]}  # its points or candidates
        gate = "" if took_part else ", not by the gate"
    return (
        f"Red lines: the detected change points, found by {by}{gate} (named per point under "
        "Change points, where the gate's response at each is measured)."
    )


def other_gate(detection: object, drawn: str = IN_USE) -> str:
    """Why the gate drawn (``drawn``'s) is not the one detection read: a detection model's,
    or the model in use's under the explanation model's chart; "" when it is, or when
    detection read no gate."""
    if getattr(detection, "features", "raw") == "raw":
        return ""
    if trained_model(detection):
        return OTHER_GATE
    if drawn != IN_USE:
        return f"detection read the skip gate of {IN_USE}, not the gate drawn here"
    return ""


def found_by(point: object, detection: object) -> str:
    """Which detector found a change point, in words: the detection's ``detector``, the point's
    ``part`` of it ("union": PELT, the Gaussian part, the kink part, the search or the
    profile) and its ``method`` (the view it read: the raw series or the model's
    representation)."""
    method = getattr(point, "method", None)
    detector = getattr(detection, "detector", "tests")
    part = getattr(point, "part", None)  # the part of "union" that found it
    profiles = detector in ("profile", "union")  # their gate points are the profile's
    if method == "representation" or getattr(point, "kind", None) == "dynamics":
        key = "profile gate" if profiles else "gate"
        if trained_model(detection):
            key = "profile detection gate" if profiles else "detection gate"
        return FOUND_BY[key]
    if detector == "union" and part in ("pelt", "gaussian", "kink", "search", "profile"):
        return FOUND_BY[part]
    if detector in ("search", "profile", "union"):
        return FOUND_BY[detector]
    features = getattr(detection, "features", "raw")
    return FOUND_BY.get(features, f"{features} features")
