"""The global model: equal shares of every series per epoch, per-series scaling, any series'
forecast, backtest and explanation, and panel checkpoints that record the ids."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import torch

from lstm_core import checkpoint, interpret
from lstm_core.config import Config
from lstm_core.data import Scaler, held_out_start
from lstm_core.data.demos import synthetic_panel
from lstm_core.errors import CheckpointError, DataError
from lstm_core.forecaster import Forecaster
from lstm_core.panel import read_panel
from lstm_core.panel_forecaster import MODEL, PanelForecaster, series_scaler
from lstm_core.panel_windows import FairOrder

TINY = Config().replace(
    data={"lookback": 16, "horizon": 4},
    lstm={"hidden_size": 4, "num_layers": 1, "dropout": 0.0},
    training={"epochs": 2, "batch_size": 32},
)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Five synthetic series, one too short to train on and one constant."""
    frame = synthetic_panel(5, length=(90, 140), seed=4).frame
    t = pd.date_range("2024-03-01", periods=20, freq="h")
    extra = [
        pd.DataFrame({"id": "short", "time": t, "value": np.arange(20.0)}),
        pd.DataFrame({"id": "flat", "time": t.append(t + pd.Timedelta(hours=20)), "value": 3.0}),
    ]
    return pd.concat([frame, *extra], ignore_index=True)


@pytest.fixture(scope="module")
def panel(table):
    return read_panel(table, "id")


@pytest.fixture(scope="module")
def model(panel) -> PanelForecaster:
    return PanelForecaster(TINY).fit(panel)


def test_every_series_gets_an_equal_share_of_each_epoch_without_crossing_series():
    counts = torch.tensor([3, 10, 50])
    first = torch.tensor([0, 100, 200])  # each series' first window among all windows
    order = FairOrder(first, counts)
    assert order.share == 21 and len(order) == 63
    gen = torch.Generator().manual_seed(0)
    epochs = [order(gen) for _ in range(3)]
    for pos in epochs:
        assert len(pos) == 63
        owner = torch.bucketize(pos, torch.tensor([100, 200]), right=True)
        assert torch.bincount(owner).tolist() == [21, 21, 21]
        for s in range(3):  # only the series' own windows
            mine = pos[owner == s]
            assert mine.min() >= first[s] and mine.max() < first[s] + counts[s]
        # the short series' windows repeat evenly (7 each); the long one's never repeat
        assert torch.bincount(pos[owner == 0]).tolist()[-3:] == [7, 7, 7]
        assert len(set(pos[owner == 2].tolist())) == 21
    assert not torch.equal(epochs[0], epochs[1])  # a fresh draw each epoch
    again = torch.Generator().manual_seed(0)
    assert torch.equal(order(again), epochs[0])  # and the same draw from the same seed


def test_the_model_learns_from_the_usable_series_and_names_the_others(model, panel):
    assert set(model.series_ids) == set(panel.ids) - {"short", "flat"}
    assert "rows" in model.skipped_["short"] and "constant" in model.skipped_["flat"]
    with pytest.raises(DataError, match="did not learn from series 'flat'.*constant"):
        model.for_series("flat")
    with pytest.raises(DataError, match="did not learn from series 'nope'"):
        model.for_series("nope")


def test_each_series_is_scaled_on_its_own_training_rows(model, panel):
    for sid in model.series_ids:
        values = panel.select(sid)["value"].to_numpy()[:, None]
        split = held_out_start(len(values), 4, TINY.training.val_fraction)
        fit = model.series_[sid]
        assert fit.split == split
        np.testing.assert_allclose(fit.scaler.mean, Scaler.fit(values[:split]).mean)
        np.testing.assert_allclose(fit.scaler.std, Scaler.fit(values[:split]).std)


def test_the_mase_scale_divides_by_the_mean_seasonal_difference():
    # hourly, so m = 24: x[t] = t + 10 sin(2 pi t / 24) -> every 24-step difference is 24
    t = np.arange(96.0)
    x = (t + 10 * np.sin(2 * np.pi * t / 24))[:, None]
    s = series_scaler(x, "mase", "h")
    np.testing.assert_allclose(s.std, [24.0])
    np.testing.assert_allclose(s.mean, [x.mean()])
    assert series_scaler(x, "std", "h") == Scaler.fit(x)
    flat = np.ones((48, 1))  # no seasonal difference: the std's fallback (1 for a constant)
    assert series_scaler(flat, "mase", "h").std == (1.0,)


