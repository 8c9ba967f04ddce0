"""Checkpoints: identical forecasts after a round-trip; pickles, tampering and traversal refused."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest
import safetensors.torch
import torch

from lstm_core import checkpoint
from lstm_core.errors import CheckpointError

DEMO = Path(__file__).resolve().parent.parent / "checkpoints" / "demo.safetensors"


def test_round_trip_gives_identical_forecasts_and_metadata(fitted, series, tmp_path):
    path = checkpoint.save(fitted, "run 1", tmp_path)
    assert path.name == "run_1.safetensors"
    loaded = checkpoint.load(path)
    pd.testing.assert_frame_equal(fitted.predict(series), loaded.predict(series))
    assert loaded.config_ == fitted.config_ and loaded.history_ == fitted.history_
    assert loaded.data_hash_ == fitted.data_hash_ and loaded.inputs_ == fitted.inputs_
    (info,) = checkpoint.list_checkpoints(tmp_path)
    assert info.name == "run_1" and info.targets == ("y",) and info.error is None
    assert info.config["lstm"]["hidden_size"] == 4 and "AttentiveLSTM" in info.metrics


def test_no_temp_files_are_left_behind(fitted, tmp_path):
    checkpoint.save(fitted, "a", tmp_path)
    checkpoint.save(fitted, "a", tmp_path)  # overwrite atomically
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors"]


@pytest.mark.parametrize("name, stem", [("../../etc/passwd", "passwd"), ("a/b c", "b_c"),
                                         ("x.safetensors", "x"), ("..hidden", "hidden")])
def test_names_cannot_leave_the_folder(name, stem, fitted, tmp_path):
    path = checkpoint.save(fitted, name, tmp_path)
    assert path.parent == tmp_path and path.stem == stem


def test_unusable_names_are_refused():
    with pytest.raises(CheckpointError, match="not a usable checkpoint name"):
        checkpoint.sanitize_name("../..")


def test_a_pickle_is_refused_without_being_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle ran')",))

    for data in (pickle.dumps(Boom()), pickle.dumps({"w": 1}, protocol=2)):
        with pytest.raises(CheckpointError, match="pickle"):
            checkpoint.loads(data, "evil.pt")
    p = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(1)}, p)
    with pytest.raises(CheckpointError, match="pickle"):
        checkpoint.load(p)


def test_garbage_and_foreign_safetensors_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        checkpoint.loads(b"hello world, not a checkpoint", "x")
    p = tmp_path / "foreign.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(2)}, p)
    with pytest.raises(CheckpointError, match="not an AttentiveLSTM Studio checkpoint"):
        checkpoint.load(p)


def _rewrite(path: Path, tensors=None, **meta_changes) -> None:
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + n])["__metadata__"]
    meta.update(meta_changes)
    safetensors.torch.save_file(tensors or safetensors.torch.load(data), path, metadata=meta)


def test_weights_that_do_not_match_the_config_are_refused(fitted, tmp_path):
    path = checkpoint.save(fitted, "m", tmp_path)
    cfg = fitted.config_.replace(lstm={"hidden_size": 8})
    _rewrite(path, config=cfg.to_yaml())
    with pytest.raises(CheckpointError, match="weights do not match its config"):
        checkpoint.load(path)


def test_tampered_metadata_is_refused(fitted, tmp_path):
    path = checkpoint.save(fitted, "m", tmp_path)
    _rewrite(path, config="lstm: {dropout: 7}")
    with pytest.raises(CheckpointError, match="config is invalid"):
        checkpoint.load(path)
    (info,) = checkpoint.list_checkpoints(tmp_path)
    assert info.error is not None  # listed, with the reason, not crashing the listing


def test_delete(fitted, tmp_path):
    checkpoint.save(fitted, "gone", tmp_path)
    checkpoint.delete("gone", tmp_path)
    assert checkpoint.list_checkpoints(tmp_path) == []
    with pytest.raises(CheckpointError, match="no checkpoint named"):
        checkpoint.delete("gone", tmp_path)


def test_shipped_demo_checkpoint_loads_and_forecasts():
    from lstm_core.data import load_demo

    fc = checkpoint.load(DEMO)
    demo = load_demo("regimes")
    out = fc.predict(demo.frame)
    assert len(out) == demo.config.data.horizon and fc.inputs_ == ("y", "x1", "x2")
    # trained with the demo's own config, it beats every baseline, the linear fit included
    assert fc.config_.data.lookback == demo.config.data.lookback
    assert fc.config_.training == demo.config.training
    bt = fc.backtest(demo.frame)
    assert bt.beats_baselines and len(bt.table) == 4


def test_save_can_refuse_to_overwrite(fitted, tmp_path):
    first = checkpoint.save(fitted, "kept", tmp_path)
    before = first.read_bytes()
    with pytest.raises(CheckpointError, match="'kept' exists"):
        checkpoint.save(fitted, "kept", tmp_path, overwrite=False)
    assert first.read_bytes() == before
