"""Other parts for the union that ``benchmarks/changepoints.py`` scores beside the shipped one
(issue 19: slope changes, trending series, changes of correlation), and the union itself.

Each design of ``DESIGNS`` is the shipped union ("union placed, window, profile's": PELT on the
mean, then the kernel search, then the classification score profile, each part adding points
more than one profile window from earlier ones, the profile's points then placed within one
window by the Gaussian cost) with other parts before the search:
- "union, lines": PELT's points a straight line explains dropped (``linear.line_kept``: one
  line between the neighbouring points fits as well as a mean either side). No constant.
- "union, linear PELT": piecewise-linear PELT (``linear.linear_pelt``: each segment its own
  line) in place of PELT on the mean, at a learned factor.
- "union, gaussian": PELT, then binary segmentation on the placement's Gaussian cost (each
  segment's own mean and covariance of the values and their steps: ``placement.binseg``) on
  series of 2+ columns, at a learned factor; "union, gaussian, every series": on all series.
- "union, lines + gaussian": both of the first and the third; "..., detrended": its Gaussian
  part reads each column less one line over the series (``linear.detrended``); "... on steps":
  on the columns' first differences alone (``placement.steps_of``).
- "..., kinks": the shipped design's parts, then changes of slope (``kink.kinks``: a line plus
  hinges and steps chosen forward at a BIC penalty in long-run noise units, the hinges'
  knots kept), at a learned factor; "..., search detrended": the kernel search reads the
  series less ``kink.trend``'s broken line (at the BIC penalty; none when no slope pays);
  "..., search and profile detrended": the profile reads it too; "..., all detrended": PELT
  (and its line filter) too; "..., long-run PELT": PELT in the noise's long-run units;
  "..., broken lines": the line filter judges PELT's points with the kink part's hinges as
  fixed edges (``linear.line_kept``'s knots: one line each side of a bend), no new constant;
  "..., search less kinks": the kernel search reads the series less the kink part's own broken
  line (``kink.trend`` at the kink part's factor; "search detrended" fits its own at 1);
  "..., clipped": the Gaussian part reads the series with isolated outliers pulled in
  (``robust.clip_outliers``: heavy-tailed noise makes its steps' covariance jump), no new
  constant; "..., placed on clipped": the Gaussian part's points are then placed as the
  profile's, on the clipped columns it read, once the profile's are placed (its binary
  segmentation on the steps alone cuts greedily), no new constant; "..., search placed": the
  kernel search's points are placed with the profile's (its rolling windows blur where a
  change starts, as the profile's do), no new constant; "..., on flat": both placed on the
  series less its broken line, as they read it (on a trend the raw values make a cut near
  the middle of a stretch look good).
Each learns its factors on the same grid as the shipped design's other constants.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable

import numpy as np
import ruptures as rpt

from lstm_core import changepoints as cp
from lstm_core.changepoints import placement, profile, search
from lstm_core.changepoints.classical import blocked
from lstm_core.changepoints.features import standardise
from lstm_core.changepoints.kink import kinks, long_run_variance, trend
from lstm_core.changepoints.linear import detrended, line_kept, linear_pelt
from lstm_core.changepoints.robust import clip_outliers

PELT_FACTORS = (0.18, 0.25, 0.35, 0.5, 0.7)  # x the sensitivity: PELT's penalty / factor
GAUSS_FACTORS = (0.25, 0.5, 1.0)  # x the sensitivity: the Gaussian part's BIC penalty / factor
KINK_FACTORS = (0.25, 0.35, 0.5, 1.0)  # x the sensitivity: the kink part's BIC penalty / factor
Find = Callable[[np.ndarray, float, int], list[int]]  # (raw (T, K), factor, min size) -> rows


def _pelt(raw: np.ndarray, f: float, size: int) -> list[int]:
    return cp.classical(raw, "pelt", f, size)


def _gaussian(raw: np.ndarray, f: float, size: int, steps_only: bool = False) -> list[int]:
    return placement.binseg(raw, f, size, steps_only) if raw.shape[1] > 1 else []


def _flat_lines(raw: np.ndarray, f: float, size: int) -> list[int]:
    flat = raw - trend(raw, 1.0, size)[1]
    return line_kept(flat, _pelt(flat, f, size))


def _long_run_pelt(raw: np.ndarray, f: float, size: int) -> list[int]:
    """PELT on the mean (MBIC penalty / f) with each column in units of its noise's long-run
    spread (``kink.long_run_variance``: AR(1) wander raises it, level shifts barely move it),
    not of its total spread, then the line filter."""
    z, block, sz = blocked(standardise(np.asarray(raw, dtype=np.float64)), size)
    n, d = z.shape
    if n < 2 * sz:
        return []
    z = z / np.sqrt(long_run_variance(z))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pen = (2 + d) * math.log(n) / f
        bkps = rpt.KernelCPD(kernel="linear", min_size=sz).fit(z).predict(pen=pen)[:-1]
    return line_kept(raw, [int(b) * block for b in bkps])


# part -> (its factors, how it finds points)
PARTS: dict[str, tuple[tuple[float, ...], Find]] = {
    "pelt": (PELT_FACTORS, _pelt),
    "lines": (PELT_FACTORS, lambda raw, f, size: line_kept(raw, _pelt(raw, f, size))),
    "linear": ((0.5, 0.7, 1.0, 1.4, 2.0), linear_pelt),
    "gaussian": (GAUSS_FACTORS, _gaussian),
    "gaussian, all": ((0.06, 0.12, 0.25, 0.5), lambda raw, f, s: placement.binseg(raw, f, s)),
    "gaussian, detrended": (GAUSS_FACTORS, lambda raw, f, s: _gaussian(detrended(raw), f, s)),
    "gaussian, steps": ((0.5, 1.0, 2.0), lambda raw, f, s: _gaussian(raw, f, s, True)),
    "gaussian, steps, clipped": (
        (0.5, 1.0, 2.0),
        lambda raw, f, s: _gaussian(clip_outliers(raw), f, s, True),
    ),
    "kinks": (KINK_FACTORS, kinks),
    "lines, detrended": (PELT_FACTORS, _flat_lines),
    "lines, long-run": ((0.05, 0.1, 0.18, 0.35, 0.7), _long_run_pelt),
}
KINKED = ("lines", "gaussian, steps", "kinks")
CLIPPED = ("lines", "gaussian, steps, clipped", "kinks")
# design -> its parts before the search and the profile, in order
DESIGNS = {
    "union, lines": ("lines",),
    "union, linear PELT": ("linear",),
    "union, gaussian": ("pelt", "gaussian"),
    "union, gaussian, every series": ("pelt", "gaussian, all"),
    "union, lines + gaussian": ("lines", "gaussian"),
    "union, lines + gaussian, detrended": ("lines", "gaussian, detrended"),
    "union, lines + gaussian on steps": ("lines", "gaussian, steps"),
    "union, ... on steps, kinks": ("lines", "gaussian, steps", "kinks"),
    "union, ... on steps, search detrended": ("lines", "gaussian, steps"),
    "union, ... on steps, kinks, search detrended": ("lines", "gaussian, steps", "kinks"),
    "union, ... on steps, search and profile detrended": ("lines", "gaussian, steps"),
    "union, ... on steps, kinks, search and profile detrended": KINKED,
    "union, ... on steps, kinks, all detrended": ("lines, detrended", *KINKED[1:]),
    "union, ... on steps, kinks, long-run PELT": ("lines, long-run", *KINKED[1:]),
    "union, ... on steps, kinks, broken lines": KINKED,
    "union, ... on steps, kinks, broken lines, search less kinks": KINKED,
    "union, ... on steps, kinks, broken lines, search detrended": KINKED,
    "union, ... on steps, kinks, broken lines, search detrended, clipped": CLIPPED,
    "union, ... on steps, kinks, broken lines, search detrended, clipped, placed on clipped": (
        CLIPPED
    ),
    "union, ... on steps, kinks, broken lines, clipped, placed on clipped, "
    "search and profile detrended": CLIPPED,
    "union, ... on steps, kinks, broken lines, search detrended, clipped, placed on clipped, "
    "search placed": CLIPPED,
    "union, ... on steps, kinks, broken lines, clipped, placed on clipped, "
    "search and profile detrended, search placed": CLIPPED,
    "union, ... on steps, kinks, broken lines, clipped, placed on clipped, "
    "search and profile detrended, search placed, on flat": CLIPPED,
}
# the design ``detect``'s union is with features "raw", at the constants of ``detectors`` (its
# test: tests/test_profile.py)
SHIPPED = (
    "union, ... on steps, kinks, broken lines, clipped, placed on clipped, "
    "search and profile detrended, search placed"
)
assert SHIPPED in DESIGNS
# the designs whose line filter reads PELT's points between the kink part's hinges as well
# (``linear.line_kept``'s knots: a line on each side of a bend, not one across it)
BROKEN = {d for d in DESIGNS if "broken lines" in d}
assert all(DESIGNS[d] in (KINKED, CLIPPED) for d in BROKEN), "scored reads PELT's, kinks' factors"
# designs also scored with their profile on the detection model's gate ("gate " + the name)
GATED = (
    "union, ... on steps, kinks",
    "union, ... on steps, kinks, broken lines, search less kinks",
    "union, ... on steps, kinks, broken lines, search detrended",
    "union, ... on steps, kinks, broken lines, search detrended, clipped",
    "union, ... on steps, kinks, broken lines, search detrended, clipped, placed on clipped",
    # the next: the gate's profile is not detrended, so this is the gate view of the design
    # with the search and the profile detrended and the search placed
    (
        "union, ... on steps, kinks, broken lines, search detrended, clipped, placed on clipped, "
        "search placed"
    ),
)
assert set(GATED) <= set(DESIGNS), "the gate's designs are scored on the series too"
# ``detect``'s default (features "combined"): SHIPPED with its profile on the detection model's
# gate ("gate " + this name; the gate's profile is not detrended), its test in
# tests/test_profile.py
SHIPPED_GATE = GATED[-1]
# the designs whose search reads the series less the kink part's own broken line (at its factor)
LESS_KINKS = {d for d in DESIGNS if d.endswith("search less kinks")}
assert all(DESIGNS[d] == KINKED for d in LESS_KINKS), "scored reads the kinks' factor"
# the designs whose search (and profile) read the series less kink.trend's broken line
FLAT_PROFILE = {d for d in DESIGNS if "profile detrended" in d or d.endswith("all detrended")}
DETRENDED = {d for d in DESIGNS if "search detrended" in d} | FLAT_PROFILE
assert not FLAT_PROFILE & set(GATED), "scored would swap the gate's profile for the series'"
# the designs whose Gaussian part's points (their second part's) are placed as the profile's,
# on the clipped columns, after the profile's
PLACED = {d for d in DESIGNS if ", placed on clipped" in d}
# the designs whose search's points are placed with the profile's (the search reads rolling
# statistics, whose windows blur where a change starts, as the profile's do)
SEARCH_PLACED = {d for d in DESIGNS if "search placed" in d}
# the designs whose search's and profile's points are placed on the series less its broken line
# (on a trend the raw values make a cut near the middle of a stretch look good)
ON_FLAT = {d for d in DESIGNS if d.endswith(", on flat")}
assert all(DESIGNS[d][1].startswith("gaussian") for d in PLACED), "scored moves the second part's"


def union(search_points: list[int], profile_points: list[int], margin: int) -> list[int]:
    """The search's points, and the profile's more than ``margin`` rows from all of them."""
    extra = [p for p in profile_points if all(abs(p - q) > margin for q in search_points)]
    return sorted([*search_points, *extra])


def _broken(found: dict, raw: np.ndarray, size: int, pelt_f: float, kink_f: float) -> list[int]:
    """PELT's points at ``pelt_f`` less those a line explains between their neighbours and the
    kink part's hinges at ``kink_f`` (BROKEN's line filter), kept in ``found``."""
    key = ("broken", pelt_f, kink_f)
    if key not in found:
        for p, f, find in (("pelt", pelt_f, _pelt), ("kinks", kink_f, kinks)):
            if (p, f) not in found:
                found[(p, f)] = find(raw, f, size)
        pelt, knots = found[("pelt", pelt_f)], found[("kinks", kink_f)]
        found[key] = line_kept(raw, pelt, knots=tuple(knots), near=size)
    return found[key]


def _less_kinks(
    raw: np.ndarray, size: int, searched: dict[float, list[int]], kink_f: float
) -> dict[float, list[int]]:
    """The kernel search's points per penalty on the series less the kink part's broken line
    at ``kink_f`` (LESS_KINKS): ``searched`` itself when there is none."""
    rest = raw - trend(raw, kink_f, size)[1]
    if np.array_equal(rest, raw):
        return searched
    return search.path(search.series_features(rest), rest, tuple(searched), size)


def _placed_clipped(
    shared: dict, raw: np.ndarray, size: int, width: int, every: list, rows: list, free: list
) -> list[int]:
    """PLACED's second step: the Gaussian part's points ``free`` (rows of ``every``, left in
    place by the profile's placement ``rows``) placed on the clipped columns, the rest fixed."""
    key = ("clipped", tuple(rows), width, tuple(free))
    if key not in shared:
        if "clipped" not in shared:
            shared["clipped"] = clip_outliers(raw)
        others = [k for r, k in zip(every, rows) if r not in free]
        clipped = shared["clipped"]
        shared[key] = placement.relocate(rows, clipped, width, size, True, others, width, True)
    return shared[key]


def _rows(
    shared: dict,
    raw: np.ndarray,
    size: int,
    design: str,
    firsts: list[list[int]],
    sp: list[int],
    prof: list[int],
    width: int,
    on_flat: bool = False,
) -> list[int]:
    """A design's points: its parts' (``firsts``), the search's (``sp``) and the profile's
    (``prof``), each part adding those more than ``width`` rows from all before, then placed:
    the profile's (SEARCH_PLACED: and the search's) on the series (``on_flat``: on
    ``shared``'s series less its broken line), then (PLACED) the Gaussian part's on the
    clipped columns."""
    fixed: list[int] = []
    free: list[int] = []  # PLACED: the Gaussian part's points the union kept
    held: list[int] | None = None  # SEARCH_PLACED: the points before the search's
    for k, pts in enumerate((*firsts, sp)):
        if k == len(firsts) and design in SEARCH_PLACED:
            held = fixed
        before, fixed = fixed, union(fixed, pts, width)
        if k == 1 and design in PLACED:
            free = sorted(set(fixed) - set(before))
    every = union(fixed, prof, width)
    held = fixed if held is None else held
    key = (tuple(every), width, tuple(held), on_flat)
    moved: dict[tuple, list[int]] = shared.setdefault("moved", {})  # placements, per point set
    if key not in moved:
        x = shared["flat"] if on_flat else raw
        moved[key] = placement.relocate(every, x, width, size, True, held, width)
    rows = moved[key]
    if free:  # then the Gaussian part's, on the clipped columns
        rows = _placed_clipped(shared, raw, size, width, every, rows, free)
    return rows


def scored(
    raw: np.ndarray,
    size: int,
    searched: dict[float, list[int]],
    profiles: dict[tuple[int, float], tuple[int, list[int]]],
    rate: Callable[[list[int]], tuple[float, float]],
    designs: tuple[str, ...] = tuple(DESIGNS),
    prefix: str = "",
    shared: dict | None = None,
) -> dict[tuple, tuple[float, float]]:
    """Each design's score (``rate``: F1 and Cover of the points) at each point of its grid
    (its parts' factors, the search's penalty, the profile's fewest windows and threshold).

    Args:
        raw: (T, K) the series.
        size: fewest rows between points.
        searched: the kernel search's points per penalty.
        profiles: the profile's (width of one window, points) per (fewest windows, threshold).
        rate: F1 and Cover of a list of points.
        designs: the designs of ``DESIGNS`` to score.
        prefix: before each design's name in the keys ("gate " with the gate's profiles).
        shared: what calls on the same series (and search) reuse: the parts' points, the
            detrended searches and the placements, filled in here.
    """
    shared = {} if shared is None else shared
    found: dict[tuple, list[int]] = shared.setdefault("found", {})
    if "flat" not in shared:  # the series less its broken line, for DETRENDED
        shared["flat"] = raw - trend(raw, 1.0, size)[1]
    flat = shared["flat"]
    same = np.array_equal(flat, raw)
    level = searched if same else shared.get("level")
    flat_profiles = profiles if same else None
    less: dict[float, dict] = shared.setdefault("less", {})  # LESS_KINKS' paths per kink factor
    out = {}
    for design in designs:
        parts = DESIGNS[design]
        for fs in itertools.product(*(PARTS[p][0] for p in parts)):
            firsts = []
            for p, f in zip(parts, fs):
                if (p, f) not in found:
                    found[(p, f)] = PARTS[p][1](raw, f, size)
                firsts.append(found[(p, f)])
            if design in BROKEN:  # parts KINKED: PELT's factor fs[0], the kinks' fs[2]
                firsts[0] = _broken(found, raw, size, fs[0], fs[2])
            if design in DETRENDED and level is None:
                feats = search.series_features(flat)
                level = shared["level"] = search.path(feats, flat, tuple(searched), size)
            if design in FLAT_PROFILE and flat_profiles is None:  # the raw profile's widths
                flat_profiles = {}
                for edge in sorted({e for e, _ in profiles}):
                    ts = tuple(sorted({t for e, t in profiles if e == edge}))
                    for t, kept in profile.path(flat, ts, None, "raw", edge).items():
                        flat_profiles[(edge, t)] = (profiles[(edge, t)][0], [k.index for k in kept])
            paths = level if design in DETRENDED else searched
            if design in LESS_KINKS:  # parts KINKED: the kinks' factor fs[2]
                if fs[2] not in less:
                    less[fs[2]] = _less_kinks(raw, size, searched, fs[2])
                paths = less[fs[2]]
            use = flat_profiles if design in FLAT_PROFILE else profiles
            on_flat = design in ON_FLAT and not same  # the series less its line differs
            for (edge, t), (width, prof) in use.items():
                for pen, sp in paths.items():
                    rows = _rows(shared, raw, size, design, firsts, sp, prof, width, on_flat)
                    out[(prefix + design, (*fs, pen, edge, t))] = rate(rows)
    return out