def test_the_mase_scale_trains_and_forecasts_in_the_data_units(panel):
    pf = PanelForecaster(TINY, scale="mase").fit(panel)
    for sid in pf.series_ids:
        values = panel.select(sid)["value"].to_numpy()[:, None]
        fit = pf.series_[sid]
        want = series_scaler(values[: fit.split], "mase", fit.freq)
        assert fit.scaler == want and fit.scaler.std != Scaler.fit(values[: fit.split]).std
    out = pf.predict(panel, [pf.series_ids[0]])
    level = panel.select(pf.series_ids[0])["value"]
    # in the series' own units: within its range, give or take its spread
    assert out["q0.5"].between(level.min() - level.std(), level.max() + level.std()).all()


def test_a_series_in_other_units_gets_the_same_forecast_in_its_units():
    base = synthetic_panel(3, length=(100, 120), seed=5).frame
    a = base[base["id"] == "S0000"]
    copy = a.assign(id="big", value=1000 * a["value"] + 5)  # same shape, another scale
    panel = read_panel(pd.concat([base, copy], ignore_index=True), "id")
    pf = PanelForecaster(TINY).fit(panel)
    fa, fb = pf.predict(panel, ["S0000"]), pf.predict(panel, ["big"])
    for q in ("q0.1", "q0.5", "q0.9"):
        np.testing.assert_allclose(fb[q], 1000 * fa[q] + 5, rtol=1e-4)


def test_any_series_is_a_forecaster_that_shares_the_network(model, panel):
    sid = model.series_ids[1]
    one = model.for_series(sid)
    assert isinstance(one, Forecaster) and one.model_ is model.model_
    frame = panel.select(sid)
    mine = model.predict(panel, [sid])
    assert (mine["id"] == sid).all()
    pd.testing.assert_frame_equal(mine.drop(columns="id"), one.predict(frame))
    explanation = model.explain(panel, sid)
    assert explanation.attention.shape[-1] == 16 and explanation.gate.shape[0] == 16
    tr = interpret.trace(one, frame)
    assert tr.gate.shape[0] == len(frame) and np.isfinite(tr.attention).all()
    assert len(model.predict(panel)) == 4 * len(model.series_ids)


def test_the_backtest_scores_every_series_and_averages(model, panel):
    bt = model.backtest(panel)
    methods = [MODEL, "naive (last value)", "seasonal naive", "linear (NLinear ridge)"]
    assert list(bt.summary.index) == methods
    assert len(bt.table) == 4 * len(model.series_ids) and set(bt.table["id"]) == set(
        model.series_ids
    )
    wide = bt.by_series()
    assert list(wide.columns) == methods and list(wide.index) == list(model.series_ids)
    np.testing.assert_allclose(bt.summary["mean MASE"], wide.mean().to_numpy())
    one = model.for_series(model.series_ids[0]).backtest(panel.select(model.series_ids[0]))
    assert wide.iloc[0, 0] == pytest.approx(one.table.loc[MODEL, "MASE"])
    best = bt.summary.drop(index=MODEL)["mean MASE"].idxmin()
    assert (
        bt.best_baseline == best
        and best in bt.verdict
        and f"{len(model.series_ids)} series" in bt.verdict
    )
    wins = int((wide[MODEL] < wide[best]).sum())
    assert bt.summary.loc[best, "model wins"] == wins and pd.isna(
        bt.summary.loc[MODEL, "model wins"]
    )
    assert set(model.metrics_) == set(methods)


def test_the_panel_verdict_flags_an_interval_far_from_80_percent(model, panel):
    from lstm_core import baselines
    from lstm_core.panel_forecaster import _panel_backtest

    bt = model.backtest(panel)
    mean = float(bt.summary.loc[MODEL, "mean coverage80"])
    note = baselines.interval_note(
        mean, int(bt.table.loc[bt.table["method"] == MODEL, "windows"].sum())
    )
    assert (note in bt.verdict) if note else "80% interval" not in bt.verdict
    narrow = bt.table.assign(  # the model's band held a tenth of the values in every series
        coverage80=np.where(bt.table["method"] == MODEL, 0.1, bt.table["coverage80"])
    )
    assert "too narrow" in _panel_backtest(narrow, {}).verdict


