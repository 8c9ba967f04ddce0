"""Change points: TCPD metrics, the detector on synthetic shifts, and the `detect` command."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from lstm_core import changepoints as cp
from lstm_core.cli import main
from lstm_core.config import Config

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


# ---------------------------------------------------------------- metrics (TCPDBench's examples)


def test_f1_matches_tcpdbench_examples():
    assert cp.f1_score({1: [10, 20], 2: [11, 20], 3: [10], 4: [0, 5]}, [10, 20])[0] == 1.0
    assert cp.f1_score({1: [], 2: [10], 3: [50]}, [10])[0] == pytest.approx(0.9090909090909091)
    assert cp.f1_score({1: [], 2: [10], 3: [50]}, [])[0] == pytest.approx(0.8)


def test_f1_trivial_start_point_and_margin():
    # nothing known, nothing found: the trivial point 0 matches itself
    assert cp.f1_score({"a": []}, []) == (1.0, 1.0, 1.0)
    # 15 is within 5 of 10; 16 is not: precision 1/2 ({0} of {0, 16}), recall 1/2 ({0} of {0, 10})
    assert cp.f1_score([10], [15])[0] == 1.0
    assert cp.f1_score([10], [16]) == (0.5, 0.5, 0.5)
    # one prediction cannot match two true points
    _, p, r = cp.f1_score([10, 12], [11])
    assert (p, r) == (1.0, pytest.approx(2 / 3))


def test_covering_matches_tcpdbench_and_hand_examples():
    assert cp.covering({1: [10, 20], 2: [10], 3: [0, 5]}, [10, 20], 45) == pytest.approx(
        0.7962962962962963
    )
    assert cp.covering({1: [], 2: [10], 3: [40]}, [10], 45) == pytest.approx(0.7954144620811286)
    assert cp.covering({1: [], 2: [10], 3: [40]}, [], 45) == pytest.approx(0.8189300411522634)
    # two halves of 5, covered by one segment of 10: each half overlaps 5/10
    assert cp.covering([5], [], 10) == 0.5
    assert cp.covering([5], [5], 10) == 1.0


def test_agreement_pairs_within_margin():
    a = cp.agreement([10, 50, 90], [12, 70])
    assert a.pairs == ((10, 12),) and a.share == pytest.approx(2 / 5)
    assert cp.agreement([], []).share == 1.0


# ---------------------------------------------------------------- detection without a model


def test_confirm_keeps_steps_and_drops_trend_bends():
    t = np.arange(200, dtype=float)
    rng = np.random.default_rng(0)
    trend = (0.05 * t + 0.3 * rng.normal(size=200))[:, None]
    step = (np.where(t < 100, 0.0, 3.0) + rng.normal(size=200))[:, None]
    assert cp.confirm(trend, [100])[0] == []
    kept, evidence = cp.confirm(step, [100])
    assert kept == [100] and evidence[0] > 0


def test_locate_on_raw_finds_shifts_and_nothing_in_noise():
    y = shifted()[["y"]].to_numpy()
    found, _ = cp.locate(y, None, "raw")
    assert len(found) == 2 and all(abs(f - s) <= cp.MARGIN for f, s in zip(found, SHIFTS))
    noise = np.random.default_rng(1).normal(size=(300, 1))
    assert cp.locate(noise, None, "raw")[0] == []


def test_change_score_peaks_at_shift():
    y = shifted()[["y"]].to_numpy()
    s = cp.change_score(cp.change_features(y, None, "raw"), 10)
    assert abs(int(np.argmax(s)) - SHIFTS[0]) <= cp.MARGIN
    assert s[:10].max() == 0.0


# ---------------------------------------------------------------- the pipeline


@pytest.fixture(scope="module")
def found() -> cp.Detection:
    return cp.detect(shifted(), config=TINY, known={"a": SHIFTS, "b": [101]})


def test_detect_finds_known_shifts(found):
    idx = [c.index for c in found.change_points]
    assert len(idx) == 2 and all(abs(i - s) <= cp.MARGIN for i, s in zip(idx, SHIFTS))
    assert found.metrics is not None and found.metrics.f1 == 1.0
    assert found.classical_metrics is not None
    assert found.score.shape == (300,) and found.trace.gate.shape == (300, 8)
    assert found.to_dict()["change_points"][0]["index"] == idx[0]


def test_detect_no_change_gives_none():
    noise = pd.DataFrame({"y": np.random.default_rng(2).normal(size=200)})
    assert cp.detect(noise, config=TINY).change_points == ()


def test_detect_adapts_lookback_to_short_series():
    y = np.r_[np.zeros(20), np.ones(20) * 5] + np.random.default_rng(3).normal(0, 0.3, 40)
    det = cp.detect(pd.DataFrame({"y": y}), config=TINY.replace(data={"lookback": 96}))
    assert det.lookback < 96 and any("lookback 96 is too long" in n for n in det.notes)
    assert [c.index for c in det.change_points] == [20]


def test_detect_reuses_a_fitted_forecaster(fitted, series):
    det = cp.detect(series, fitted)
    assert det.lookback == fitted.config_.data.lookback
    assert len(det.score) == len(series)


# ---------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("detect")
    df = shifted()
    df.insert(0, "time", pd.date_range("2024-01-01", periods=len(df), freq="D"))
    df.to_csv(d / "s.csv", index=False)
    (d / "tiny.yaml").write_text(TINY.to_yaml())
    return d


def test_cli_prints_json(files, capsys):
    rc = main(
        [
            "detect",
            str(files / "s.csv"),
            "--config",
            str(files / "tiny.yaml"),
            "--known",
            "100,200",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [c["index"] for c in out["change_points"]] == sorted(
        c["index"] for c in out["change_points"]
    )
    assert len(out["change_points"]) == 2
    first = out["change_points"][0]
    assert set(first) == {"index", "time", "score"} and first["time"].startswith("2024-04")
    assert out["metrics"]["f1"] == 1.0 and out["classical"]["method"] == "pelt"


@pytest.mark.parametrize(
    "extra",
    [["--known", "a,b"], ["--columns", "nope"], ["--time-col", "nope"], ["--sensitivity", "0"]],
)
def test_cli_user_mistakes_exit_2(files, capsys, extra):
    rc = main(["detect", str(files / "s.csv"), "--config", str(files / "tiny.yaml"), *extra])
    assert rc == 2 and capsys.readouterr().err.startswith("error: ")


def test_cli_missing_file_exits_2(capsys):
    assert main(["detect", "no/such.csv"]) == 2
    assert "error:" in capsys.readouterr().err


def test_classical_reference_finds_a_clear_shift():
    y = shifted()[["y"]].to_numpy()
    for method in ("pelt", "binseg"):
        found = cp.classical(y, method)
        assert any(abs(f - SHIFTS[0]) <= cp.MARGIN for f in found)


def test_higher_sensitivity_keeps_a_superset():
    rng = np.random.default_rng(4)
    y = (np.repeat([0.0, 1.0, -0.5, 2.0, 1.2], 60) + rng.normal(size=300))[:, None]
    found = [set(cp.locate(y, None, "raw", s)[0]) for s in (0.1, 0.5, 1.0, 4.0)]
    assert all(a <= b for a, b in itertools.pairwise(found))
    assert len(found[-1]) > len(found[0])
