"""Change point benchmark: any TCPD-format folders and the synthetic suite, in sample and out of
fold, beside ruptures' defaults, "zero" and (on TSSB) the published scores.

    python benchmarks/changepoints.py --data ../shared/data/tcpd --data ../shared/data/tssb

Scores are F1 (margin 5) and Covering as in van den Burg & Williams (2020). A TCPD-format
folder holds one JSON per series and ``annotations.json``; a ``published.csv`` beside them
(TSSB's) adds its per-series Covering for ClaSP and PELT. Series are read as the user's rows
(missing values interpolated, no re-gridding), so the annotations' row numbers hold.

What it prints:
1. Out-of-fold selection: grouped folds by series (5, each set dealt round-robin), over the
   union of the sets. Each fold picks the design (which view the kernel search reads: the
   series' rolling statistics "raw", the model's gate "representation", or "both") and the
   penalty, by the objective on the other folds; every series is scored with its fold's pick.
   The classification score profile's designs ("profile raw", "profile representation",
   "profile both"; ``lstm_core/changepoints/profile.py``) compete too, their "penalty" being
   (fewest windows per segment, threshold multiplier), and so do the unions "raw + profile raw"
   and "raw + profile representation" (the raw search's points, and the profile's more than one
   profile window from all of them), on the joint grid (penalty, windows, threshold), "pelt"
   (PELT on the mean at the MBIC penalty / factor) and the three-part unions "pelt + raw +
   profile ..." (PELT's points, then the search's, then the profile's, each more than one
   profile window from those before; the shipped "union" detector) on the joint grid
   (factor, penalty, windows, threshold). The "union placed ..." designs (``PLACEMENTS``) are
   "pelt + raw + profile raw" ("gate union ...": "... profile representation") with some of
   its points then moved to where a Gaussian cost with each segment's own mean and covariance
   drops most (``placement.relocate``), on the same grid; "union placed, window, profile's"
   is the shipped "union" detector (the profile's points, within one profile window). The
   designs of ``changepoint_parts.DESIGNS`` add or swap parts before the search (issue 19).
   The objective: the mean over sets of the mean (F1 + Cover) / 2; in the synthetic suite
   every kind weighs the same, so the no-change controls count as one kind of seven.
2. Per set (and per set's TCPDBench-averaged series: "avg."), F1 / Cover in sample and out of fold, beside PELT, BinSeg and KernelCPD at their
   defaults, "zero" (no change point), last round's "tests" detector (series up to
   --tests-max-rows; its design was made on the TCPD series and the synthetic suite, so its
   figures there are in sample) and, on TSSB, the published ClaSP and PELT.
3. The ablation per set (each design at its own out-of-fold penalty, then in sample), with
   each design's objective over the union.
4. Per-series times of ``detect`` without a model (union, search, tests) and of the
   representation.
5. Each design's out-of-fold objective over --fold-seeds deals of the folds (mean +- sd), with
   its per-set F1 / Cover (means over the deals), and that of letting every design compete:
   how large a gap the folds alone make.
6. With --timings-only: the CLI's import time and ``detect`` on a 1,500-step series (with and
   without a model, with the shipped checkpoint), as the previous ``tcpd.py`` printed them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from changepoint_parts import DESIGNS, GATED, PELT_FACTORS, scored, union
from changepoint_times import print_times, timings

from lstm_core import changepoints as cp
from lstm_core.changepoints import pipeline, placement, profile, search, synthetic
from lstm_core.config import DataConfig
from lstm_core.data.prepare import prepare

PENALTIES = (0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.0, 16.0)
# the three-part unions with their points moved by ``placement.relocate``: (the profile's
# design; within one profile window, else between neighbours; reading the steps beside the
# values; whose points move: every part's, all but PELT's, the profile's)
PLACEMENTS = {
    "union placed": ("raw", False, True, "all"),
    "union placed, values": ("raw", False, False, "all"),
    "union placed, one window": ("raw", True, True, "all"),
    "union placed, not PELT's": ("raw", False, True, "not pelt"),
    "union placed, window, not PELT's": ("raw", True, True, "not pelt"),
    "union placed, window, profile's": ("raw", True, True, "profile"),
    "gate union placed, window, profile's": ("representation", True, True, "profile"),
}
VIEWS = (
    "raw", "representation", "both", "profile raw", "profile representation", "profile both",
    "raw + profile raw", "raw + profile representation", "pelt",
    "pelt + raw + profile raw", "pelt + raw + profile representation",
    *PLACEMENTS, *DESIGNS, *(f"gate {d}" for d in GATED),
)  # fmt: skip
THRESHOLDS = (0.2, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0)  # x profile.THRESHOLD
EDGES = (5, 2)  # fewest windows per segment: ClaSP's 5, or 2
BASELINES = ("zero", "pelt", "binseg", "kernel", "tests")
FOLDS = 5


@dataclass
class Case:
    """One benchmark series: its values in the user's rows and its annotations."""

    name: str
    group: str  # the folder's name, or "synthetic"
    kind: str  # the synthetic kind ("none" for controls), else the group
    raw: np.ndarray  # (T, K)
    known: object  # {annotator: [rows]} or [rows]
    published: dict = field(default_factory=dict)  # method -> Covering (TSSB)
    gate: np.ndarray | None = None  # (T, 2H) the detection model's stitched gate
    seconds: dict = field(default_factory=dict)