def test_same_seed_same_model(panel, model):
    again = PanelForecaster(TINY).fit(panel)
    assert (
        again.for_series(again.series_ids[0]).fingerprint()
        == model.for_series(model.series_ids[0]).fingerprint()
    )


def test_a_panel_with_no_usable_series_is_refused():
    t = pd.date_range("2024-01-01", periods=10, freq="h")
    df = pd.DataFrame(
        {"id": np.repeat(["a", "b"], 10), "time": np.tile(t, 2), "value": np.arange(20.0)}
    )
    with pytest.raises(DataError, match="no series of the panel can be used"):
        PanelForecaster(TINY).fit(read_panel(df, "id"))


# ---------------------------------------------------------------- checkpoints


def test_a_panel_checkpoint_records_the_ids_and_forecasts_identically(model, panel, tmp_path):
    path = checkpoint.save(model, "fleet", tmp_path)
    loaded = checkpoint.load(path)
    assert isinstance(loaded, PanelForecaster)
    assert (
        loaded.series_ids == model.series_ids
        and loaded.id_col_ == "id"
        and loaded.layout_ == "long"
    )
    assert loaded.series_ == model.series_
    pd.testing.assert_frame_equal(loaded.predict(panel), model.predict(panel))
    (info,) = checkpoint.list_checkpoints(tmp_path)
    assert info.series == len(model.series_ids) and info.error is None


def test_a_reader_without_panels_gets_the_first_series_model(model, panel, tmp_path):
    path = checkpoint.save(model, "fleet", tmp_path)
    tensors, meta = _parts(path)
    del meta["panel"]
    (tmp_path / "one.safetensors").write_bytes(safetensors.torch.save(tensors, metadata=meta))
    one = checkpoint.load(tmp_path / "one.safetensors")
    first = model.series_ids[0]
    assert isinstance(one, Forecaster)
    pd.testing.assert_frame_equal(
        one.predict(panel.select(first)), model.for_series(first).predict(panel.select(first))
    )


def _parts(path):
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + n])["__metadata__"]
    return safetensors.torch.load(data), meta


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda p: {**p, "ids": p["ids"][:1] * len(p["ids"])}, "panel ids"),
        (lambda p: {**p, "ids": ["x" * 300] + p["ids"][1:]}, "panel ids"),
        (lambda p: {**p, "mean": p["mean"][:-1]}, "one entry per series"),
        (lambda p: {**p, "std": [[0.0]] + p["std"][1:]}, "std must be 1 positive"),
        (lambda p: {**p, "split": ["3"] + p["split"][1:]}, "split of"),
        (lambda p: {**p, "frequency": ["fortnightly"] + p["frequency"][1:]}, "frequency of"),
        (lambda p: {**p, "layout": "tall"}, "layout must be long or wide"),
        (lambda p: {**p, "id_col": ["id"]}, "id_col is not a column name"),
        (lambda p: [], "wrong type"),
    ],
)
def test_a_tampered_panel_field_is_refused_by_name(model, tmp_path, change, words):
    path = checkpoint.save(model, "fleet", tmp_path)
    tensors, meta = _parts(path)
    meta["panel"] = json.dumps(change(json.loads(meta["panel"])))
    with pytest.raises(CheckpointError, match=words):
        checkpoint.loads(safetensors.torch.save(tensors, metadata=meta))


def test_a_panel_too_large_for_one_checkpoint_is_refused_before_writing(
    model, tmp_path, monkeypatch
):
    monkeypatch.setattr(checkpoint, "MAX_HEADER", 4096)
    with pytest.raises(CheckpointError, match="train on fewer series"):
        checkpoint.save(model, "fleet", tmp_path)
    assert not list(tmp_path.iterdir())


def test_covariates_are_read_from_every_series(table):
    with_price = table.assign(price=table["value"].shift(1).bfill() * 0.5 + 1)
    panel = read_panel(with_price, "id")
    cfg = TINY.replace(data={"targets": ["value"], "covariates": ["price"]})
    pf = PanelForecaster(cfg).fit(panel)
    assert pf.inputs_ == ("value", "price") and pf.targets_ == ("value",)
    assert len(pf.series_[pf.series_ids[0]].scaler.mean) == 2
    out = pf.predict(panel, [pf.series_ids[0]])
    assert list(out["target"].unique()) == ["value"] and len(out) == 4


