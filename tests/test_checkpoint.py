"""Checkpoints: identical forecasts after a round-trip; pickles, tampering and traversal refused;
ownership by identity, the trash and undo, and the no-overwrite save race (issue 17)."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pandas as pd
import pytest
import safetensors.torch
import torch

from lstm_core import checkpoint
from lstm_core.errors import CheckpointError, CheckpointExists, DeleteRefused

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


def test_shipped_demo_checkpoint_loads_and_forecasts():
    from lstm_core.data import load_demo

    fc = checkpoint.load(DEMO)
    demo = load_demo("regimes")
    out = fc.predict(demo.frame)
    assert len(out) == demo.config.data.horizon and fc.inputs_ == ("y", "x1", "x2")
    # trained with the demo's own config by this version: its backtest scores the test part
    # (windows that chose nothing), where it does not beat the linear fit, and says so
    assert fc.config_.data.lookback == demo.config.data.lookback
    assert fc.config_.training == demo.config.training
    bt = fc.backtest(demo.frame)
    assert bt.scored_on == "test" and "chose nothing" in bt.verdict
    assert not bt.beats_baselines and "does not beat the best baseline" in bt.verdict
    assert bt.best_baseline.startswith("linear") and len(bt.table) == 5


def test_save_can_refuse_to_overwrite(fitted, tmp_path):
    first = checkpoint.save(fitted, "kept", tmp_path)
    before = first.read_bytes()
    with pytest.raises(CheckpointError, match="'kept' exists"):
        checkpoint.save(fitted, "kept", tmp_path, overwrite=False)
    assert first.read_bytes() == before


# ---------------------------------------------------------------- hostile checkpoints (issue 10)


def _parts(path: Path) -> tuple[dict, dict]:
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    return safetensors.torch.load(data), json.loads(data[8 : 8 + n])["__metadata__"]


def _with_config(meta: dict, **changes) -> dict:
    import yaml

    raw = yaml.safe_load(meta["config"])
    for section, values in changes.items():
        raw[section].update(values)
    return {**meta, "config": yaml.safe_dump(raw)}


@pytest.fixture()
def saved(fitted, tmp_path) -> Path:
    return checkpoint.save(fitted, "m", tmp_path)


def test_a_config_with_hidden_size_null_is_refused_cleanly(saved):
    tensors, meta = _parts(saved)
    data = safetensors.torch.save(tensors, metadata=_with_config(meta, lstm={"hidden_size": None}))
    with pytest.raises(CheckpointError, match="lstm.hidden_size is null, but a trained model"):
        checkpoint.loads(data, "x.safetensors")


@pytest.mark.parametrize("changes, words", [
    ({"lstm": {"hidden_size": 8000}}, "lstm.hidden_size: 8000 is not allowed"),
    ({"lstm": {"hidden_size": 10_000_000}}, "lstm.hidden_size"),
    ({"data": {"lookback": 1_000_000_000}}, "data.lookback"),
    ({"data": {"horizon": 100_000_000}}, "data.horizon"),
    ({"data": {"frequency": 12345}}, "data.frequency"),
    ({"lstm": {"hidden_size": 1000}}, "weights do not match its config"),  # in range, wrong size
    ({"data": {"lookback": 10_000}}, "weights do not match its config"),
])
def test_a_config_is_validated_against_the_file_before_anything_is_built(
    saved, changes, words, monkeypatch
):
    built = []
    real = checkpoint.load_network
    monkeypatch.setattr(checkpoint, "load_network",
                        lambda *a, **k: (built.append(1), real(*a, **k))[1])
    tensors, meta = _parts(saved)
    data = safetensors.torch.save(tensors, metadata=_with_config(meta, **changes))
    with pytest.raises(CheckpointError, match=re.escape(words)) as e:
        checkpoint.loads(data, "x.safetensors")
    assert not built and len(str(e.value)) < 300  # refused from the header: nothing allocated


@pytest.mark.parametrize("key, value, words", [
    ("frequency", "12345", "metadata field 'frequency' has the wrong type"),
    ("frequency", '"fortnightly"', "is not a pandas frequency"),
    ("history", "[" * 10_000 + "]" * 10_000, "metadata field 'history'"),
    ("scaler", '{"mean": [0, 0, 0], "std": [1e999, 1, 1]}', "scaler std must be 3 positive"),
    ("scaler", '{"mean": [0], "std": [1]}', "scaler mean must be 3"),
    ("columns", '{"inputs": ["y", "y"], "targets": ["y"], "time_col": null}', "distinct"),
    ("columns", '{"inputs": ["a", "b", "c"], "targets": ["a"], "time_col": null}', "differ"),
    ("split", "-4", "split -4 is out of range"),
    ("config", "a: &a 1\ndata: {lookback: *a}", "aliases"),
])
def test_malformed_metadata_is_refused_by_name(saved, key, value, words):
    tensors, meta = _parts(saved)
    data = safetensors.torch.save(tensors, metadata={**meta, key: value})
    with pytest.raises(CheckpointError, match=re.escape(words)):
        checkpoint.loads(data, "x.safetensors")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(saved, bad):
    tensors, meta = _parts(saved)
    tensors["head.bias"][0] = bad
    meta.pop("weights_sha256")
    with pytest.raises(CheckpointError, match="hold NaN or infinite values"):
        checkpoint.loads(safetensors.torch.save(tensors, metadata=meta), "x.safetensors")


def test_the_weights_checksum_is_stored_and_verified(saved, fitted):
    tensors, meta = _parts(saved)
    assert meta["weights_sha256"] == checkpoint.weights_digest(fitted.model_.state_dict())
    torn = {k: torch.zeros_like(v) if i > 1 else v for i, (k, v) in enumerate(tensors.items())}
    with pytest.raises(CheckpointError, match="do not match the checksum"):
        checkpoint.loads(safetensors.torch.save(torn, metadata=meta), "x.safetensors")
    meta.pop("weights_sha256")  # files saved before checksums existed still load
    assert checkpoint.loads(safetensors.torch.save(tensors, metadata=meta)).fingerprint() == \
        fitted.fingerprint()


def _with_header_length(saved: Path, target: int) -> bytes:
    """The same checkpoint, its header padded (an extra metadata key) to ``target`` bytes."""
    tensors, meta = _parts(saved)
    base = int.from_bytes(safetensors.torch.save(tensors, metadata={**meta, "pad": ""})[:8],
                          "little")
    for extra in range(target - base - 16, target - base + 16):
        data = safetensors.torch.save(tensors, metadata={**meta, "pad": " " * max(extra, 0)})
        if int.from_bytes(data[:8], "little") == target:
            return data
    raise AssertionError(f"could not pad the header to {target}")


@pytest.mark.parametrize("target, looks_like", [
    (0x10480, b"\x80\x04"),  # the first bytes of a protocol-4 pickle
    (0x10580, b"\x80\x05"),
    (0x4B50, b"PK"),  # the first bytes of a zip (torch.save)
    (0x12380, b"\x80#"),  # any length whose low byte is 0x80 (the 45th save of issue 10)
])
def test_real_checkpoints_whose_length_looks_like_a_pickle_are_loaded(saved, fitted, target,
                                                                      looks_like):
    data = _with_header_length(saved, target)
    assert data[: len(looks_like)] == looks_like
    assert checkpoint.loads(data, "x.safetensors").fingerprint() == fitted.fingerprint()


def test_truncated_and_structureless_files_are_refused(saved):
    data = saved.read_bytes()
    for broken in (data[: len(data) // 2], (2**63).to_bytes(8, "little") + data[8:], b"\x80"):
        with pytest.raises(CheckpointError, match="not a valid safetensors file"):
            checkpoint.loads(broken, "x")


def test_checkpoint_files_that_are_devices_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="folder"):
        checkpoint.load(tmp_path)
    if Path("/dev/zero").exists():
        with pytest.raises(CheckpointError, match="device or pipe"):
            checkpoint.load("/dev/zero")


# ---------------------------------------------------------------- durable saves


def test_save_fsyncs_the_file_and_the_folder_before_and_after_the_rename(fitted, tmp_path,
                                                                        monkeypatch):
    import os

    from lstm_core import safeio

    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(safeio.os, "fsync", lambda fd: (events.append(
        "fsync folder" if Path(f"/proc/self/fd/{fd}").resolve() == tmp_path else "fsync file"),
        real_fsync(fd))[1])
    monkeypatch.setattr(safeio.os, "replace", lambda a, b: (events.append(
        f"rename {Path(a).parent == tmp_path and Path(a).name.startswith('.tmp-')}"),
        real_replace(a, b))[1])
    checkpoint.save(fitted, "d", tmp_path)
    assert events == ["fsync file", "rename True", "fsync folder"]


def test_a_failed_save_keeps_the_previous_file_and_leaves_no_temp(fitted, tmp_path, monkeypatch):
    import errno
    import os

    from lstm_core import safeio

    first = checkpoint.save(fitted, "kept", tmp_path).read_bytes()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safeio.os, "fsync", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device.*file is unchanged"):
        checkpoint.save(fitted, "kept", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.safetensors"]
    assert (tmp_path / "kept.safetensors").read_bytes() == first


def test_stale_temp_files_are_removed_and_fresh_ones_kept(fitted, tmp_path):
    import os
    import time

    stale, fresh = tmp_path / ".tmp-dead.safetensors", tmp_path / ".tmp-busy.safetensors"
    stale.write_bytes(b"\0" * 100)
    fresh.write_bytes(b"\0" * 100)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    checkpoint.save(fitted, "new", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-busy.safetensors",
                                                         "new.safetensors"]
    assert [i.name for i in checkpoint.list_checkpoints(tmp_path)] == ["new"]


def _untrained(seed: int):
    """A small forecaster with seeded random weights (a save needs no training)."""
    from lstm_core.config import Config
    from lstm_core.data import Scaler
    from lstm_core.fitted import Fitted, SeriesFit
    from lstm_core.forecaster import Forecaster
    from lstm_core.network import build_net
    from lstm_core.train import History

    cfg = Config().replace(data={"lookback": 8, "horizon": 2, "targets": ["y"]},
                           lstm={"hidden_size": 64})
    torch.manual_seed(seed)
    net = build_net(cfg, 1, 1).eval()
    history = History((1.0,), (1.0,), 1, "completed", "", "CPU", 0.0, 0.0)
    series = {"": SeriesFit(Scaler((0.0,), (1.0,)), 10, None)}
    return Forecaster.restore(Fitted(cfg, net, history, inputs=("y",), targets=("y",),
                                     time_col=None, series=series))


class _Torn:
    """A file whose one write stops at byte ``cut`` and then pauses."""

    def __init__(self, fh, cut: int, pause):
        self.fh, self.cut, self.pause = fh, cut, pause

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.fh.__exit__(*exc)

    def write(self, data):
        self.fh.write(data[: self.cut])
        self.fh.flush()
        self.pause(f"wrote {self.cut} of {len(data)} bytes")

    def __getattr__(self, name):
        return getattr(self.fh, name)


@pytest.mark.parametrize(
    "stage, kept", [("torn", "old"), ("before rename", "old"), ("after rename", "new")]
)
def test_kill_9_during_a_save_leaves_the_old_file_or_the_new_one(tmp_path, stage, kept):
    """A model is saved; a forked child saves another over it and is killed -9 at a known point
    of that save: in the middle of the temp file (at a seeded byte), with the temp file whole
    but not renamed, or just after the rename. The target then loads as the old model or as
    the new one, whole, and the leftover temp file is never listed. No clock: the child says
    where it is and waits for the kill."""
    import os
    import random
    import select
    import signal

    old, new = _untrained(1), _untrained(2)
    assert old.fingerprint() != new.fingerprint()
    checkpoint.save(old, "m", tmp_path)
    size = len((tmp_path / "m.safetensors").read_bytes())
    cut = random.Random(345).randrange(1, size)  # seeded: the same torn byte every run
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: hooks in its own copy of os, then the save
        try:
            os.close(read)

            def pause(where: str) -> None:
                os.write(write, f"{where}\n".encode())
                while True:
                    signal.pause()  # until the kill -9

            real_fdopen, real_replace = os.fdopen, os.replace
            if stage == "torn":
                os.fdopen = lambda *a, **k: _Torn(real_fdopen(*a, **k), cut, pause)
            else:
                os.replace = lambda src, dst: (
                    real_replace(src, dst) if stage == "after rename" else None,
                    pause(stage),
                )
            checkpoint.save(new, "m", tmp_path)
        finally:
            os._exit(1)  # never back into pytest
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 60)  # a child stuck at fork fails, not hangs
        assert ready, "the child did not reach the point of the kill"
        with os.fdopen(read) as said:
            where = said.readline()
        expected = f"wrote {cut} of {size} bytes" if stage == "torn" else stage
        assert where == f"{expected}\n", where
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    fc = checkpoint.load(tmp_path / "m.safetensors")
    assert fc.fingerprint() == {"old": old, "new": new}[kept].fingerprint()
    assert [i.name for i in checkpoint.list_checkpoints(tmp_path)] == ["m"]
    leftover = kept == "old"  # a temp file, until a later save clears it once it is stale
    assert len(list(tmp_path.glob(".tmp-*"))) == leftover


def test_listing_skips_pipes_and_folders_named_like_checkpoints(fitted, tmp_path):
    import os

    checkpoint.save(fitted, "real", tmp_path)
    (tmp_path / "dir.safetensors").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.safetensors")  # opening it would block the listing
    assert [i.name for i in checkpoint.list_checkpoints(tmp_path)] == ["real"]


# ---------------------------------------------------------------- ownership and trash (issue 17)


def test_a_checkpoint_stores_a_hash_of_its_owner_never_the_id(fitted, tmp_path):
    path = checkpoint.save(fitted, "mine", tmp_path, owner="secret-owner-id")
    assert b"secret-owner-id" not in path.read_bytes()
    assert checkpoint.owner_of(path) == checkpoint.owner_token("secret-owner-id")
    assert checkpoint.owner_token("secret-owner-id") != checkpoint.owner_token("other")
    assert checkpoint.load(path).fingerprint() == fitted.fingerprint(), "loads as before"


def test_ownership_goes_by_identity_not_by_name(fitted, tmp_path, monkeypatch):
    """Issue 17, item 6: A saves and deletes "shared", B saves another "shared"; A may not
    delete B's file, and A's undo brings back A's own file, not B's."""
    monkeypatch.delenv(checkpoint.ADMIN_ENV, raising=False)
    a_file = checkpoint.save(fitted, "shared", tmp_path, overwrite=False, owner="A")
    a_bytes = a_file.read_bytes()
    a_id = checkpoint.trash(a_file, "A")
    assert not a_file.exists()
    b_model = checkpoint.load(a_file.parent / checkpoint.TRASH / (a_id + checkpoint.SUFFIX))
    with torch.no_grad():
        next(b_model.model_.parameters()).add_(0.5)  # another model of the same name
    b_file = checkpoint.save(b_model, "shared", tmp_path, overwrite=False, owner="B")
    b_bytes = b_file.read_bytes()
    assert not checkpoint.may_delete(b_file, "A")
    assert "someone else" in checkpoint.delete_refusal(b_file, "A")
    with pytest.raises(DeleteRefused, match="only its owner"):
        checkpoint.trash(b_file, "A")
    assert b_file.read_bytes() == b_bytes, "B's file is untouched"
    b_id = checkpoint.trash(b_file, "B")  # a second "shared" in the trash: both are kept
    assert b_id != a_id and len(list((tmp_path / checkpoint.TRASH).iterdir())) == 2
    with pytest.raises(DeleteRefused, match="deleted by someone else"):
        checkpoint.restore(b_id, "A", tmp_path)
    assert checkpoint.restore(b_id, "B", tmp_path) == b_file
    restored = checkpoint.restore(a_id, "A", tmp_path)
    assert restored.name == "shared-restored.safetensors", "shared is B's now: a free name"
    assert restored.read_bytes() == a_bytes and b_file.read_bytes() == b_bytes
    assert checkpoint.load(restored).fingerprint() == fitted.fingerprint()
    assert checkpoint.load(b_file).fingerprint() == b_model.fingerprint()
    with pytest.raises(CheckpointError, match="no longer in the trash"):
        checkpoint.restore(a_id, "A", tmp_path)


def test_the_owner_still_deletes_after_a_restart(fitted, tmp_path, monkeypatch):
    """Nothing is remembered in memory: the file alone says who owns it."""
    monkeypatch.delenv(checkpoint.ADMIN_ENV, raising=False)
    checkpoint.save(fitted, "kept", tmp_path, owner="A")
    path = tmp_path / "kept.safetensors"  # a fresh lookup, as a restarted server makes
    assert checkpoint.may_delete(path, "A") and not checkpoint.may_delete(path, None)
    checkpoint.trash(path, "A")
    assert checkpoint.list_checkpoints(tmp_path) == []


def test_files_without_an_owner_and_the_demo(fitted, tmp_path, monkeypatch):
    monkeypatch.delenv(checkpoint.ADMIN_ENV, raising=False)
    old = checkpoint.save(fitted, "old", tmp_path)  # as older versions saved: no owner
    why = checkpoint.delete_refusal(old, "A")
    assert "records no owner" in why and "STUDIO_ADMIN=1" in why
    forged = checkpoint.save(fitted, "forged", tmp_path)
    _rewrite(forged, owner="\u00e9" * 64)  # not a token: never compared, never a crash
    assert checkpoint.owner_of(forged) is None and not checkpoint.may_delete(forged, "A")
    with pytest.raises(DeleteRefused):
        checkpoint.trash(old, "A")
    assert checkpoint.may_delete(old, None, admin=True)
    monkeypatch.setenv(checkpoint.ADMIN_ENV, "1")
    assert checkpoint.may_delete(old, "A"), "STUDIO_ADMIN=1 is the default for admin"
    restored = checkpoint.restore(checkpoint.trash(old, "A"), "A", tmp_path)
    assert restored == old
    assert "shipped demo" in checkpoint.delete_refusal(checkpoint.DEMO, "A", admin=True)
    with pytest.raises(DeleteRefused):
        checkpoint.trash(checkpoint.DEMO, "A", admin=True)
    assert checkpoint.DEMO.exists()


@pytest.mark.parametrize("bad", ["../x", "0" * 32 + "-../../etc", "abc", "0" * 32, None])
def test_restore_refuses_malformed_trash_ids(bad, tmp_path):
    with pytest.raises(CheckpointError, match="not a trash id"):
        checkpoint.restore(bad, "A", tmp_path)


def test_the_trash_is_purged_after_a_day(fitted, tmp_path):
    import os
    import time

    old_id = checkpoint.trash(checkpoint.save(fitted, "old", tmp_path, owner="A"), "A")
    old = tmp_path / checkpoint.TRASH / (old_id + checkpoint.SUFFIX)
    long_ago = time.time() - checkpoint.TRASH_KEEP_S - 60
    os.utime(old, (long_ago, long_ago))
    new_id = checkpoint.trash(checkpoint.save(fitted, "new", tmp_path, owner="A"), "A")
    assert not old.exists(), "deleting purges what waited longer than a day"
    assert checkpoint.purge_trash(tmp_path) == 0
    assert checkpoint.restore(new_id, "A", tmp_path).exists()


def _race_saver(who, source, folder, rounds, barrier, results) -> None:
    """One of two processes: each round, wait for the other, then save the round's name."""
    fc = checkpoint.load(source)
    for i in range(rounds):
        barrier.wait(timeout=120)
        try:
            checkpoint.save(fc, f"race{i}", folder, overwrite=False, owner=who)
            results.put((i, who, "saved"))
        except CheckpointExists:
            results.put((i, who, "exists"))


def test_two_processes_saving_one_name_exactly_one_wins(fitted, tmp_path):
    """Issue 17, item 7: released together by a barrier, 20 times, two processes save the same
    free name without overwrite; one saves, the other gets CheckpointExists, and the file is
    the winner's."""
    import multiprocessing

    rounds = 20
    source = checkpoint.save(fitted, "source", tmp_path / "source")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_race_saver, args=(who, source, tmp_path, rounds, barrier, results))
        for who in ("A", "B")
    ]
    for p in procs:
        p.start()
    try:
        outcomes = [results.get(timeout=300) for _ in range(2 * rounds)]
    finally:
        for p in procs:
            p.join(timeout=60)
            p.kill()
    for i in range(rounds):
        mine = sorted((what, who) for r, who, what in outcomes if r == i)
        assert [what for what, _ in mine] == ["exists", "saved"], (i, mine)
        path = tmp_path / f"race{i}.safetensors"
        assert checkpoint.owner_of(path) == checkpoint.owner_token(mine[1][1]), "the winner's"
        assert checkpoint.load(path).fingerprint() == fitted.fingerprint()
    assert not list(tmp_path.glob(".tmp-*")), "the loser leaves no temp file"