def folder_cases(root: Path) -> list[Case]:
    """Every series of a TCPD-format folder (univariate and multivariate alike)."""
    annotations = json.loads((root / "annotations.json").read_text())
    published = {}
    if (root / "published.csv").exists():
        table = pd.read_csv(root / "published.csv").set_index("dataset")
        published = table.to_dict(orient="index")
    out = []
    for path in sorted(root.glob("*.json")):
        if path.stem == "annotations" or path.stem not in annotations:
            continue
        doc = json.loads(path.read_text())
        cols = {
            i: [np.nan if v is None else float(v) for v in s["raw"]]
            for i, s in enumerate(doc["series"])
        }
        raw = pd.DataFrame(cols).interpolate(limit_direction="both").to_numpy(np.float64)
        out.append(
            Case(
                path.stem,
                root.name,
                root.name,
                raw,
                annotations[path.stem],
                published.get(path.stem, {}),
            )
        )
    return out


def synthetic_cases() -> list[Case]:
    return [
        Case(s.name, "synthetic", s.kind, s.signal, list(s.change_points))
        for s in synthetic.suite()
    ]


def placer(case: Case):
    """``placed(points, name, width, pelt, searched)``: the union's points moved as
    PLACEMENTS[name] says (``width`` rows: one profile window; ``pelt`` and ``searched``: the
    points of PELT and of the search, the rest being the profile's), cached per point set."""
    cache: dict = {}
    size = min_size(case)

    def placed(points: list[int], name: str, width: int, pelt: list[int], searched: list[int]):
        _, window, steps, moves = PLACEMENTS[name]
        stay = {"all": (), "not pelt": pelt, "profile": [*pelt, *searched]}[moves]
        fixed = tuple(p for p in points if p in stay)
        radius, gap = (width, width) if window else (None, 0)  # gap: as the union's
        key = (tuple(points), radius, steps, fixed)
        if key not in cache:
            cache[key] = placement.relocate(points, case.raw, radius, size, steps, fixed, gap)
        return cache[key]

    return placed


def averaged(case: Case) -> bool:
    """In TCPDBench's averages: univariate, and not its quality_control demos or uk_coal_employ."""
    return (
        case.raw.shape[1] == 1
        and not case.name.startswith("quality_control")
        and (case.name != "uk_coal_employ")
    )


def set_rows(cases: list[Case]) -> list[tuple[str, list[Case]]]:
    """(label, series) per set, then per set its TCPDBench-averaged series ("avg.")."""
    rows = [(g, [c for c in cases if c.group == g]) for g in sorted({c.group for c in cases})]
    return rows + [
        (f"{g} avg.", [c for c in m if averaged(c)])
        for g, m in rows
        if g != "synthetic" and 0 < sum(averaged(c) for c in m) < len(m)
    ]


def frame(case: Case) -> pd.DataFrame:
    return pd.DataFrame(case.raw, columns=[f"c{j}" for j in range(case.raw.shape[1])])