def test_refit_trains_again_on_every_window_and_the_backtest_scores_the_validated_net(
    panel, tmp_path
):
    cfg = TINY.replace(
        training={"epochs": 6, "learning_rate": 1e-2, "start_margin": 0.0, "seed": 1}
    )
    first = PanelForecaster(cfg.replace(training={"refit": False})).fit(panel)
    again = PanelForecaster(cfg).fit(panel)  # training.refit: the default
    assert first.fitted_.validated is None and again.fitted_.validated is not None
    # the validated run is the same; the refit one trains best_epoch epochs on all windows
    assert again.history_.val_loss == first.history_.val_loss
    assert first.history_.best_epoch > 0  # (epoch 6 with this seed and learning rate)
    assert len(again.refit_history_.train_loss) == first.history_.best_epoch
    assert again.refit_history_.best_epoch == first.history_.best_epoch  # its last epoch kept
    assert "trained again on every row" in again.history_.message
    a = torch.cat([p.flatten() for p in again.model_.parameters()])
    b = torch.cat([p.flatten() for p in first.model_.parameters()])
    assert not torch.equal(a, b)
    # the backtest scores the validated network on the test parts, which chose nothing
    assert again.metrics_ == first.metrics_
    bt, plain = again.backtest(panel), first.backtest(panel)
    pd.testing.assert_frame_equal(bt.summary, plain.summary)
    assert "Scored on the held-out end after validation" in bt.verdict
    assert "validated network" in bt.verdict
    assert "validated network" not in plain.verdict
    sid = again.series_ids[0]
    one = again.for_series(sid).backtest(panel.select(sid))
    assert one.scored_on == "test" and "validated network" in one.verdict
    # the forecasts are the refit network's, and a checkpoint keeps both networks
    assert len(again.predict(panel, [sid])) == cfg.data.horizon
    back = checkpoint.load(checkpoint.save(again, "refit", tmp_path))
    assert back.fingerprint() == again.fingerprint() != first.fingerprint()
    pd.testing.assert_frame_equal(back.predict(panel), again.predict(panel))
    pd.testing.assert_frame_equal(back.backtest(panel).summary, bt.summary)
    # one series' view of it, saved and loaded, still scores the validated network
    view = again.for_series(sid)
    saved = checkpoint.load(checkpoint.save(view, "one", tmp_path))
    assert saved.fitted_.validated is not None and saved.fingerprint() == view.fingerprint()
    pd.testing.assert_frame_equal(
        saved.backtest(panel.select(sid)).table, view.backtest(panel.select(sid)).table
    )


