"""Change points: TCPD metrics, the synthetic suite, every kind of change, no false alarms, the
pipeline (with and without a model) and the `detect` command."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from lstm_core import changepoints as cp
from lstm_core.changepoints import search as ks
from lstm_core.changepoints import segment as seg
from lstm_core.changepoints import synthetic
from lstm_core.cli import main
from lstm_core.config import Config
from lstm_core.data import load_demo

TINY = Config().replace(
    data={"lookback": 16, "horizon": 1},
    lstm={"hidden_size": 4, "num_layers": 1, "dropout": 0.0},
    training={"epochs": 3, "learning_rate": 1e-2, "device": "cpu"},
)
SHIFTS = [100, 200]


def shifted(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = np.select([np.arange(n) < SHIFTS[0], np.arange(n) < SHIFTS[1]], [0.0, 4.0], 1.5)
    return pd.DataFrame({"y": level + rng.normal(size=n)})


def near(found, true, margin=cp.MARGIN) -> bool:
    """Every true point has exactly one found point within the margin, and nothing else."""
    return len(found) == len(true) and all(abs(f - t) <= margin for f, t in zip(found, true))


# ---------------------------------------------------------------- metrics (TCPDBench's examples)


def test_f1_matches_tcpdbench_examples():
    assert cp.f1_score({1: [10, 20], 2: [11, 20], 3: [10], 4: [0, 5]}, [10, 20])[0] == 1.0
    assert cp.f1_score({1: [], 2: [10], 3: [50]}, [10])[0] == pytest.approx(0.9090909090909091)
    assert cp.f1_score({1: [], 2: [10], 3: [50]}, [])[0] == pytest.approx(0.8)


def test_f1_trivial_start_point_and_margin():
    assert cp.f1_score({"a": []}, []) == (1.0, 1.0, 1.0)
    # 15 is within 5 of 10; 16 is not
    assert cp.f1_score([10], [15])[0] == 1.0
    assert cp.f1_score([10], [16]) == (0.5, 0.5, 0.5)
    _, p, r = cp.f1_score([10, 12], [11])  # one prediction cannot match two true points
    assert (p, r) == (1.0, pytest.approx(2 / 3))


def test_covering_matches_tcpdbench_and_hand_examples():
    assert cp.covering({1: [10, 20], 2: [10], 3: [0, 5]}, [10, 20], 45) == pytest.approx(
        0.7962962962962963
    )
    assert cp.covering({1: [], 2: [10], 3: [40]}, [10], 45) == pytest.approx(0.7954144620811286)
    assert cp.covering({1: [], 2: [10], 3: [40]}, [], 45) == pytest.approx(0.8189300411522634)
    assert cp.covering([5], [], 10) == 0.5
    assert cp.covering([5], [5], 10) == 1.0


def test_one_matcher_for_f1_and_agreement():
    assert cp.match([10, 12], [11]) == [(10, 11)]
    assert cp.match([10, 50], [14, 70, 9]) == [(10, 9)]
    a = cp.agreement([10, 50, 90], [12, 70])
    assert a.pairs == ((10, 12),) and a.share == pytest.approx(2 / 5)
    assert cp.agreement([], []).share == 1.0


def test_score_says_found_0_of_1_when_nothing_is_found():
    m = cp.score([28], [], 100)
    assert m.f1 == pytest.approx(2 / 3) and (m.found, m.known) == (0, 1)
    assert m.sentence() == "found 0 of 1 known change point"
    assert cp.score({"a": [10, 50], "b": [50]}, [50], 100).sentence().startswith("found 1 of 1")


# ---------------------------------------------------------------- the synthetic suite


def test_suite_is_seeded_and_covers_every_kind():
    a, b = synthetic.suite(), synthetic.suite()
    assert [s.name for s in a] == [s.name for s in b]
    assert all(np.array_equal(x.signal, y.signal) for x, y in zip(a, b))
    assert {s.kind for s in a} == set(synthetic.KINDS) | {"none"}
    assert {s.signal.shape[1] for s in a} >= {1, 2, 3}
    for s in a:
        assert (s.kind == "none") == (s.change_points == ())
        gaps = np.diff([0, *s.change_points, len(s.signal)])
        assert gaps.min() >= 40 and len(s.columns) == len(s.change_points)


def test_partial_changes_only_some_columns():
    s = synthetic.pw_change("partial", n=500, n_features=3, n_bkps=2, seed=7)
    for cps, cols in zip(s.change_points, s.columns):
        assert 1 <= len(cols) < 3
        jump = s.signal[cps : cps + 40].mean(0) - s.signal[cps - 40 : cps].mean(0)
        moved = set(np.flatnonzero(np.abs(jump) > 1.0))
        assert moved == set(cols)


# ---------------------------------------------------------------- every kind, every control

CASES = {  # kind -> (generator arguments, expected kind, expected columns of the first change)
    "level": (dict(n_features=1, seed=11), "level", (0,)),
    "spread": (dict(n_features=1, seed=12), "spread", (0,)),
    "trend": (dict(n_features=1, seed=13), "trend", (0,)),
    "seasonality": (dict(n_features=1, seed=14), "seasonality", (0,)),
    "partial": (dict(n_features=3, seed=15), "level", None),
    "correlation": (dict(n_features=2, seed=16), "correlation", (0, 1)),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_each_kind_is_found_and_named(kind):
    args, expected, cols = CASES[kind]
    s = synthetic.pw_change(kind, n=500, n_bkps=1, **args)
    found = cp.locate(s.signal, period_hint=s.period)
    assert near([f.index for f in found], s.change_points, margin=8 if kind == "trend" else 5)
    assert found[0].kind == expected
    assert found[0].columns == (cols if cols is not None else s.columns[0])


@pytest.mark.parametrize("kind", synthetic.CONTROLS)
@pytest.mark.parametrize("d", [1, 3])
def test_no_false_alarm_without_a_change(kind, d):
    for seed in range(2):
        s = synthetic.pw_change(kind, n=500, n_features=d, seed=100 + seed)
        assert cp.locate(s.signal, period_hint=24) == [], s.name


def test_noise_and_trends_give_nothing_but_steps_are_kept():
    t = np.arange(300, dtype=float)
    rng = np.random.default_rng(0)
    trend = (0.05 * t + 0.3 * rng.normal(size=300))[:, None]
    curve = (np.exp(t / 80) + 0.05 * rng.normal(size=300))[:, None]  # growth, not a change
    assert cp.locate(trend) == [] and cp.locate(curve) == []
    y = shifted()[["y"]].to_numpy()
    assert near([f.index for f in cp.locate(y)], SHIFTS)


def test_higher_sensitivity_keeps_a_superset():
    rng = np.random.default_rng(4)
    y = (np.repeat([0.0, 1.0, -0.5, 2.0, 1.2], 60) + rng.normal(size=300))[:, None]
    found = [[f.index for f in cp.locate(y, s)] for s in (0.25, 0.5, 1.0, 2.0, 4.0)]
    for fewer, more in itertools.pairwise(found):  # every point is still there, give or take
        assert len(cp.match(fewer, more, 10)) == len(fewer)
    assert len(found[-1]) > len(found[0])


def test_sensitivity_must_be_a_positive_number():
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(cp.pipeline.DataError):
            cp.locate(np.zeros((50, 1)), bad)


def test_season_period_from_data_and_hint():
    t = np.arange(480)
    x = (2 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(size=480))[:, None]
    assert seg.season_periods(x) == (24,)
    assert seg.season_periods(x, hint=24) == (24,)
    assert seg.season_periods(np.random.default_rng(1).normal(size=(480, 1)), hint=24) == ()


def test_long_series_are_segmented_on_block_means():
    rng = np.random.default_rng(5)
    y = (np.where(np.arange(20_000) < 12_000, 0.0, 2.0) + rng.normal(size=20_000))[:, None]
    found = cp.locate(y)
    assert len(found) == 1 and abs(found[0].index - 12_000) <= 20


def test_change_score_peaks_at_shift():
    y = shifted()[["y"]].to_numpy()
    s = cp.change_score(y, 10)
    assert abs(int(np.argmax(s)) - SHIFTS[0]) <= cp.MARGIN
    assert s[:10].max() == 0.0


def test_classical_references_find_a_clear_shift():
    y = shifted()[["y"]].to_numpy()
    for method in ("pelt", "binseg", "kernel"):
        assert any(abs(f - SHIFTS[0]) <= cp.MARGIN for f in cp.classical(y, method))


# ---------------------------------------------------------------- the pipeline


def test_demos_give_their_known_change_points():
    regimes = load_demo("regimes")  # the default's points: tests/test_profile.py
    det = cp.detect(
        regimes.frame, config=regimes.config, known=list(regimes.change_points), detector="tests"
    )
    assert near([c.index for c in det.change_points], regimes.change_points)
    assert [c.kind for c in det.change_points][0] == "level"
    assert det.change_points[0].columns == ("y",)
    nile = load_demo("nile")
    det = cp.detect(nile.frame, config=nile.config)
    assert [c.time.year for c in det.change_points] == [1899]


def test_raw_features_train_no_model(monkeypatch):
    monkeypatch.setattr(cp.pipeline.Forecaster, "fit", lambda *a, **k: pytest.fail("trained"))
    det = cp.detect(shifted(), features="raw", known={"a": SHIFTS, "b": [101]})
    assert near([c.index for c in det.change_points], SHIFTS)
    assert det.metrics is not None and det.metrics.f1 == 1.0 and det.trace is None
    first = det.to_dict()["change_points"][0]
    assert first["kind"] == "level" and first["columns"] == ["y"]


@pytest.fixture(scope="module")
def gated() -> cp.Detection:
    return cp.detect(shifted(), config=TINY, features="combined")


def test_combined_reads_the_gate_and_tests_the_series(gated):
    assert gated.trace is not None and gated.trace.gate.shape[0] == 300
    assert near([c.index for c in gated.change_points], SHIFTS)
    assert gated.columns[0] == "y" and any(c.startswith("gate PC") for c in gated.columns)
    assert all(c.kind != "dynamics" for c in gated.change_points)


def test_an_existing_trace_is_not_traced_again(gated, monkeypatch):
    monkeypatch.setattr(cp.pipeline, "trace", lambda *a, **k: pytest.fail("traced twice"))
    monkeypatch.setattr(cp.pipeline.Forecaster, "fit", lambda *a, **k: pytest.fail("trained"))
    det = cp.detect(shifted(), trace=gated.trace, features="combined")
    assert det.trace is gated.trace and near([c.index for c in det.change_points], SHIFTS)
    assert det.change_points == gated.change_points, "the same points as the traced run"
    gate = cp.detect(shifted(), trace=gated.trace, features="gate")
    assert gate.trace is gated.trace and all(c.startswith("gate PC") for c in gate.columns)


def test_short_series_take_the_classical_path():
    y = np.r_[np.zeros(15), np.ones(15) * 5] + np.random.default_rng(3).normal(0, 0.3, 30)
    det = cp.detect(pd.DataFrame({"y": y}), features="combined")
    assert det.features == "raw" and det.trace is None
    assert any("too few to train a network" in n for n in det.notes)
    assert [c.index for c in det.change_points] == [15]


def test_detect_adapts_lookback_to_short_series():
    y = np.r_[np.zeros(30), np.ones(30) * 5] + np.random.default_rng(3).normal(0, 0.3, 60)
    cfg = TINY.replace(data={"lookback": 96})
    det = cp.detect(pd.DataFrame({"y": y}), config=cfg, features="combined")
    assert det.lookback < 96 and any("lookback 96 is too long" in n for n in det.notes)
    assert [c.index for c in det.change_points] == [30]


def test_detect_reuses_a_fitted_forecaster(fitted, series):
    det = cp.detect(series, fitted, features="combined")
    assert det.lookback == fitted.config_.data.lookback
    assert len(det.score) == len(series)


def test_too_few_rows_is_a_clear_error():
    with pytest.raises(cp.pipeline.DataError, match="at least 8"):
        cp.detect(pd.DataFrame({"y": [1.0, 2, 3, 4, 5]}))


# ---------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("detect")
    df = shifted()
    df.insert(0, "time", pd.date_range("2024-01-01", periods=len(df), freq="D"))
    df.to_csv(d / "s.csv", index=False)
    (d / "tiny.yaml").write_text(TINY.to_yaml())
    return d


def test_cli_prints_json_with_kind_and_columns(files, capsys):
    rc = main(["detect", str(files / "s.csv"), "--features", "raw", "--known", "100;200", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out["change_points"]) == 2
    first = out["change_points"][0]
    assert {"index", "time", "score", "kind", "columns"} <= set(first)
    assert first["kind"] == "level" and first["columns"] == ["y"]
    assert first["time"].startswith("2024-04")
    assert out["metrics"]["f1"] == 1.0 and out["classical"]["method"] == "pelt"
    assert out["features"] == "raw"


def test_cli_trains_with_a_config(files, capsys):
    rc = main(["detect", str(files / "s.csv"), "--config", str(files / "tiny.yaml"),
               "--features", "combined", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["features"] == "combined" and out["lookback"] == 16


def test_cli_table_says_what_changed(capsys):
    assert main(["detect", "demo:nile", "--features", "raw", "--known", "28"]) == 0
    out = capsys.readouterr().out
    assert "1899" in out and "level" in out and "found 1 of 1 known change point" in out


@pytest.mark.parametrize(
    "extra",
    [
        ["--known", "a,b"],
        ["--known", "²"],
        ["--columns", "nope"],
        ["--time-col", "nope"],
        ["--sensitivity", "0"],
        ["--sensitivity", "nan"],
        ["--features", "magic"],
    ],
)
def test_cli_user_mistakes_exit_2(files, capsys, extra):
    rc = main(["detect", str(files / "s.csv"), "--features", "raw", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1


def test_the_default_trains_a_detection_model_and_reports_each_epoch():
    """The union's default reads a small detection model's gate; its training is reported
    epoch by epoch (in order) and can be stopped there."""
    from lstm_core.background import Cancelled

    seen = []
    det = cp.detect(shifted(), on_progress=lambda f, t: seen.append((f, t)))
    assert det.features == "combined" and det.trace is not None and det.detector == "union"
    assert any(n.startswith("trained a detection model") for n in det.notes)
    assert near([c.index for c in det.change_points], SHIFTS)
    epochs = [t for _, t in seen if t.startswith("training a detection model: epoch ")]
    assert epochs and epochs[0].startswith("training a detection model: epoch 1/")
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)

    def stop(fraction, text):
        if "epoch 2/" in text:
            raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        cp.detect(shifted(), on_progress=stop)


def test_a_detection_reuses_the_model_an_earlier_one_trained(monkeypatch):
    first = cp.detect(shifted())
    monkeypatch.setattr(cp.pipeline.Forecaster, "fit", lambda *a, **k: pytest.fail("trained"))
    again = cp.detect(shifted(), reuse=first)
    assert again.trace is first.trace and again.features == "combined"
    assert again.change_points == first.change_points
    reused = [n for n in again.notes if n.endswith(f"({cp.pipeline.REUSED})")]
    assert len(reused) == 1 and reused[0].startswith("trained a detection model")
    third = cp.detect(shifted(), sensitivity=1.5, reuse=again)  # said once, not twice
    assert [n for n in third.notes if cp.pipeline.REUSED in n] == reused
    raw = cp.detect(shifted(), features="raw", reuse=first)
    assert raw.trace is None
    with pytest.raises(pytest.fail.Exception, match="trained"):
        cp.detect(shifted(), reuse=raw)  # it trained no model to reuse


def test_the_default_reads_the_series_past_the_rows_a_model_is_trained_for(monkeypatch):
    monkeypatch.setattr(cp.pipeline, "MAX_ROWS_DEFAULT_MODEL", 299)  # shifted() has 300 rows
    monkeypatch.setattr(cp.pipeline.Forecaster, "fit", lambda *a, **k: pytest.fail("trained"))
    det = cp.detect(shifted())
    assert det.features == "raw" and det.trace is None
    assert any("300 rows are more than the 299" in n for n in det.notes)
    assert det.change_points == cp.detect(shifted(), features="raw").change_points
    for detector in ("tests", "search", "profile"):  # their figures are the series' alone
        assert cp.detect(shifted(), detector=detector).features == "raw"


def test_asked_for_the_gate_is_read_at_any_length(monkeypatch):
    monkeypatch.setattr(cp.pipeline, "MAX_ROWS_DEFAULT_MODEL", 299)
    det = cp.detect(shifted(), features="combined")
    assert det.features == "combined" and det.trace is not None
    assert not any("more than the" in n for n in det.notes)


def test_cli_missing_file_exits_2(capsys):
    assert main(["detect", "no/such.csv"]) == 2
    assert "error:" in capsys.readouterr().err


def test_detection_reports_its_stages_and_can_be_stopped(series, fitted):
    """``on_progress`` (a Task's report) hears each stage in order, and raising stops it."""
    from lstm_core.background import Cancelled

    seen = []
    cp.detect(series, fitted, features="combined", on_progress=lambda f, t: seen.append((f, t)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("running the model" in t for _, t in seen) and any("segment" in t for _, t in seen)

    def stop(fraction, text):
        if "segmenting" in text:
            raise Cancelled("cancelled")

    with pytest.raises(Cancelled):
        cp.detect(series, fitted, on_progress=stop)


def test_a_detection_model_takes_any_gain_over_its_linear_start():
    """Forecasting keeps the linear start unless an epoch beats it by 1%; a detection model reads
    the gate, so any gain replaces the start, with the user's config as without one."""
    from lstm_core.changepoints.pipeline import detection_config
    from lstm_core.config import Config

    assert Config().training.start_margin == 0.01
    assert detection_config(1000)[0].training.start_margin == 0.0
    assert detection_config(1000, Config())[0].training.start_margin == 0.0


# ---------------------------------------------------------------- the search detector


def crashes(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A random-walk price (0.05% drift, 1% steps) with two crashes: 20 steps of 2% and 2.5%
    losses a step, from rows 500 and 1100."""
    r = np.random.default_rng(seed).normal(0.0005, 0.01, n)
    r[500:520] -= 0.02
    r[1100:1120] -= 0.025
    return pd.DataFrame({"price": 100 * np.exp(np.cumsum(r))})


@pytest.mark.parametrize(
    ("detector", "seed"), [("search", 0), ("union", 0), ("union", 1), ("union", 2)]
)
def test_the_search_and_the_default_find_both_crashes_of_a_random_walk(detector, seed):
    det = cp.detect(crashes(seed=seed), detector=detector)
    for start, end in ((500, 520), (1100, 1120)):
        assert any(start - cp.MARGIN <= c.index <= end + cp.MARGIN for c in det.change_points)
    assert all(c.method == "raw" for c in det.change_points)


def steps(seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (np.repeat([0.0, 1.0, -0.5, 2.0, 1.2], 60) + rng.normal(size=300))[:, None]


def test_search_sensitivity_keeps_more_and_says_what_each_candidate_needs():
    y = steps()
    feats = ks.series_features(y)
    runs = {s: ks.search(feats, y, s) for s in (0.25, 0.5, 1.0, 2.0, 4.0)}
    counts = [len(r.points) for r in runs.values()]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    for s, r in runs.items():
        assert {k.index for k in r.candidates if k.kept} == set(r.points)
        for k in r.candidates:  # a kept cut pays its penalty; a dropped one does not
            assert (k.needed <= s * 1.05) if k.kept else (k.needed >= s / 1.05), (s, k)


def test_candidates_are_ranked_and_a_score_peak_is_explained():
    det = cp.detect(pd.DataFrame({"y": steps()[:, 0]}), detector="search", sensitivity=0.5)
    needed = [c.needed for c in det.candidates]
    assert needed == sorted(needed) and len(det.candidates) > len(det.change_points)
    peak = int(np.argmax(det.score.to_numpy()))
    near_peak = [c for c in det.candidates if abs(c.index - peak) <= det.min_size]
    assert near_peak and all(c.kind is not None and c.columns == ("y",) for c in near_peak)
    table = det.candidate_table()
    dropped = table[~table["kept or why not"].eq("kept")]
    assert len(dropped) and dropped["kept or why not"].str.startswith("below the threshold").all()
    assert det.to_dict()["candidates"][0]["reason"] == det.candidates[0].reason(0.5)


def test_search_on_the_gate_says_the_representation_found_it(gated):
    det = cp.detect(shifted(), trace=gated.trace, features="gate", detector="search")
    assert det.detector == "search" and det.candidates
    assert all(c.method == "representation" for c in det.candidates)
    assert {c.index for c in det.change_points} <= {k.index for k in det.candidates if k.kept}


def test_search_handles_20000_rows_without_a_model():
    rng = np.random.default_rng(5)
    y = np.where(np.arange(20_000) < 12_000, 0.0, 2.0) + rng.normal(size=20_000)
    det = cp.detect(pd.DataFrame({"y": y}), detector="search")
    assert [abs(c.index - 12_000) <= 20 for c in det.change_points] == [True]


def test_cli_search_prints_ranked_candidates(files, capsys):
    rc = main(["detect", str(files / "s.csv"), "--detector", "search", "--candidates"])
    out = capsys.readouterr().out
    assert rc == 0 and "candidates, strongest first:" in out and "kept" in out
    rc = main(["detect", str(files / "s.csv"), "--candidates"])  # the default detector too
    out = capsys.readouterr().out
    assert rc == 0 and "below the threshold" in out
    rc = main(["detect", str(files / "s.csv"), "--detector", "search", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["detector"] == "search" and doc["candidates"][0]["reason"] == "kept"
    assert {c["method"] for c in doc["change_points"]} == {"raw"}


def test_the_tests_detector_ranks_candidates_when_asked(monkeypatch):
    frame = pd.DataFrame({"y": steps()[:, 0]})
    plain = cp.detect(frame, detector="tests")
    assert plain.candidates == ()  # only on request: "tests" does no more work by default
    det = cp.detect(frame, candidates=True, detector="tests")
    assert [c.index for c in det.change_points] == [c.index for c in plain.change_points]
    kept = [k for k in det.candidates if k.kept]
    assert sorted(k.index for k in kept) == [c.index for c in det.change_points]
    dropped = [k for k in det.candidates if not k.kept]
    assert dropped and [k.needed for k in dropped] == sorted(k.needed for k in dropped)
    for k in dropped:  # each says why it is not a change point
        why = k.reason(det.sensitivity)
        if k.needed == float("inf"):
            assert why == "no sensitivity keeps it"
        else:
            assert why.startswith("below the threshold" if k.needed > 1 else "its test passes")
    peak = int(np.argmax(det.score.to_numpy()))
    assert any(abs(k.index - peak) <= det.min_size for k in det.candidates)
