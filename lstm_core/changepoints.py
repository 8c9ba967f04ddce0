"""Change points from the skip gate: change score, detection, a classical reference, scoring."""

from __future__ import annotations

import argparse
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import ruptures as rpt

from lstm_core.config import Config
from lstm_core.data import Prepared, prepare
from lstm_core.errors import DataError
from lstm_core.forecaster import Forecaster
from lstm_core.interpret import Trace, trace
from lstm_core.train import OnEpoch

Features = Literal["combined", "raw", "gate"]
Classical = Literal["pelt", "binseg"]
Annotations = Mapping[str, Sequence[int]] | Sequence[int]

PENALTY = 0.5  # x log(n): price of a candidate in the kernel search (liberal; ``confirm`` decides)
MARGIN = 5  # observations: a detection this close to a true change point counts (TCPD)
MAX_POINTS = 2000  # longer series are segmented on block means (kernel cost is O(n^2) memory)
MAX_GATE_COMPONENTS = 4
GATE_WEIGHT = 1.0  # the gate block's share of the kernel distances, relative to the raw block
# What the gate adds, as measured by benchmarks/tcpd.py on TCPD's 13 averaged series with the
# default setting (mean F1 / Cover). The app shows this so nobody reads more into the gate.
GATE_EVIDENCE = (
    "How much the skip gate adds, measured on 13 annotated real series (TCPD, one default "
    "setting): the gate alone scores F1 0.67 / Cover 0.65, the raw series alone 0.80 / 0.72, "
    "both together 0.79 / 0.72, against 0.66 / 0.66 for classical PELT. The gate shows where "
    "the model's state switches, but on its own it finds change points no better than the raw "
    "series; pick 'raw' or 'gate' under Features to compare on your data. Detections are "
    "confirmed as changes of level: a change of spread or correlation alone (as at rows 600 "
    "and 900 of the regimes demo) is not reported."
)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ChangePoint:
    """One detected change: ``index`` is the 0-based row (time order) of the new regime's first
    observation, ``score`` the change score there, ``evidence`` the BIC gain of keeping it."""

    index: int
    time: object
    score: float
    evidence: float = float("nan")

    def to_dict(self) -> dict:
        t = self.time
        if hasattr(t, "isoformat"):
            t = t.isoformat()
        elif isinstance(t, (int, np.integer)):
            t = int(t)
        else:
            t = str(t)
        return {
            "index": self.index,
            "time": t,
            "score": round(float(self.score), 6),
        }