def min_size(case: Case) -> int:
    return max(2, min(5, len(case.raw) // 4))


def representation(case: Case, cache: Path | None) -> None:
    """Train the detection model on the series (as ``detect`` does) and keep its gate; a
    cached gate (.npy) is read instead when ``cache`` holds one."""
    # "all-targets": the detection model forecasts every column (since 2026-12-06; before, the
    # first from all), so a cache of the older gates is not read by mistake
    path = cache / f"{case.group}__{case.name}__all-targets.npy" if cache else None
    if path is not None and path.exists():
        case.gate = np.load(path, allow_pickle=False)
        return
    cols = [f"c{j}" for j in range(case.raw.shape[1])]
    prep = prepare(
        pd.DataFrame(case.raw, columns=cols),
        DataConfig(targets=tuple(cols), covariates=()),  # every column, as detect() does
    )
    if len(prep.frame) < pipeline.MIN_ROWS_MODEL:
        return
    start = time.perf_counter()
    _, tr = pipeline._model_trace(prep, None, None, None, [])
    case.seconds["representation"] = time.perf_counter() - start
    case.gate = tr.gate.astype(np.float32)
    if path is not None:
        np.save(path, case.gate)


def views(case: Case) -> dict[str, np.ndarray]:
    raw = search.series_features(case.raw)
    out = {"raw": raw}
    if case.gate is not None:
        g = cp.gate_components(case.gate)
        out |= {"representation": g, "both": np.column_stack([raw, g])}
    else:  # too short for a network: detect() reads the series alone too
        out |= {"representation": raw, "both": raw}
    return out


def f1_cover(case: Case, points: list[int]) -> tuple[float, float]:
    m = cp.score(case.known, points, len(case.raw))  # type: ignore[arg-type]
    return m.f1, m.covering


def objective(rows: dict[str, tuple[float, float]], cases: list[Case]) -> float:
    parts = []
    for group in sorted({c.group for c in cases}):
        members = [c for c in cases if c.group == group]
        kinds = sorted({c.kind for c in members})
        parts.append(
            np.mean(
                [np.mean([sum(rows[c.name]) / 2 for c in members if c.kind == k]) for k in kinds]
            )
        )
    return float(np.mean(parts))


def fold_of(cases: list[Case], seed: int = 0) -> dict[str, int]:
    out = {}
    for group in sorted({c.group for c in cases}):
        members = [c for c in cases if c.group == group]
        order = np.random.default_rng(seed).permutation(len(members))
        for j, i in enumerate(order):
            out[members[i].name] = j % FOLDS
    return out


def out_of_fold(scores: dict, options: list, cases: list[Case], folds: dict[str, int]):
    """Every series scored with the option picked on the other folds; the picks per fold."""
    oof, picks = {}, []
    for k in range(FOLDS):
        train = [c for c in cases if folds[c.name] != k]
        best = max(options, key=lambda o: objective(scores[o], train))
        picks.append(best)
        for c in cases:
            if folds[c.name] == k:
                oof[c.name] = scores[best][c.name]
    return oof, picks


def mean_pair(rows: dict, members: list[Case]) -> str:
    v = np.mean([rows[c.name] for c in members if c.name in rows], axis=0)
    return f"{v[0]:.2f} / {v[1]:.2f}" if np.ndim(v) else "-"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", default=[], help="a TCPD-format folder (repeat)")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--no-representation", action="store_true", help="skip training models")
    ap.add_argument("--cache", help="folder for the trained gates (.npy), reused when present")
    ap.add_argument(
        "--tests-max-rows",
        type=int,
        default=3000,
        help="last round's detector runs on series up to this many rows",
    )
    ap.add_argument("--times", action="store_true", help="print every series' times")
    ap.add_argument(
        "--fold-seeds",
        type=int,
        default=6,
        help="deals of the grouped folds for the objective's spread (0: skip)",
    )
    ap.add_argument(
        "--timings-only",
        action="store_true",
        help="only the CLI's import time and detect() on a 1,500-step series",
    )
    return ap.parse_args(argv)


def score_cases(cases: list[Case], args: argparse.Namespace) -> tuple[dict, dict]:
    """(F1 / Cover of each (view, penalty) per series, of each baseline per series); times
    land in each case's ``seconds``."""
    cache = Path(args.cache) if args.cache else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    scores: dict = {}
    base: dict = {m: {} for m in BASELINES}
    for c in cases:
        if not args.no_representation:
            representation(c, cache)
        searched: dict = {}  # the raw search's points per penalty, for the unions
        for view, feats in views(c).items():
            for pen, pts in search.path(feats, c.raw, PENALTIES, min_size(c)).items():
                scores.setdefault((view, pen), {})[c.name] = f1_cover(c, pts)
                if view == "raw":
                    searched[pen] = pts
        rep = cp.gate_components(c.gate) if c.gate is not None else None
        placed, profiles = placer(c), {}  # the raw profile's (window, points) per (edge, t)
        gated = {}  # the gate profile's, the same way
        pelt = {f: cp.classical(c.raw, "pelt", f, min_size(c)) for f in PELT_FACTORS}
        for f, pts in pelt.items():
            scores.setdefault(("pelt", f), {})[c.name] = f1_cover(c, pts)
        for design, edge in itertools.product(("raw", "representation", "both"), EDGES):
            t0 = time.perf_counter()
            width = profile.span(c.raw, edge)  # a profile point this close to a search's repeats it
            for t, kept in profile.path(c.raw, THRESHOLDS, rep, design, edge).items():
                pts = [n.index for n in kept]
                profiles |= {(edge, t): (width, pts)} if design == "raw" else {}
                gated |= {(edge, t): (width, pts)} if design == "representation" else {}
                scores.setdefault((f"profile {design}", (edge, t)), {})[c.name] = f1_cover(c, pts)
                if design == "both":
                    continue
                for pen, sp in searched.items():  # the joint grid: (penalty, edge, threshold)
                    key = (f"raw + profile {design}", (pen, edge, t))
                    scores.setdefault(key, {})[c.name] = f1_cover(c, union(sp, pts, width))
                    for f, pp in pelt.items():  # (factor, penalty, edge, threshold)
                        three = union(union(pp, sp, width), pts, width)
                        key = (f"pelt + raw + profile {design}", (f, pen, edge, t))
                        scores.setdefault(key, {})[c.name] = f1_cover(c, three)
                        for name in (n for n, o in PLACEMENTS.items() if o[0] == design):
                            moved = placed(three, name, width, pp, sp)
                            key = (name, (f, pen, edge, t))
                            scores.setdefault(key, {})[c.name] = f1_cover(c, moved)
            c.seconds[f"profile {design}"] = time.perf_counter() - t0  # the last edge's
        shared: dict = {}  # the parts' points and placements, for both calls
        rated = scored(c.raw, min_size(c), searched, profiles, partial(f1_cover, c), shared=shared)
        if not args.no_representation:  # GATED's designs, their profile on the gate (on a
            # series too short for a model, the series' views at the grid's windows and
            # thresholds; detect() reads it at the raw profile's (2, 3.0) there)
            rate = partial(f1_cover, c)
            rated |= scored(c.raw, min_size(c), searched, gated, rate, GATED, "gate ", shared)
        for key, v in rated.items():  # changepoint_parts.DESIGNS
            scores.setdefault(key, {})[c.name] = v
        for det in ("search", "union"):  # without a model: its time is "representation"'s
            t0 = time.perf_counter()
            cols = list(frame(c).columns)
            pipeline.detect(frame(c), columns=cols, detector=det, features="raw")
            c.seconds[det] = time.perf_counter() - t0
        for m in BASELINES[:4]:
            pts = [] if m == "zero" else cp.classical(c.raw, m, min_size=2)
            base[m][c.name] = f1_cover(c, pts)
        if len(c.raw) <= args.tests_max_rows:
            t0 = time.perf_counter()
            cols = list(frame(c).columns)  # every column, as the designs above read them
            found = pipeline.detect(frame(c), columns=cols, detector="tests").change_points
            c.seconds["tests"] = time.perf_counter() - t0
            base["tests"][c.name] = f1_cover(c, [p.index for p in found])
    return scores, base


def print_scores(
    cases: list[Case], scores: dict, base: dict, best: tuple, oof: dict, max_rows: int
) -> None:
    """The main table: each set's F1 / Cover in sample, out of fold and of the baselines."""
    head = f"{'set':12s} {'n':>3s} {'in sample':>12s} {'out of fold':>12s} " + " ".join(
        f"{m:>12s}" for m in BASELINES
    )
    print(f"F1 / Cover (tests: last round's detector, series <= {max_rows} rows only)\n" + head)
    for g, members in set_rows(cases):
        print(
            f"{g:12s} {len(members):3d} {mean_pair(scores[best], members):>12s} "
            f"{mean_pair(oof, members):>12s} "
            + " ".join(f"{mean_pair(base[m], members):>12s}" for m in BASELINES)
        )
        ran = [c for c in members if c.name in base["tests"]]
        if 0 < len(ran) < len(members):
            print(
                f"{'':12s} on the {len(ran)} series tests ran on: search in sample "
                f"{mean_pair(scores[best], ran)}, out of fold {mean_pair(oof, ran)}, tests "
                f"{mean_pair(base['tests'], ran)}"
            )
        if members[0].published and not g.endswith("avg."):
            pub = {k: np.mean([c.published[k] for c in members]) for k in ("ClaSP", "PELT")}
            print(f"{'':12s} published Cover: ClaSP {pub['ClaSP']:.2f}, PELT {pub['PELT']:.2f}")


def print_ablation(cases: list[Case], scores: dict, options: list, folds, use: tuple) -> None:
    """Each view alone, out of fold, at the penalty its folds pick."""
    print("\n== ablation, out of fold (each view at the penalty its folds pick), F1 / Cover")
    print(f"{'set':12s} " + " ".join(f"{v:>16s}" for v in use))
    ablation = {
        v: out_of_fold(scores, [o for o in options if o[0] == v], cases, folds) for v in use
    }
    for g, members in set_rows(cases):
        print(f"{g:12s} " + " ".join(f"{mean_pair(ablation[v][0], members):>16s}" for v in use))
    inside = {
        v: max((o for o in options if o[0] == v), key=lambda o: objective(scores[o], cases))
        for v in use
    }
    print("in sample (each view at its best penalty over all series)")
    for g, members in set_rows(cases):
        print(f"{g:12s} " + " ".join(f"{mean_pair(scores[inside[v]], members):>16s}" for v in use))
    for v in use:
        print(
            f"  {v}: penalty per fold {[p for _, p in ablation[v][1]]}, out-of-fold objective "
            f"over the union {objective(ablation[v][0], cases):.3f}; in sample {inside[v][1]}, "
            f"{objective(scores[inside[v]], cases):.3f}"
        )


def print_fold_seeds(cases: list[Case], scores: dict, options: list, use: tuple, n: int) -> None:
    """Each design's out-of-fold objective (and per set) over ``n`` deals of the folds: how much
    of a gap between two designs the choice of folds alone makes."""
    print(f"\n== out-of-fold objective over {n} deals of the grouped folds: mean +- sd")
    groups = sorted({c.group for c in cases})
    print(
        f"{'design':40s} {'objective':>14s} "
        + " ".join(f"{g + ' F1 / Cover':>22s}" for g in groups)
    )
    results: dict[str, list] = {}
    for seed in range(n):
        folds = fold_of(cases, seed)
        for v in (*use, "every design competing"):
            opts = options if v == "every design competing" else [o for o in options if o[0] == v]
            rows, _ = out_of_fold(scores, opts, cases, folds)
            per_set = [
                np.mean([rows[c.name] for c in cases if c.group == g], axis=0) for g in groups
            ]
            results.setdefault(v, []).append([objective(rows, cases), *np.ravel(per_set)])
    for v, r in results.items():
        a = np.array(r)
        m = a[:, 1:].mean(axis=0)
        print(
            f"{v:40s} {a[:, 0].mean():.3f} +- {a[:, 0].std():.3f} "
            + " ".join(f"{m[2 * j]:10.3f} / {m[2 * j + 1]:.3f}" for j in range(len(groups)))
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    if args.timings_only:
        timings()
        return 0
    start = time.perf_counter()
    cases = [c for d in args.data for c in folder_cases(Path(d))]
    if not args.no_synthetic:
        cases += synthetic_cases()
    scores, base = score_cases(cases, args)
    print(f"{len(cases)} series scored in {time.perf_counter() - start:.0f} s")
    folds = fold_of(cases)
    raw = ("raw", "profile raw", "raw + profile raw", "pelt", "pelt + raw + profile raw")
    gateless = (*raw, *(n for n in PLACEMENTS if "gate" not in n), *DESIGNS)
    use = gateless if args.no_representation else VIEWS
    options = [o for o in scores if o[0] in use]
    best = max(options, key=lambda o: objective(scores[o], cases))
    oof, picks = out_of_fold(scores, options, cases, folds)
    print(
        f"\n== design and penalty: in sample {best[0]} x {best[1]}; per fold "
        + ", ".join(f"{v} x {p}" for v, p in picks)
    )
    print_scores(cases, scores, base, best, oof, args.tests_max_rows)
    print_ablation(cases, scores, options, folds, use)
    if args.fold_seeds:
        print_fold_seeds(cases, scores, options, use, args.fold_seeds)
    print_times(cases, args.times, ("union", "search", "tests", "representation", *VIEWS[3:]))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