def test_a_refit_that_fails_or_a_cancelled_run_keeps_the_validated_network(panel, monkeypatch):
    from lstm_core.errors import TrainingError
    from lstm_core.panel_windows import PanelWindows
    from lstm_core.train import StopTraining

    cfg = TINY.replace(
        training={"epochs": 6, "learning_rate": 1e-2, "start_margin": 0.0, "seed": 1}
    )
    plain = PanelForecaster(cfg.replace(training={"refit": False})).fit(panel)
    calls = []

    def stop(epoch: int, batch: int, batches: int) -> None:  # cancelled in epoch 5
        if epoch == 5:
            raise StopTraining

    stopped = PanelForecaster(cfg)
    real = PanelWindows.train
    monkeypatch.setattr(
        PanelWindows, "train", lambda self, c, held_out, run: calls.append(held_out) or real(
            self, c, held_out, run
        )
    )
    stopped.fit(panel, on_batch=stop)
    assert stopped.history_.stopped == "cancelled" and stopped.history_.best_epoch > 0
    assert calls == [False]  # no refit after a cancel
    assert stopped.fitted_.validated is None

    def fails(self, c, held_out, run):
        if held_out:
            raise TrainingError("the loss became nan in epoch 1")
        return real(self, c, held_out, run)

    monkeypatch.setattr(PanelWindows, "train", fails)
    kept = PanelForecaster(cfg).fit(panel)
    assert kept.fitted_.validated is None
    for a, b in zip(kept.model_.parameters(), plain.model_.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_refit_cancelled_keeps_the_validated_network_as_the_model(panel):
    from lstm_core.train import RunningLoss, StopTraining

    cfg = TINY.replace(
        training={"epochs": 6, "learning_rate": 1e-2, "start_margin": 0.0, "seed": 1}
    )
    plain = PanelForecaster(cfg.replace(training={"refit": False})).fit(panel)
    seen = []

    def on_batch(epoch: int, batch: int, batches: int) -> None:
        seen.append(epoch)
        if running.refit_epochs:  # the refit has begun
            raise StopTraining

    running, told = RunningLoss(), []

    def on_batch_told(epoch: int, batch: int, batches: int) -> None:
        told.append(running.refit_epochs)
        on_batch(epoch, batch, batches)

    cut = PanelForecaster(cfg).fit(panel, on_batch=on_batch_told, running=running)
    # the refit counts its own epochs from 1 and says how many it runs
    assert told[-1] == plain.history_.best_epoch and told[0] == 0
    assert seen[-1] == 1  # the batch that stopped it: the refit's first epoch
    assert cut.refit_history_.stopped == "cancelled" and cut.fitted_.validated is None
    assert "training again on every row did not finish (cancelled" in cut.history_.message
    assert running.refit_epochs == 0  # said while the refit ran only
    for a, b in zip(cut.model_.parameters(), plain.model_.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_panel_model_keeps_the_same_contract_as_one_series(model, panel):
    """Callers ask the model, never its kind: how many series, which, one series' view, and
    the class that learns some data (forecaster_for) or that a fitted state makes."""
    from lstm_core.panel_forecaster import forecaster_for, forecaster_from

    assert model.per_series and model.n_series == len(model.series_ids) == 5
    assert model.holds == "one model for 5 series"
    assert model.series_ids == tuple(model.series_) and set(model.skipped_) == {"short", "flat"}
    one = model.for_series(model.series_ids[2])
    assert one.model_ is model.model_, "a series' view shares the network"
    assert one.n_series == 1 and not one.per_series and one.holds == ""
    assert one.for_series(model.series_ids[2]) is one
    assert isinstance(forecaster_for(panel, TINY), PanelForecaster)
    assert isinstance(forecaster_for(panel.select(model.series_ids[0]), TINY), Forecaster)
    assert isinstance(forecaster_from(model.fitted_), PanelForecaster)
    assert isinstance(forecaster_from(one.fitted_), Forecaster)
    held = model.held_out(panel, list(model.series_ids[:2]))
    assert list(held.series) == list(model.series_ids[:2]) and not held.skipped
    pd.testing.assert_frame_equal(
        model.score(held).table, model.backtest(panel, list(model.series_ids[:2])).table
    )


def test_the_level_scale_only_divides_by_the_mean_absolute_value():
    x = np.array([[2.0, 0.0], [-4.0, 0.0], [6.0, 0.0]])
    s = Scaler.fit_level(x)
    assert s.mean == (0.0, 0.0) and s.std == (4.0, 1.0)  # a zero column: the plain fit's 1
    assert series_scaler(x, "std", "h", "level") == s == series_scaler(x, "std", "h", "series")
    assert series_scaler(x, "std", "h") == Scaler.fit(x)  # window_norm "none": as before


@pytest.mark.parametrize("norm", ["series", "level"])
def test_a_window_norm_forecasts_a_series_in_other_units_in_its_units(norm):
    base = synthetic_panel(3, length=(100, 120), seed=5).frame
    a = base[base["id"] == "S0000"]
    copy = a.assign(id="big", value=1000 * a["value"])  # the level is a ratio: no offset
    panel = read_panel(pd.concat([base, copy], ignore_index=True), "id")
    pf = PanelForecaster(TINY.replace(data={"window_norm": norm})).fit(panel)
    assert pf.config_.data.window_norm == norm and pf.model_.window_level == (norm == "level")
    fa, fb = pf.predict(panel, ["S0000"]), pf.predict(panel, ["big"])
    for q in ("q0.1", "q0.5", "q0.9"):
        np.testing.assert_allclose(fb[q], 1000 * fa[q], rtol=1e-4)
    assert np.isfinite(fa["q0.5"]).all()