@dataclass(frozen=True)
class Metrics:
    """Scores against known change points, as in van den Burg & Williams (2020)."""

    f1: float
    precision: float
    recall: float
    covering: float


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
    trace: Trace
    features: Features
    sensitivity: float
    min_size: int
    lookback: int
    notes: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """Change points as rows: index, time, score, evidence, and the classical match."""
        matched = dict(self.agreement.pairs)
        return pd.DataFrame(
            {
                "index": [c.index for c in self.change_points],
                "time": [c.time for c in self.change_points],
                "score": [c.score for c in self.change_points],
                "evidence": [c.evidence for c in self.change_points],
                "classical match": [matched.get(c.index) for c in self.change_points],
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
            "sensitivity": self.sensitivity,
            "min_size": self.min_size,
            "lookback": self.lookback,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------- scoring (TCPDBench metrics)


def _annotators(known: Annotations) -> list[set[int]]:
    """One set per annotator, each holding the trivial change point 0."""
    groups = known.values() if isinstance(known, Mapping) else [known]
    return [{int(i) for i in g} | {0} for g in groups]


def _matched(true: set[int], pred: set[int], margin: int) -> set[int]:
    """True points matched one-to-one by a prediction within ``margin`` (closest first, in the
    order of the true points, as TCPDBench does)."""
    free = set(pred)
    hit = set()
    for t in sorted(true):
        close = sorted((abs(t - p), p) for p in free if abs(t - p) <= margin)
        if close:
            hit.add(t)
            free.remove(close[0][1])
    return hit


def f1_score(
    known: Annotations, predicted: Sequence[int], margin: int = MARGIN
) -> tuple[float, float, float]:
    """F1, precision and recall of ``predicted`` against one or more annotators.

    Precision is over the union of the annotators' points, recall the mean over annotators;
    0 (the start of the series) is added to every set as a trivial change point.

    Returns:
        (f1, precision, recall)
    """
    sets = _annotators(known)
    pred = {int(p) for p in predicted} | {0}
    union = set().union(*sets)
    precision = len(_matched(union, pred, margin)) / len(pred)
    recall = float(np.mean([len(_matched(s, pred, margin)) / len(s) for s in sets]))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def _segments(points: Sequence[int] | set[int], n_obs: int) -> np.ndarray:
    """(S, 2) [start, end) of the segments that change points cut [0, n_obs) into."""
    cuts = sorted({int(p) for p in points if 0 < p < n_obs})
    edges = np.array([0, *cuts, n_obs])
    return np.column_stack([edges[:-1], edges[1:]])


def covering(known: Annotations, predicted: Sequence[int], n_obs: int) -> float:
    """Mean over annotators of the covering of their segmentation by the predicted one: each
    true segment weighs its length times its best Jaccard overlap with a predicted segment."""
    pred = _segments(predicted, n_obs)  # (P, 2)
    out = []
    for s in _annotators(known):
        true = _segments(s, n_obs)  # (S, 2)
        inter = np.clip(
            np.minimum(true[:, None, 1], pred[None, :, 1])
            - np.maximum(true[:, None, 0], pred[None, :, 0]),
            0,
            None,
        )
        lengths_t = (true[:, 1] - true[:, 0])[:, None]
        union = lengths_t + (pred[:, 1] - pred[:, 0])[None, :] - inter
        out.append(float((lengths_t[:, 0] * (inter / union).max(axis=1)).sum() / n_obs))
    return float(np.mean(out))


def score(
    known: Annotations, predicted: Sequence[int], n_obs: int, margin: int = MARGIN
) -> Metrics:
    """F1 (with precision, recall) and covering of ``predicted`` against known change points."""
    f1, p, r = f1_score(known, predicted, margin)
    return Metrics(f1=f1, precision=p, recall=r, covering=covering(known, predicted, n_obs))


def agreement(a: Sequence[int], b: Sequence[int], margin: int = MARGIN) -> Agreement:
    """Pairs of change points of ``a`` and ``b`` within ``margin`` of each other (one-to-one)."""
    free = sorted(int(x) for x in b)
    pairs = []
    for x in sorted(int(x) for x in a):
        close = sorted((abs(x - y), y) for y in free if abs(x - y) <= margin)
        if close:
            pairs.append((x, close[0][1]))
            free.remove(close[0][1])
    total = len(a) + len(b)
    share = 1.0 if total == 0 else 2 * len(pairs) / total
    return Agreement(tuple(pairs), share, margin)


# ---------------------------------------------------------------- features and segmentation


def _standardise(x: np.ndarray) -> np.ndarray:
    """Columns to zero mean and unit spread; constant columns become zeros."""
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 1e-12, sd, 1.0)


def gate_components(gate: np.ndarray, variance: float = 0.9) -> np.ndarray:
    """The stitched gate's main directions: (T, W) -> (T, k) principal components that explain
    ``variance`` of it (k <= MAX_GATE_COMPONENTS), each standardised."""
    g = gate - gate.mean(axis=0)
    u, s, _ = np.linalg.svd(g, full_matrices=False)
    explained = np.cumsum(s**2) / max(float(np.sum(s**2)), 1e-300)
    k = min(int(np.searchsorted(explained, variance) + 1), MAX_GATE_COMPONENTS, len(s))
    return _standardise(u[:, :k] * s[:k])


def change_features(
    raw: np.ndarray, gate: np.ndarray | None, features: Features = "combined"
) -> np.ndarray:
    """What the segmentation sees at each step.

    Args:
        raw: (T, K) the series' columns (any scale; standardised here).
        gate: (T, W) stitched skip-gate activations (needed unless ``features="raw"``).
        features: "raw", "gate" or "combined" (both blocks with equal total weight).

    Returns:
        (T, D) features.
    """
    parts = []
    if features in ("raw", "combined"):
        parts.append(_standardise(raw))
    if features in ("gate", "combined"):
        if gate is None:
            raise ValueError(f"features={features!r} needs the stitched gate")
        g = gate_components(gate)
        # the gate block weighs GATE_WEIGHT x the raw block in the kernel's distances
        w = GATE_WEIGHT if features == "combined" else 1.0
        parts.append(g * math.sqrt(w * raw.shape[1] / g.shape[1]))
    return np.column_stack(parts)


def change_score(feats: np.ndarray, half: int) -> np.ndarray:
    """(T,) squared distance between the mean features of the ``half`` steps before and after
    each step, per feature; 0 where either side is shorter than ``half``. O(T D) via cumsums."""
    T = len(feats)
    c = np.vstack([np.zeros(feats.shape[1]), np.cumsum(feats, axis=0)])
    t = np.arange(half, T - half + 1)
    out = np.zeros(T)
    if len(t):
        left = (c[t] - c[t - half]) / half
        right = (c[t + half] - c[t]) / half
        out[t] = ((left - right) ** 2).mean(axis=1)
    return out


def _block_means(x: np.ndarray, block: int) -> np.ndarray:
    """(T, D) -> (ceil(T / block), D) means of consecutive blocks (the last may be shorter)."""
    n = -(-len(x) // block)
    starts = np.arange(n) * block
    c = np.vstack([np.zeros(x.shape[1]), np.cumsum(x, axis=0)])
    ends = np.minimum(starts + block, len(x))
    return (c[ends] - c[starts]) / (ends - starts)[:, None]


def _rss_line(y: np.ndarray) -> float:
    t = np.arange(len(y), dtype=np.float64)
    a = np.column_stack([np.ones_like(t), t])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    return float(((y - a @ coef) ** 2).sum())


def _lag1(r: np.ndarray) -> float:
    """Lag-1 autocorrelation of residuals (T, K) pooled over columns, clipped to [0, 0.99]."""
    if len(r) < 3:
        return 0.0
    den = float((r[:-1] ** 2).sum())
    return float(np.clip((r[1:] * r[:-1]).sum() / den, 0.0, 0.99)) if den > 0 else 0.0


def confirm(
    raw: np.ndarray, candidates: Sequence[int], strength: float = 1.0
) -> tuple[list[int], list[float]]:
    """Keep the candidates that are real shifts, not bends of a trend or wander of a random walk.

    Around each candidate (between its neighbours) a step (two means) must beat one straight
    line by the BIC, n_eff log(RSS_line / RSS_step) > k log n, with k = strength x columns and
    n_eff = n (1 - rho) / (1 + rho) the effective sample size under AR(1) residuals (rho: lag-1
    autocorrelation of the step's residuals). The weakest candidate is dropped and the rest are
    re-tested until all pass. The line keeps trending series (population, CO2) whole; n_eff
    keeps smooth, autocorrelated wander (a bank balance) from looking like many shifts.

    Args:
        raw: (T, K) series (standardised or not).
        candidates: change point indices.
        strength: multiplies the BIC penalty.

    Returns:
        (kept indices, their evidence n_eff log(RSS_line / RSS_step) - k log n)
    """
    kept = sorted(int(c) for c in candidates)
    k = strength * raw.shape[1]
    while kept:
        edges = [0, *kept, len(raw)]
        evidence = []
        for i in range(1, len(edges) - 1):
            a, b, e = edges[i - 1], edges[i], edges[i + 1]
            resid = np.vstack([raw[a:b] - raw[a:b].mean(axis=0), raw[b:e] - raw[b:e].mean(axis=0)])
            step = float((resid**2).sum())
            line = _rss_line(raw[a:e])
            rho = _lag1(resid)
            n = e - a
            n_eff = n * (1 - rho) / (1 + rho)
            evidence.append(n_eff * math.log(max(line, 1e-12) / max(step, 1e-12)) - k * math.log(n))
        worst = int(np.argmin(evidence))
        if evidence[worst] >= 0:
            return kept, evidence
        kept.pop(worst)
    return [], []


def locate(
    raw: np.ndarray,
    gate: np.ndarray | None,
    features: Features = "combined",
    sensitivity: float = 1.0,
    min_size: int = 5,
    confirm_on: Literal["raw", "features"] = "raw",
) -> tuple[list[int], list[float]]:
    """Change points of a series from its features (the detector without the model).

    A liberal kernel (RBF) change point search (ruptures Pelt) on ``change_features`` with the
    penalty ``PENALTY x log(n)`` proposes candidates; ``confirm`` (an AR(1)-aware BIC test on
    the raw series, its penalty divided by ``sensitivity``) keeps the real ones. Only the test
    depends on the sensitivity, so a higher one never drops candidates for a different set. Series longer than
    MAX_POINTS are segmented on block means and the indices mapped back.

    Args:
        raw: (T, K) series.
        gate: (T, W) stitched gate or None (only for ``features="raw"``).
        features: which features the search sees (the benchmark's ablation).
        sensitivity: > 1 finds more change points, < 1 fewer.
        min_size: fewest observations between two change points.
        confirm_on: run ``confirm`` on the raw series (shipped) or on the search's own features
            (so that ``features="gate"`` uses nothing but the gate).

    Returns:
        (indices of the first row of each new regime, their evidence)
    """
    if sensitivity <= 0:
        raise DataError(f"sensitivity must be > 0, got {sensitivity}")
    feats = change_features(raw, gate, features)
    z = _standardise(raw) if confirm_on == "raw" else feats
    block = max(1, -(-len(raw) // MAX_POINTS))
    if block > 1:
        feats, z = _block_means(feats, block), _block_means(z, block)
    n = len(feats)
    size = max(1, -(-min_size // block))
    if n < 2 * size:
        return [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruptures warns about its bias on constant segments
        algo = rpt.Pelt(model="rbf", min_size=size, jump=1).fit(feats)
        candidates = algo.predict(pen=PENALTY * math.log(n))[:-1]
    kept, evidence = confirm(z, candidates, 1.0 / sensitivity)
    return [c * block for c in kept], evidence


def classical(
    raw: np.ndarray, method: Classical = "pelt", sensitivity: float = 1.0, min_size: int = 2
) -> list[int]:
    """The reference detector, as TCPDBench's "default" PELT and BinSeg (R changepoint's
    ``cpt.mean``, Normal, MBIC): a mean-shift (L2) cost on the standardised series with the
    penalty (2 + columns) x log n (3 log n for one column); BinSeg keeps at most 5 changes."""
    z = _standardise(raw)
    block = max(1, -(-len(z) // MAX_POINTS))
    if block > 1:
        z = _block_means(z, block)
    n, d = z.shape
    size = max(1, -(-min_size // block))
    if n < 2 * size:
        return []
    pen = (2 + d) * math.log(n) / sensitivity
    algo = (rpt.Pelt if method == "pelt" else rpt.Binseg)(model="l2", min_size=size, jump=1).fit(z)
    bkps = algo.predict(pen=pen)[:-1]
    if method == "binseg" and len(bkps) > 5:
        bkps = algo.predict(n_bkps=5)[:-1]
    return [b * block for b in bkps]


# ---------------------------------------------------------------- the pipeline


_DATA_KEYS = ("time_col", "targets", "covariates", "frequency", "missing")


def detection_config(n_rows: int, cfg: Config | None = None) -> tuple[Config, list[str]]:
    """A config fit for detection on ``n_rows`` rows, and notes saying what was adapted.

    Without ``cfg``: a small fast model (hidden 16, horizon 1, lookback n/8 clipped to 4..32,
    30 epochs at most, fewer on long series). With ``cfg``: its settings, except a lookback
    too long for the series is shortened.
    """
    notes = []
    if cfg is None:
        lookback = int(np.clip(n_rows // 8, 4, 32))
        windows = max(n_rows - lookback, 1)
        epochs = int(np.clip(200_000 // windows, 2, 30))
        cfg = Config().replace(
            data={"lookback": lookback, "horizon": 1},
            lstm={"hidden_size": 16, "num_layers": 2, "dropout": 0.0},
            training={
                "epochs": epochs,
                "learning_rate": 1e-2,
                "batch_size": 64,
                "patience": 10,
                "device": "cpu",
            },
        )
        notes.append(
            f"trained a detection model: lookback {lookback}, hidden 16, up to {epochs} epochs"
        )
        return cfg, notes
    d = cfg.data
    # fit rows: the lookback + horizon windows of training and validation, with room to learn
    limit = max(2, int((n_rows * (1 - cfg.training.val_fraction) - d.horizon - 1) // 2))
    if d.lookback > limit:
        lookback = max(2, min(limit, n_rows // 4))
        cfg = cfg.replace(data={"lookback": lookback})
        notes.append(f"lookback {d.lookback} is too long for {n_rows} rows; using {lookback}")
    return cfg, notes


def known_from_column(frame: pd.DataFrame, column: str) -> list[int]:
    """Rows (0-based, in the frame's order) where ``column`` is set (non-zero, true)."""
    if column not in frame.columns:
        raise DataError(f"known change point column {column!r} not found")
    flags = pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy() != 0
    return [int(i) for i in np.flatnonzero(flags)]


def detect(
    data: pd.DataFrame | Prepared,
    forecaster: Forecaster | None = None,
    *,
    config: Config | None = None,
    time_col: str | None = None,
    columns: Sequence[str] | None = None,
    known: Annotations | None = None,
    sensitivity: float = 1.0,
    min_size: int | None = None,
    features: Features = "combined",
    classical_method: Classical = "pelt",
    margin: int = MARGIN,
    on_epoch: OnEpoch | None = None,
) -> Detection:
    """Change points of a series from the model's skip gate, beside a classical detector.

    Trains a model with detection defaults (``detection_config``) unless ``forecaster`` is a
    fitted one; ``config`` then supplies the columns and model settings (the lookback is
    shortened for short series, and the notes say so).

    Args:
        data: the series; rows are cleaned by ``prepare`` (sorted by time, gaps filled).
        forecaster: a fitted Forecaster to read the gate from (no training).
        config: settings for training when no forecaster is given (default: fast detection
            settings).
        time_col, columns: override the config's time column and analysed columns.
        known: true change points (a list, or {annotator: list}) to score against.
        sensitivity: > 1 reports more change points, < 1 fewer (1 = BIC default).
        min_size: fewest rows between change points (default min(5, rows / 4)).
        features: "combined" (shipped), "raw" or "gate" (for comparison).
        classical_method: "pelt" or "binseg" for the reference detector.
        margin: rows within which a detection matches a known or classical point.
        on_epoch: training progress callback.

    Returns:
        Detection.

    Raises:
        DataError / SeriesTooShort: unusable data; ConfigError: bad settings.
    """
    notes: list[str] = []
    if forecaster is None:
        changes: dict = {}
        if time_col:
            changes["time_col"] = time_col
        if columns:
            changes["targets"], changes["covariates"] = list(columns), []
        base = (config or Config()).replace(data=changes)
        prep = data if isinstance(data, Prepared) else prepare(data, base.data)
        if len(prep.frame) < 12:
            raise DataError(f"the series has {len(prep.frame)} rows; detection needs at least 12")
        cfg, notes = detection_config(len(prep.frame), base if config is not None else None)
        if config is None:
            cfg = cfg.replace(data={k: getattr(base.data, k) for k in _DATA_KEYS})
        forecaster = Forecaster(cfg).fit(prep, on_epoch=on_epoch)
    else:
        if not hasattr(forecaster, "model_"):
            raise DataError("the forecaster is not fitted; fit it or pass none to train one")
        if columns and tuple(columns) != tuple(forecaster.inputs_):
            raise DataError(
                f"columns {', '.join(columns)} differ from the model's inputs "
                f"{', '.join(forecaster.inputs_)}"
            )
        prep = forecaster.prepare(data)
    notes.extend(prep.report.actions)
    tr = trace(forecaster, prep)
    raw = prep.frame[list(forecaster.inputs_)].to_numpy(np.float64)
    T = len(raw)
    size = int(min_size) if min_size is not None else max(2, min(5, T // 4))
    found, evidence = locate(raw, tr.gate, features, sensitivity, size)
    feats = change_features(raw, tr.gate, features)
    curve = change_score(feats, max(size, tr.lookback // 2))
    index = prep.frame.index
    points = tuple(
        ChangePoint(i, index[i], float(curve[i]), float(e)) for i, e in zip(found, evidence)
    )
    ref = classical(raw, classical_method, sensitivity, size)
    ref_points = tuple(ChangePoint(i, index[i], float(curve[i])) for i in ref)
    metrics = ref_metrics = None
    if known is not None:
        metrics = score(known, found, T, margin)
        ref_metrics = score(known, ref, T, margin)
    return Detection(
        change_points=points,
        score=pd.Series(curve, index=index, name="change score"),
        classical=ref_points,
        classical_method=classical_method,
        agreement=agreement(found, ref, margin),
        metrics=metrics,
        classical_metrics=ref_metrics,
        trace=tr,
        features=features,
        sensitivity=sensitivity,
        min_size=size,
        lookback=tr.lookback,
        notes=tuple(notes),
    )


# ---------------------------------------------------------------- command line


def parse_rows(text: str) -> list[int]:
    """Row numbers typed by a user ("100, 250 400") -> sorted unique ints.

    Raises:
        DataError: something that is not a non-negative whole number, named.
    """
    rows = []
    for part in text.replace(",", " ").split():
        if not part.isdigit():
            raise DataError(f"{part!r} is not a row number; type whole numbers like 100, 250")
        rows.append(int(part))
    return sorted(set(rows))


def cmd_detect(args: argparse.Namespace) -> int:
    """`detect`: print the change points (JSON with --json, a table otherwise)."""
    from lstm_core import checkpoint
    from lstm_core.cli import read_data  # lazy: cli imports this module
    from lstm_core.config import load_config

    df, _ = read_data(args.data)
    fc = checkpoint.load(args.checkpoint) if args.checkpoint else None
    config = load_config(args.config) if args.config and fc is None else None
    if args.sensitivity <= 0:
        raise DataError(f"--sensitivity must be > 0, got {args.sensitivity}")
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    known = parse_rows(args.known) or None if args.known else None
    result = detect(
        df,
        fc,
        config=config,
        time_col=args.time_col,
        columns=columns,
        known=known,
        sensitivity=args.sensitivity,
        classical_method=args.classical,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    for line in result.notes:
        print(f"note: {line}")
    if result.change_points:
        print(result.table().to_string(index=False))
    else:
        print("no change points found")
    print(
        f"{result.classical_method}: {[c.index for c in result.classical]}; "
        f"agreement {result.agreement.share:.2f}"
    )
    if result.metrics is not None:
        m = result.metrics
        print(
            f"F1 {m.f1:.3f} (precision {m.precision:.3f}, recall {m.recall:.3f}), "
            f"covering {m.covering:.3f}"
        )
    return 0


def add_detect_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``detect DATA [--config] [--checkpoint] [--time-col] [--columns] [--known] [--json]``."""
    p = subparsers.add_parser("detect", help="change points from the skip gate")
    p.add_argument("data", help="CSV/TSV/Parquet/Excel/JSON file, or demo:regimes, demo:nile")
    p.add_argument("--config", help="YAML config file (trains with its settings)")
    p.add_argument("--checkpoint", help="use this trained model instead of training one")
    p.add_argument("--time-col")
    p.add_argument("--columns", help="comma-separated columns to analyse")
    p.add_argument("--known", help="known change points to score against, e.g. 12,40")
    p.add_argument("--sensitivity", type=float, default=1.0, help="> 1 finds more (default 1)")
    p.add_argument("--classical", choices=["pelt", "binseg"], default="pelt")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_detect)
    return p


__all__ = [
    "Agreement",
    "ChangePoint",
    "Detection",
    "Metrics",
    "add_detect_command",
    "agreement",
    "change_features",
    "change_score",
    "classical",
    "confirm",
    "covering",
    "detect",
    "detection_config",
    "f1_score",
    "known_from_column",
    "locate",
    "parse_rows",
    "score",
]
