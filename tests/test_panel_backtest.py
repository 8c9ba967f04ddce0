"""A panel's backtest chose nothing: each series' held-out end is cut as a single series' is,
the network validates (and is checked) before each series' test part, and the backtest scores
that part; a series too short for parts, and a panel saved before, score validation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import torch

from lstm_core import checkpoint
from lstm_core.config import Config
from lstm_core.data.demos import synthetic_panel
from lstm_core.forecaster import SCORED_ON, held_out_parts
from lstm_core.panel import read_panel
from lstm_core.panel_forecaster import PanelForecaster, prepare_series
from lstm_core.panel_windows import PanelWindows

TINY = Config().replace(
    data={"lookback": 16, "horizon": 4},
    lstm={"hidden_size": 4, "num_layers": 1, "dropout": 0.0},
    training={"epochs": 2, "batch_size": 32},
)
SHORT = 45  # rows: a held-out end of 9, too short for two parts of a window (4 + 1 rows)


@pytest.fixture(scope="module")
def panel():
    """Four series long enough for three parts, and one too short for any."""
    frame = synthetic_panel(4, length=(90, 140), seed=4).frame
    first = frame[frame["id"] == frame["id"].iloc[0]]
    short = first.iloc[:SHORT].assign(id="short")
    return read_panel(pd.concat([frame, short], ignore_index=True), "id")


@pytest.fixture(scope="module")
def model(panel) -> PanelForecaster:
    return PanelForecaster(TINY).fit(panel)


def test_each_long_series_is_scored_on_its_test_part_only(model, panel):
    H = TINY.data.horizon
    held = model.held_out(panel)
    assert set(held.series) == set(model.series_ids) and not held.skipped
    for sid, one in held.series.items():
        fit, n = model.series_[sid], len(panel.select(sid))
        if sid == "short":
            continue
        val_end, test = held_out_parts(n, fit.split, H)
        assert fit.split < val_end < test == fit.test < n  # three parts, held by the model
        assert one.scored_on == "test"
        assert one.origins.min() == test  # every scored origin at or after its test start


def test_a_series_too_short_for_parts_is_scored_on_validation(model, panel):
    fit = model.series_["short"]
    assert held_out_parts(SHORT, fit.split, TINY.data.horizon) == (SHORT, SHORT)
    assert fit.test == 0
    one = model.held_out(panel, ["short"]).series["short"]
    assert one.scored_on == "validation" and one.origins.min() == fit.split


def test_validation_and_check_windows_end_before_each_test_part(model, panel):
    """Rebuilt as ``fit`` builds them: every validation window's targets lie in its series'
    validation part, every check window's in its check part; none reaches the test part."""
    cfg = model.config_
    L, H = cfg.data.lookback, cfg.data.horizon
    preps, _ = prepare_series(panel, panel.config(TINY))
    windows = PanelWindows(cfg, preps, model.series_, model.inputs_, len(model.targets_))
    offsets = windows.offsets
    for kind, positions in (("validation", windows.val), ("check", windows.check)):
        owner = torch.bucketize(positions, offsets, right=True) - 1
        for s, sid in enumerate(model.series_ids):
            fit, n = model.series_[sid], int(windows.lengths[s])
            val_end, test = held_out_parts(n, fit.split, H)
            first = positions[owner == s] - offsets[s] + L  # each window's first target row
            low, high = (fit.split, val_end) if kind == "validation" else (val_end, test)
            if sid == "short":  # no parts: it validates on its whole held-out end, as before
                low, high = (fit.split, n) if kind == "validation" else (n, n)
            assert len(first) == max(0, high - low - H + 1), (kind, sid)
            if len(first):
                assert first.min() == low and first.max() + H <= high  # targets in the part


def test_the_verdict_says_which_windows_were_scored(model, panel):
    bt = model.backtest(panel)
    assert f"{SCORED_ON['test']} for 4 of 5 series" in bt.verdict
    assert f"{SCORED_ON['validation']} for 1 of 5 series" in bt.verdict
    long = model.backtest(panel, [s for s in model.series_ids if s != "short"])
    assert f"Scored on {SCORED_ON['test']}." in long.verdict and "optimistic" not in long.verdict
    # the same words as each series' own backtest
    sid = model.series_ids[0]
    assert SCORED_ON["test"] in model.for_series(sid).backtest(panel.select(sid)).verdict


def test_a_saved_panel_keeps_each_series_test_start(model, panel, tmp_path):
    loaded = checkpoint.load(checkpoint.save(model, "fleet", tmp_path))
    assert loaded.series_ == model.series_
    assert loaded.backtest(panel).table.equals(model.backtest(panel).table)


def test_a_panel_saved_before_test_parts_backtests_as_before(model, panel, tmp_path):
    """Its series have no test starts nor hashes: each scores its whole held-out end, said
    to be the validation windows (optimistic), as every panel did then."""
    path = checkpoint.save(model, "fleet", tmp_path)
    data = path.read_bytes()
    meta = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])["__metadata__"]
    fields = json.loads(meta["panel"])
    meta["panel"] = json.dumps({k: v for k, v in fields.items() if k not in ("test", "data_hash")})
    old = checkpoint.loads(safetensors.torch.save(safetensors.torch.load(data), metadata=meta))
    assert all(f.test == 0 and f.data_hash == "" for f in old.series_.values())
    held = old.held_out(panel)
    for sid, one in held.series.items():
        split = model.series_[sid].split
        assert one.scored_on == "validation"
        np.testing.assert_array_equal(one.origins, np.arange(split, split + len(one.origins)))
        assert one.origins[-1] == len(panel.select(sid)) - TINY.data.horizon
    bt = old.score(held)
    assert f"Scored on {SCORED_ON['validation']}." in bt.verdict
    assert set(bt.table["method"]) == set(model.backtest(panel).table["method"])


def test_the_trained_network_is_checked_against_its_start_on_the_check_parts(panel, model):
    """As for a single series: validation chose epoch 6, then the network met its linear
    start on the check windows, and was kept because it won there."""
    cfg = TINY.replace(training={"epochs": 6, "learning_rate": 1e-2, "start_margin": 0.0})
    h = PanelForecaster(cfg).fit(panel).history_
    assert h.best_epoch == 6 and len(h.check_loss) == 2
    assert h.check_loss[0] < h.check_loss[1] and not h.kept_by_check
    assert model.history_.check_loss == ()  # no epoch chosen (2 epochs): nothing to check
