"""The detectors ``detect`` runs beside the tests' segmentation ("search", "profile" and their
union with PELT, the default), and the ranked candidates of each, with the sensitivity each
needs."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

import lstm_core.changepoints.kink as kn
import lstm_core.changepoints.placement as pl
import lstm_core.changepoints.profile as prof
import lstm_core.changepoints.search as ks
import lstm_core.changepoints.segment as seg
from lstm_core.arrays import block_means
from lstm_core.changepoints.classical import classical
from lstm_core.changepoints.features import standardise
from lstm_core.changepoints.linear import line_kept, line_sums
from lstm_core.changepoints.results import Candidate, ChangePoint, Features, Kind, Method, Part
from lstm_core.changepoints.robust import clip_outliers, season_periods

SENSITIVITY_LADDER = (0.25, 0.5, 1.0, 2.0, 4.0)  # the app's choices; see ``pipeline.locate``
NEEDED_LADDER = (*SENSITIVITY_LADDER, 8.0, 16.0)  # where a "tests" candidate's need is read


def peaks(curve: np.ndarray, width: int, count: int = ks.PEAKS) -> tuple[int, ...]:
    """Rows of the ``count`` highest local maxima of the change score, ``width`` rows apart."""
    order = np.argsort(-curve, kind="stable")
    out: list[int] = []
    for i in order:
        if curve[i] <= 0 or len(out) == count:
            break
        if all(abs(int(i) - j) > width for j in out):
            out.append(int(i))
    return tuple(out)


@dataclass(frozen=True)
class Run:
    """What both detectors' candidate rankings read: the series and the detection's settings."""

    raw: np.ndarray  # (T, K) the series' columns
    names: tuple[str, ...]
    sensitivity: float
    size: int  # fewest rows between change points
    period_hint: int | None
    curve: np.ndarray  # (T,) the change score
    index: pd.Index
    settings: seg.Settings

    @functools.cached_property
    def clipped(self) -> np.ndarray:
        """The columns, isolated outliers pulled in (``robust.clip_outliers``): once a run."""
        return clip_outliers(self.raw, self.settings.clip)


def searched(
    run: Run,
    gate_feats: np.ndarray,
    features: Features,
    namer: Namer | Unnamed | None = None,
    scale: float = 1.0,
    series: np.ndarray | None = None,
) -> tuple[tuple[ChangePoint, ...], tuple[Candidate, ...]]:
    """The "search" detector: the kernel search on the series' rolling statistics ("raw"), on
    the gate's main directions ("gate") or on both side by side ("combined"), at ``scale`` x
    the sensitivity (the penalty divided by it); each point and candidate named by the local
    tests (kind, columns) and by the view that moved most there. ``series``: what the "raw"
    view reads and where the kept points are placed, in place of the series itself (the
    union's: the series less its broken line, fitted at the run's sensitivity, so a
    candidate's ``needed`` is read on that fit, not on the one another sensitivity makes)."""
    raw, size, curve, index = run.raw, run.size, run.curve, run.index
    series = raw if series is None else series
    sensitivity = run.sensitivity * scale
    views = []
    if features != "gate":
        views.append(ks.series_features(series))
    if features != "raw":
        views.append(gate_feats)
    stacked = views[0] if len(views) == 1 else np.column_stack(views)
    found = ks.search(stacked, series, sensitivity, size, peaks(curve, size))
    kept = [k.index for k in found.candidates if k.kept]
    n_raw = views[0].shape[1] if features == "combined" else 0
    both = standardise(stacked) if features == "combined" else stacked
    namer = namer or Namer.of(run)

    def named(c: int) -> tuple[Kind | None, tuple[str, ...], Method]:
        method: Method = "raw" if features == "raw" else "representation"
        if features == "combined":  # the view whose columns moved most across the point
            a, e = around(kept, c, len(raw))
            jump = np.abs(both[c:e].mean(axis=0) - both[a:c].mean(axis=0))
            method = "raw" if jump[:n_raw].mean() >= jump[n_raw:].mean() else "representation"
        return (*namer.name(kept, c, method), method)

    points, candidates = [], []
    for k in found.candidates:
        kind, cols, method = named(k.index)
        candidates.append(
            Candidate(
                k.index,
                index[k.index],
                float(curve[k.index]),
                k.needed / scale,
                k.kept,
                kind,
                cols,
                method,
                "search",
            )
        )
        if k.kept:
            net = float(k.gain * (1 - k.needed / sensitivity))  # gain minus the penalty paid
            points.append(
                ChangePoint(
                    k.index,
                    index[k.index],
                    float(curve[k.index]),
                    kind,
                    cols,
                    net,
                    (),
                    method,
                    "search",
                )
            )
    return tuple(sorted(points, key=lambda p: p.index)), tuple(candidates)


@dataclass(frozen=True)
class Namer:
    """Names a point found by a search that does not say what changed ("search", "profile"):
    the local tests' best kind between the kept points around it, and their columns. Series
    longer than ``seg.MAX_POINTS`` rows are tested on block means, as the tests segment them."""

    z: np.ndarray  # (T / block, K) the series (or its block means) scaled as the tests read it
    periods: tuple[int, ...]
    run: Run
    block: int = 1  # rows per block mean

    @staticmethod
    def of(run: Run) -> Namer:
        T = len(run.raw)
        block = max(1, -(-T // seg.MAX_POINTS))
        raw = block_means(run.raw, block) if block > 1 else run.raw
        z = seg._scaled(raw, run.settings)
        hint = run.period_hint
        hint = hint // block if hint and hint >= 2 * block else None
        periods = season_periods(z, hint, run.settings.harmonics, run.settings.season_share)
        return Namer(z, tuple(periods), run, block)

    def name(
        self, kept: Sequence[int], c: int, method: Method
    ) -> tuple[Kind | None, tuple[str, ...]]:
        a, e = around(kept, c, len(self.run.raw))
        a, b, e = a // self.block, c // self.block, -(-e // self.block)
        if min(b - a, e - b) < 3:
            return None, ()
        settings = self.run.settings
        t = seg.weigh_split(self.z, a, b, e, list(self.periods), settings.strength, settings)
        if t.evidence <= 0 and method == "representation":
            return "dynamics", ()
        cols = t.columns or tuple(range(len(self.run.names)))
        return t.kind, tuple(self.run.names[j] for j in cols)


class Unnamed:
    """A ``Namer`` that names nothing: for parts whose points are named again after a merge."""

    @staticmethod
    def name(kept: Sequence[int], c: int, method: Method) -> tuple[Kind | None, tuple[str, ...]]:
        return None, ()


def around(kept: Sequence[int], c: int, T: int) -> tuple[int, int]:
    """The kept points (or the ends) either side of row ``c``, ``c`` itself left out."""
    edges = [0, *sorted(p for p in kept if p != c), T]
    i = int(np.searchsorted(edges, c))
    return edges[i - 1], edges[i]


# what the "profile" detector reads for each of detect's ``features``
PROFILE_DESIGNS: dict[Features, prof.Design] = {
    "raw": "raw",
    "gate": "representation",
    "combined": "both",
}


def profiled(
    run: Run,
    gate_feats: np.ndarray,
    features: Features,
    edge: int = prof.EDGE,
    scale: float = 1.0,
    namer: Namer | Unnamed | None = None,
    series: np.ndarray | None = None,
) -> tuple[tuple[ChangePoint, ...], tuple[Candidate, ...]]:
    """The "profile" detector: binary segmentation at the classification score profile's
    peaks (``profile.splits``) on the series ("raw": its subsequences' shapes and rolling
    statistics; ``series`` in its place if given), on the gate's main directions ("gate") or
    on both ("combined"), each split kept while its rank-sum evidence reaches ``scale`` x
    profile.THRESHOLD / sensitivity, at least ``edge`` windows apart; each point named by the
    local tests (kind, columns) and by the view whose profile decided it."""
    rep = gate_feats if features != "raw" and gate_feats.shape[1] else None
    design = PROFILE_DESIGNS[features]
    x = run.raw if series is None else series
    found = prof.splits(x, rep, design, run.sensitivity / scale, ks.LIBERAL, edge)
    kept = [s.node.index for s in found if s.kept]
    namer = namer or Namer.of(run)
    points, candidates = [], []
    T = len(run.raw)
    for s in found:
        c = min(max(s.node.index, 0), T - 1)
        method: Method = s.node.method
        # the fewest rows between change points (``run.size``) holds for the profile too
        keep = (
            s.kept
            and min(c, T - c) >= run.size
            and all(abs(c - p.index) >= run.size for p in points)
        )
        if not keep and any(abs(c - k.index) <= run.size for k in candidates):
            continue  # one candidate per place
        kind, cols = namer.name(kept, c, method)
        needed = s.needed * scale
        candidates.append(
            Candidate(
                c, run.index[c], float(run.curve[c]), needed, keep, kind, cols, method, "profile"
            )
        )
        if keep:  # the weakest evidence on its chain minus the threshold used
            net = prof.THRESHOLD / s.needed - prof.THRESHOLD * scale / run.sensitivity
            points.append(
                ChangePoint(
                    c, run.index[c], float(run.curve[c]), kind, cols, net, (), method, "profile"
                )
            )
    return tuple(sorted(points, key=lambda p: p.index)), tuple(candidates)


# The "union" detector's parts, picked on the joint grid (PELT's sensitivity factor, the Gaussian
# part's, the kink part's, the search's penalty, the profile's fewest windows per segment and
# threshold multiplier) by benchmarks/changepoints.py's grouped folds over TCPD, TSSB and the
# synthetic suite: its design (changepoint_parts.SHIPPED) in sample (0.35, 1.0, 0.35, 5.6, 2,
# 3.0), the same in 3 of 5 folds (the others the search's 8.0, the profile's threshold 2.0);
# its profile on the gate (``features`` "combined" or "gate") keeps them (its gate design
# picks them in sample and in 4 of 5 folds). UNION_DETREND is the design's, not learned.
UNION_PELT = 0.35  # PELT at this x the sensitivity: its penalty (2 + columns) log n / 0.35
UNION_GAUSS = 1.0  # the Gaussian part (series of 2+ columns) at this x the sensitivity: BIC
UNION_KINK = 0.35  # the kink part at this x the sensitivity: its penalty (1 + K) log n / 0.35
UNION_DETREND = 1.0  # search and profile read the series less kink.trend at this factor
UNION_PENALTY = 5.6  # the search's penalty (x log n) in place of search.PENALTY
UNION_PROFILE: dict[prof.Design, tuple[int, float]] = {
    "raw": (2, 3.0),
    "representation": (2, 3.0),
}


def laddered(run: Run, find: Callable[[float], list[int]]) -> tuple[list[int], dict[int, float]]:
    """The points ``find(sensitivity)`` keeps at the run's sensitivity, and candidates: those
    it keeps at every sensitivity of SENSITIVITY_LADDER, each with the lowest at which it keeps
    one within ``run.size`` rows (a kept point's lowest up to the run's sensitivity)."""
    at = {s: find(s) for s in SENSITIVITY_LADDER}
    kept = at[run.sensitivity] if run.sensitivity in at else find(run.sensitivity)
    needed: dict[int, float] = {}
    for i in kept:  # the lowest rung that keeps it (or one within run.size rows of it)
        rungs = [
            s
            for s in sorted(at)
            if s <= run.sensitivity and any(abs(i - j) <= run.size for j in at[s])
        ]
        needed[i] = rungs[0] if rungs else run.sensitivity
    for s in sorted(at):
        for i in at[s]:
            if all(abs(i - j) > run.size for j in needed):
                needed[i] = s
    return kept, needed


def pelted(
    run: Run,
    factor: float = UNION_PELT,
    namer: Namer | Unnamed | None = None,
    lines: bool = True,
    knots: Callable[[float], list[int]] | None = None,
) -> tuple[tuple[ChangePoint, ...], tuple[Candidate, ...]]:
    """PELT on the columns' mean (``classical.classical``) at ``factor`` x the sensitivity, less
    (with ``lines``) the points a straight line explains as well as a step (``linear.line_kept``,
    no constant; ``knots(s)``: changes of slope at sensitivity s, fixed edges of those lines),
    each point named by the local tests; candidates are its points at every sensitivity of
    SENSITIVITY_LADDER, each with the lowest that keeps one within ``run.size`` rows."""

    sums = line_sums(run.raw) if lines else None  # once for every rung of the ladder

    def find(s: float) -> list[int]:
        found = classical(run.raw, "pelt", factor * s, run.size)
        if not lines:
            return found
        return line_kept(run.raw, found, sums, tuple(knots(s)) if knots else (), run.size)

    kept, needed = laddered(run, find)
    z = standardise(np.asarray(run.raw, dtype=np.float64))
    sums = np.vstack([np.zeros(z.shape[1]), np.cumsum(z, axis=0)])
    n = min(len(z), seg.MAX_POINTS)  # PELT's n: block means beyond MAX_POINTS rows
    penalty = (2 + z.shape[1]) * math.log(n) / (factor * run.sensitivity)

    def net(a: int, i: int, e: int) -> float:  # the mean-shift cost's drop less the penalty
        return float(ks.split_gains(sums, a, i, e)[0]) - penalty

    return _part(run, kept, needed, namer or Namer.of(run), net, "pelt")


def gaussian(
    run: Run, factor: float = UNION_GAUSS, namer: Namer | Unnamed | None = None
) -> tuple[tuple[ChangePoint, ...], tuple[Candidate, ...]]:
    """Binary segmentation with the placement's Gaussian cost (``placement.binseg``: each
    segment's own mean and covariance) on the columns' steps (first differences, noise-scaled)
    at ``factor`` x the sensitivity, on series of two or more columns only: what it sees there
    and the others miss is a change of correlation; on the steps a steady trend is no change (on
    the values a long trend is cut again and again). The columns' isolated outliers are pulled
    in first (``robust.clip_outliers``): in heavy-tailed noise one spike's two steps read as a
    change of covariance. Candidates as ``pelted``'s."""
    if run.raw.shape[1] < 2:
        return (), ()
    g = pl.steps_of(run.clipped)  # once for every rung of the ladder
    kept, needed = laddered(run, lambda s: pl.segmented(g, factor * s, run.size))
    penalty = pl.bic(g, factor * run.sensitivity)

    def net(a: int, i: int, e: int) -> float:  # the Gaussian cost's drop less the penalty
        return float(pl.gains(g, a, np.array([i]), e)[0]) - penalty

    return _part(run, kept, needed, namer or Namer.of(run), net, "gaussian")


def kinked(
    run: Run,
    factor: float = UNION_KINK,
    namer: Namer | Unnamed | None = None,
    find: Callable[[float], list[int]] | None = None,
) -> tuple[tuple[ChangePoint, ...], tuple[Candidate, ...]]:
    """Changes of slope (``kink.kinks``: a line plus hinges and steps chosen forward at a BIC
    penalty in the noise's long-run units, the hinges' knots kept) at ``factor`` x the
    sensitivity: a continuous change of slope, which PELT on the mean cuts into steps at the
    wrong rows and the search reads as a change of spread. Candidates as ``pelted``'s."""
    kept, needed = laddered(run, find or (lambda s: kn.kinks(run.raw, factor * s, run.size)))
    if not needed:  # no candidate at any rung: nothing to score
        return (), ()
    z, block, _ = kn.scaled(run.raw, run.size)
    penalty = (1 + z.shape[1]) * math.log(len(z)) / (factor * run.sensitivity)

    def net(a: int, i: int, e: int) -> float:  # the hinge's drop less the penalty
        return kn.drop(z, a // block, i // block, -(-e // block)) - penalty

    return _part(run, kept, needed, namer or Namer.of(run), net, "kink")


def _part(
    run: Run,
    kept: list[int],
    needed: dict[int, float],
    namer: Namer | Unnamed,
    net: Callable[[int, int, int], float],
    part: Part,
) -> tuple[tuple[ChangePoint, ...], tuple[Candidate, ...]]:
    """A laddered part's points (``net``: its cost's drop between the neighbouring points, less
    its penalty) and candidates, named by ``namer``."""
    points, candidates = [], []
    for i, need in needed.items():
        kind, cols = namer.name(kept, i, "raw")
        score = float(run.curve[i])
        candidates.append(
            Candidate(i, run.index[i], score, need, i in kept, kind, cols, "raw", part)
        )
        if i in kept:
            a, e = around(kept, i, len(run.raw))
            points.append(
                ChangePoint(i, run.index[i], score, kind, cols, net(a, i, e), (), "raw", part)
            )
    return tuple(sorted(points, key=lambda p: p.index)), tuple(candidates)


def _placed(run: Run, points: list[ChangePoint], rows: list[int], width: int) -> list[int]:
    """``rows`` placed: the search's and the profile's on the series (placed on the series less
    its broken line they read, they lost out of fold), then the Gaussian part's on the clipped
    columns it read (a spike would pull one; one within a window of a neighbour stays)."""
    fixed = [p.index for p in points if p.part not in ("search", "profile")]
    kept = pl.relocate(rows, run.raw, width, run.size, fixed=fixed, gap=width)
    found = {p.index for p in points if p.part == "gaussian"}
    if found:
        others = [k for r, k in zip(rows, kept) if r not in found]
        kept = pl.relocate(kept, run.clipped, width, run.size, fixed=others, gap=width, stay=True)
    return kept


def union(
    run: Run, gate_feats: np.ndarray, features: Features
) -> tuple[tuple[ChangePoint, ...], tuple[Candidate, ...]]:
    """The "union" detector (the default): PELT on the columns' mean less the points a straight
    line explains (between their neighbours and the kink part's changes of slope: a line each
    side of a bend), then (series of 2+ columns) binary segmentation on a Gaussian cost with
    each segment's own mean and covariance, then the changes of slope of a broken line through
    the series (``kinked``), then the kernel search's points on the rolling statistics of the
    series less its broken line (``kink.trend`` at UNION_DETREND, a stricter penalty than the
    kink part's: a steady trend is no change to it), then the classification score profile's
    points (on that same series for ``features`` "raw", on the gate's main directions
    otherwise), each part adding only points more than one profile window from all those
    before it; the search's and the profile's points are then placed, within one profile
    window, where a Gaussian cost with each segment's own mean and covariance drops most
    (``placement.relocate``: their windows blur where a change starts), then the Gaussian
    part's the same way on the clipped columns (values and steps; the part read the steps
    alone, and its binary segmentation cuts greedily). Each point says which part found it
    (``part``) and which view (``method``: the profile on the gate is "representation").
    Candidates of all five, kept first, then by the sensitivity each needs."""
    namer = Namer.of(run)  # names the merged points; the parts leave them unnamed
    view: Features = "raw" if features == "raw" else "gate"
    edge, scale = UNION_PROFILE[PROFILE_DESIGNS[view]]
    width = prof.span(run.raw, edge)
    hinges: dict[float, list[int]] = {}  # the kink part's points per sensitivity, found once

    def kinks(s: float) -> list[int]:
        if s not in hinges:
            hinges[s] = kn.kinks(run.raw, UNION_KINK * s, run.size)
        return hinges[s]

    # the series less its broken line at UNION_DETREND x the sensitivity: the search reads it,
    # and the profile on the series (on a steady trend its windows differ by level alone)
    flat = run.raw - kn.trend(run.raw, UNION_DETREND * run.sensitivity, run.size)[1]
    parts = [
        pelted(run, UNION_PELT, Unnamed(), knots=kinks),
        gaussian(run, UNION_GAUSS, Unnamed()),
        kinked(run, UNION_KINK, Unnamed(), find=kinks),
        searched(run, gate_feats, "raw", Unnamed(), ks.PENALTY / UNION_PENALTY, flat),
        profiled(run, gate_feats, view, edge, scale, Unnamed(), flat if view == "raw" else None),
    ]
    points: list[ChangePoint] = []
    cands: list[Candidate] = []
    for p_points, p_cands in parts:
        rows = [p.index for p in points]

        def new(i: int, rows: list[int] = rows) -> bool:
            return all(abs(i - r) > width for r in rows)

        cands += [k for k in p_cands if new(k.index)]  # kept ones: the points added
        points += [p for p in p_points if new(p.index)]
    rows = sorted(p.index for p in points)  # placed, then each named between the others
    kept = _placed(run, points, rows, width)
    moved = dict(zip(rows, kept))

    def at(c: ChangePoint | Candidate) -> int:  # its row once the points are moved
        return c.index if isinstance(c, Candidate) and not c.kept else moved[c.index]

    def named(c: ChangePoint | Candidate) -> ChangePoint | Candidate:
        i = at(c)
        kind, cols = namer.name(kept, i, c.method)
        score = float(run.curve[i])
        return replace(c, index=i, time=run.index[i], score=score, kind=kind, columns=cols)

    points = sorted(map(named, points), key=lambda p: p.index)
    ranked: list[Candidate] = []  # strongest first, one per place (a profile window), the
    # kept ones where their points were moved
    for k in sorted(cands, key=lambda k: (not k.kept, k.needed, -float(run.curve[at(k)]))):
        if k.kept or all(abs(at(k) - at(r)) > width for r in ranked):
            ranked.append(k)
    return tuple(points), tuple(map(named, ranked))


def tested(run: Run, points: tuple[ChangePoint, ...]) -> tuple[Candidate, ...]:
    """Candidates for the "tests" detector: its points, the change score's peaks and the
    kernel search's liberal points, each tested between the kept points around it at every
    sensitivity of NEEDED_LADDER; ``needed`` is the lowest at which its test passes (inf: none).
    Long series are tested on block means, as ``segment`` tests them."""
    raw, names, size, curve, settings = run.raw, run.names, run.size, run.curve, run.settings
    namer = Namer.of(run)  # the series (block means beyond MAX_POINTS) as the tests read it
    z, periods, block = namer.z, list(namer.periods), namer.block
    kept = [p.index for p in points]
    liberal = ks.search(ks.series_features(raw), raw, ks.LIBERAL, size).points
    rows = set(kept) | set(peaks(curve, size)) | set(liberal)
    rows = {r for r in rows if r in kept or all(abs(r - k) > size for k in kept)}
    out = []
    for c in sorted(rows):
        a, e = around(kept, c, len(raw))
        a, b, e = a // block, c // block, -(-e // block)
        if min(b - a, e - b) < 3:
            continue
        needed, best = math.inf, None
        for level in NEEDED_LADDER:
            t = seg.weigh_split(z, a, b, e, periods, settings.strength / level, settings)
            best = best or t
            if t.evidence > 0:
                needed, best = level, t
                break
        cols = tuple(names[j] for j in (best.columns or range(len(names))))
        out.append(
            Candidate(c, run.index[c], float(curve[c]), needed, c in kept, best.kind, cols, "raw")
        )
    return tuple(sorted(out, key=lambda k: (not k.kept, k.needed, -k.score)))
