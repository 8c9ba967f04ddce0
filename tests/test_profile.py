"""The classification score profile: neighbours, the profile's peak, the learned threshold."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lstm_core import changepoints as cp
from lstm_core.changepoints import profile as P
from lstm_core.cli import main
from lstm_core.config import DataConfig
from lstm_core.data import load_demo
from lstm_core.data.prepare import prepare


def two_shapes(n: int = 1200, change: int = 700, seed: int = 0) -> np.ndarray:
    """A sine, then a square wave of the same period scaled to the same mean and spread."""
    t = np.arange(n)
    a = np.sin(2 * np.pi * t[:change] / 30)
    b = np.sign(np.sin(2 * np.pi * t[change:] / 30))
    b = (b - b.mean()) / b.std() * a.std() + a.mean()
    return np.concatenate([a, b]) + 0.1 * np.random.default_rng(seed).normal(size=n)


def test_neighbours_match_a_brute_force_search():
    x = np.random.default_rng(1).normal(size=(120, 2))
    w, k = 8, 3
    nn = P.neighbours(x, w, k, normalise=True)
    subs = np.lib.stride_tricks.sliding_window_view(x, w, axis=0)  # (n, 2, w)
    z = (subs - subs.mean(axis=2, keepdims=True)) / subs.std(axis=2, keepdims=True)
    d = ((z[:, None] - z[None]) ** 2).sum(axis=(2, 3))  # (n, n)
    for i in range(len(d)):
        d[i, max(0, i - w + 1) : i + w] = np.inf
    expected = np.argsort(d, axis=1, kind="stable")[:, :k]
    assert (nn == expected).mean() > 0.99  # ties aside, the same neighbours in the same order


def test_a_constant_stretch_far_into_the_series_is_flat_and_its_neighbours_flat():
    """An exactly constant stretch (a forward-filled gap) deep into a long series: its
    subsequences are flat however far the running sums have grown, so their nearest
    neighbours are the other flat subsequences, never noise divided by a tiny spread."""
    w = 16
    for seed, n in ((0, 2000), (2, 4000)):
        y = np.random.default_rng(seed).normal(size=n)
        y[-500 : -500 + 8 * w] = y[-500]  # running sums' rounding left it 1e-8 short of flat
        nn = P.neighbours(y, w)
        flat = np.ptp(np.lib.stride_tricks.sliding_window_view(y, w), axis=1) == 0
        assert flat.sum() == 7 * w + 1 and flat[nn[flat]].all()


def test_profile_peaks_at_a_change_of_shape_with_the_same_mean_and_spread():
    x = two_shapes()
    w = P.window(x)
    pr = P.profile(x, w)
    split = int(np.nanargmax(pr)) + w // 2
    assert abs(split - 700) <= 2 * w
    assert np.nanmax(pr) > 0.9


def test_segment_finds_the_change_of_shape_within_a_few_windows():
    x = two_shapes()
    found = P.segment(x)
    assert len(found) == 1 and abs(found[0] - 700) <= 2 * P.window(x)


def test_pure_noise_gets_no_change_point():
    for seed in range(3):
        assert P.segment(np.random.default_rng(seed).normal(size=1500)) == []


def test_sensitivity_moves_the_learned_threshold():
    x = two_shapes()
    nodes, _, _ = P.nodes_of(x)
    root = nodes[0]
    assert P.segment(x, sensitivity=passing(root.evidence)) == [root.index]
    assert P.segment(x, sensitivity=P.THRESHOLD / root.evidence * 0.9) == []
    paths = P.path(x, (0.5, 1.0, 4.0))
    assert len(paths[0.5]) >= len(paths[1.0]) >= len(paths[4.0])


def passing(evidence: float) -> float:
    """A sensitivity at which a split of this evidence passes."""
    return P.THRESHOLD / evidence * 1.1


def test_representation_view_tells_a_change_of_state():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(900, 1))
    state = np.column_stack([np.where(np.arange(900) < 400, 0.0, 1.5), np.zeros(900)])
    state = state + 0.3 * rng.normal(size=state.shape)
    assert P.segment(x, design="shape") == []
    found = P.segment(x, state, design="representation")
    assert len(found) == 1 and abs(found[0] - 400) <= 3 * P.window(x)


def test_too_short_a_series_is_left_alone():
    assert P.segment(np.arange(12.0)) == []
    with pytest.raises(ValueError):
        P.neighbours(np.arange(10.0), 8)


# ---------------------------------------------------------------- detect(detector="profile")


def test_detect_profile_finds_a_change_of_shape_with_the_same_mean_and_spread():
    x = two_shapes()
    prep = prepare(pd.DataFrame({"y": x}), DataConfig(targets=("y",)))
    det = cp.detect(prep, detector="profile")
    assert det.detector == "profile"
    assert [abs(p.index - 700) <= 2 * P.window(x) for p in det.change_points] == [True]
    point = det.change_points[0]
    assert point.method == "raw" and point.columns == ("y",) and point.evidence > 0
    # ranked candidates: the kept point first, each with the sensitivity it needs
    first, *rest = det.candidates
    assert first.kept and first.index == point.index and first.needed <= 1.0
    assert rest and all(not k.kept and k.needed > 1.0 for k in rest)
    assert [k.needed for k in det.candidates] == sorted(k.needed for k in det.candidates)
    # a sensitivity above a candidate's need keeps it
    k = rest[0]
    if math.isfinite(k.needed):
        more = cp.detect(prep, detector="profile", sensitivity=k.needed * 1.05)
        assert len(more.change_points) == 2


def test_detect_profile_on_the_gate_says_the_representation_found_it():
    x = two_shapes(n=600, change=350)
    det = cp.detect(pd.DataFrame({"y": x}), detector="profile", features="gate")
    assert det.trace is not None and det.change_points
    assert {p.method for p in det.change_points} == {"representation"}


def test_cli_accepts_the_profile_detector(tmp_path, capsys):
    pd.DataFrame({"y": two_shapes()}).to_csv(tmp_path / "s.csv", index=False)
    assert main(["detect", str(tmp_path / "s.csv"), "--detector", "profile", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["detector"] == "profile" and len(out["change_points"]) == 1
    assert out["change_points"][0]["method"] == "raw" and out["candidates"]


def test_the_tests_detector_still_gives_the_regimes_demo():
    regimes = load_demo("regimes")
    det = cp.detect(regimes.frame, config=regimes.config, detector="tests")
    assert [p.index for p in det.change_points] == [300, 597, 899]
    assert {p.part for p in det.change_points} == {"tests"}


def demo_detection(name: str, **options) -> cp.Detection:
    """``detect`` on a demo as the CLI's ``detect demo:NAME`` runs it: its columns and time,
    the default detection model (not the demo's training config)."""
    demo = load_demo(name)
    d = demo.config.data
    return cp.detect(
        demo.frame, time_col=d.time_col, columns=[*d.targets, *d.covariates], **options
    )


def test_the_default_union_on_the_demos_says_which_part_found_each_point():
    """The default (the out-of-fold winner: the profile on a detection model's gate) finds the
    regimes demo's level shift by PELT and its spread and correlation changes by the Gaussian
    part on the columns' steps (the profile alone put the correlation flip at 862, 38 rows
    early: its placement on the values and their absolute steps cannot see a correlation), its
    points then placed by the Gaussian cost on the values and steps (which puts the change at
    600 at 597; on the steps alone the part said 600); the Nile's 1899 by PELT. The same on
    the series alone (features "raw")."""
    assert cp.DEFAULT_DETECTOR == "union" and "profile" in cp.DETECTOR_CHOICES
    for features in (None, "raw"):
        det = demo_detection("regimes", features=features)
        assert det.detector == "union" and det.features == (features or "combined")
        assert [(p.index, p.part) for p in det.change_points] == [
            (300, "pelt"),
            (597, "gaussian"),
            (899, "gaussian"),
        ]
        assert det.change_points[0].kind == "level"
        det = demo_detection("nile", features=features)
        assert det.features == (features or "combined")  # 100 rows: a model is trained
        found = [(p.time.year, p.part, p.kind) for p in det.change_points]
        assert found == [(1899, "pelt", "level")]


def test_the_union_is_pelt_then_the_search_then_the_profile_as_the_benchmark_scores_it():
    """detect's "union" built by hand on a series without a trend, a bend or a second column
    (so the kink and Gaussian parts add nothing and the series less its broken line is the
    series): PELT at UNION_PELT, the search at UNION_PENALTY, the profile at UNION_PROFILE,
    each part adding only points more than one profile window from those before; the search's
    and the profile's points then placed within one profile window (the search's 721 moves to
    705, the change being at 700). The shipped design against the benchmark's: below."""
    from lstm_core.changepoints import detectors as D
    from lstm_core.changepoints import placement as PL
    from lstm_core.changepoints import search as S

    x = two_shapes()
    x[300:] += 3.0
    size = 5
    edge, t = D.UNION_PROFILE["raw"]
    width = P.span(x[:, None], edge)
    parts = [
        cp.classical(x[:, None], "pelt", D.UNION_PELT, size),
        S.path(S.series_features(x[:, None]), x[:, None], (D.UNION_PENALTY,), size)[
            D.UNION_PENALTY
        ],
        [n.index for n in P.path(x[:, None], (t,), None, "raw", edge)[t]],
    ]
    expected: list[int] = []
    for part in parts:
        expected += [r for r in part if all(abs(r - q) > width for q in expected)]
    fixed = [r for r in expected if r in parts[0]]
    expected = PL.relocate(sorted(expected), x[:, None], width, size, fixed=fixed, gap=width)
    det = cp.detect(pd.DataFrame({"y": x}), features="raw")  # the profile on the series
    assert [p.index for p in det.change_points] == expected and expected


def test_the_union_keeps_pelts_points_and_adds_no_repeat_of_them(tmp_path, capsys):
    x = two_shapes()
    x[300:] += 3.0  # a level shift PELT finds, then the change of shape at 700
    df = pd.DataFrame({"y": x})
    det = cp.detect(df, detector="union", features="raw")
    rows = [p.index for p in det.change_points]
    by = {p.index: p.part for p in det.change_points}
    assert det.detector == "union"
    assert any(abs(r - 300) <= 5 and by[r] == "pelt" for r in rows)
    assert any(abs(r - 700) <= 30 and by[r] != "pelt" for r in rows)
    width = P.span(x, 5)  # no two points within a profile window: no repeats across parts
    assert all(b - a > width for a, b in zip(rows, rows[1:]))
    assert sorted(k.index for k in det.candidates if k.kept) == rows
    assert all(p.method == "raw" for p in det.change_points)
    df.to_csv(tmp_path / "s.csv", index=False)
    assert main(["detect", str(tmp_path / "s.csv"), "--features", "raw", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["detector"] == "union" and out["change_points"][0]["part"] == "pelt"


def test_the_report_names_the_profile_as_the_finder():
    from types import SimpleNamespace as NS

    from lstm_core.report_text import FOUND_BY, found_by, points_sentence

    raw, gate = NS(method="raw", kind="level"), NS(method="representation", kind="dynamics")
    pelt = NS(method="raw", kind="level", part="pelt")
    det = NS(detector="union", features="raw", change_points=(pelt,))
    assert found_by(pelt, det) == "PELT on the raw series' mean"
    for detector in ("profile", "union"):
        det = NS(detector=detector, features="combined", change_points=(raw, gate))
        assert "classification score profile" in found_by(raw, det)
        assert found_by(gate, det).endswith("profile of the model's skip gate")
        assert "not by the gate" not in points_sentence(det)
    det = NS(detector="profile", features="raw", change_points=(raw,))
    assert "not by the gate" in points_sentence(det)
    note = "trained a detection model: lookback 32, hidden 16, 5 epochs at most"
    det = NS(detector="union", features="combined", change_points=(gate,), notes=(note,))
    assert found_by(gate, det).endswith("skip gate of a detection model trained for the series")
    assert "(detection read the skip gate of a model trained for detection, not the gate drawn" in (
        points_sentence(det)
    ), "the drawn gate (the model in use's) did not find it"
    det = NS(detector="union", features="combined", change_points=(gate,))  # in use's gate
    assert "not the gate drawn here" in points_sentence(det, "the explanation model")
    det = NS(detector="tests", features="combined", change_points=(gate,), notes=(note,))
    assert found_by(gate, det) == FOUND_BY["detection gate"]


def test_every_peak_of_the_change_score_has_a_point_or_a_reason_under_the_default():
    """Issue 19: where the page's change score peaks, the user sees a point there or a
    candidate saying why none was kept (within one profile window: the union lists one
    candidate per place)."""
    from lstm_core.changepoints.detectors import peaks

    regimes = load_demo("regimes")
    det = demo_detection("regimes")
    raw = regimes.frame[["y", "x1", "x2"]].to_numpy(float)
    width = P.span(raw, 5)
    for peak in peaks(det.score.to_numpy(), det.min_size):
        near = [k for k in det.candidates if abs(k.index - peak) <= width]
        assert near, f"no point or candidate near the score's peak at {peak}"
        assert all(k.reason(det.sensitivity) for k in near)


def test_a_steady_trend_gives_the_union_no_point():
    """The union's profile reads the series less its broken line, as its search does: on a
    straight trend in AR(1) noise, windows far apart differ by level alone, and the profile on
    the series itself takes that for a change (on 4 of these 16 fresh draws it marked one)."""
    from lstm_core.changepoints import detectors as D
    from lstm_core.changepoints import synthetic

    edge, t = D.UNION_PROFILE["raw"]
    found, on_the_series = [], 0
    for i in range(16):
        d, n = 1 + 2 * (i % 2), 400 + 100 * (i % 3)
        s = synthetic.pw_change("trending", n=n, n_features=d, seed=60000 + i)
        cols = [f"c{j}" for j in range(d)]
        det = cp.detect(pd.DataFrame(s.signal, columns=cols), columns=cols, min_size=5)
        found += [(i, p.index) for p in det.change_points]
        on_the_series += bool(P.path(s.signal, (t,), None, "raw", edge)[t])
    assert found == [] and on_the_series >= 3


def benchmark(monkeypatch, design: str, view: str):
    """benchmarks/changepoints.py's module, and the rows changepoint_parts.py scores for its
    ``design`` ("SHIPPED" or "SHIPPED_GATE") at detectors' constants (the profile's for
    ``view``: "raw" or "representation", the gate's main directions given to ``rows``)."""
    from pathlib import Path

    from lstm_core.changepoints import detectors as D
    from lstm_core.changepoints import search as S

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import changepoint_parts as CP
    import changepoints as B

    name, prefix = getattr(CP, design), "gate " if view == "representation" else ""
    edge, t = D.UNION_PROFILE[view]
    constants = (D.UNION_PELT, D.UNION_GAUSS, D.UNION_KINK, D.UNION_PENALTY, edge, t)
    for part, factor in zip(CP.DESIGNS[name], constants):  # the grids narrowed to them
        monkeypatch.setitem(CP.PARTS, part, ((factor,), CP.PARTS[part][1]))

    def rows(c, rep: np.ndarray | None = None) -> tuple[int, ...]:
        size = B.min_size(c)
        searched = S.path(S.series_features(c.raw), c.raw, (D.UNION_PENALTY,), size)
        kept = P.path(c.raw, (t,), rep, view, edge)[t]
        profiles = {(edge, t): (P.span(c.raw, edge), [n.index for n in kept])}
        scored = CP.scored(c.raw, size, searched, profiles, tuple, (name,), prefix)
        return scored[(prefix + name, constants)]

    return B, rows


def test_the_raw_union_is_the_benchmarks_shipped_design_at_its_constants(monkeypatch):
    """detect's union on the series (features "raw") gives the rows
    benchmarks/changepoint_parts.py scores for its SHIPPED design at detectors' constants, on
    synthetic series where each part, the clipping, the detrending and the placements
    matter."""
    B, rows = benchmark(monkeypatch, "SHIPPED", "raw")
    names = {
        "trend_d1_s202", "trending_d1_s602", "trending_d3_s601", "spread_d1_s102",
        "seasonality_d3_s301", "correlation_d3_s501", "partial_d3_s402", "heavy_tailed_d3_s903",
    }  # fmt: skip
    cases = [c for c in B.synthetic_cases() if c.name in names]
    assert len(cases) == len(names)
    # a change of spread on a trend (at 347): the search finds it on the series less its
    # broken line, and its point is placed on the series itself, at 359 (the design placing
    # it on what the search read, at 345, lost out of fold)
    rng = np.random.default_rng(201)
    steps, change = np.arange(700), 330 + int(rng.integers(0, 60))
    x = 0.02 * steps + rng.normal(size=700) * np.where(steps < change, 1.0, 2.5)
    cases.append(B.Case("spread_on_a_trend", "synthetic", "spread", x[:, None], [change]))
    for c in cases:
        frame = B.frame(c)
        det = cp.detect(frame, columns=list(frame.columns), min_size=B.min_size(c), features="raw")
        assert tuple(p.index for p in det.change_points) == rows(c)


def test_the_default_is_the_benchmarks_gate_view_of_the_shipped_design(monkeypatch):
    """detect's default (no features given) trains the benchmark's detection model and gives
    the rows benchmarks/changepoint_parts.py scores for "gate " + SHIPPED_GATE at detectors'
    constants, on a 1-column and a 3-column series (the model forecasts every column, as the
    benchmark's does)."""
    B, rows = benchmark(monkeypatch, "SHIPPED_GATE", "representation")
    names = {"seasonality_d1_s300", "seasonality_d3_s301"}
    cases = [c for c in B.synthetic_cases() if c.name in names]
    assert len(cases) == len(names)
    gated = []
    for c in sorted(cases, key=lambda c: c.name):
        B.representation(c, None)  # the detection model's gate, as the benchmark trains it
        frame = B.frame(c)
        det = cp.detect(frame, columns=list(frame.columns), min_size=B.min_size(c))
        assert det.features == "combined" and det.trace is not None
        np.testing.assert_array_equal(det.trace.gate.astype(np.float32), c.gate)
        found = tuple(p.index for p in det.change_points)
        assert found == rows(c, cp.gate_components(c.gate))
        gated += [p.index for p in det.change_points if p.method == "representation"]
    assert gated == [275]  # the 1-column series' change of season: the gate's profile found it
