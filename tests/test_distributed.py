"""Data-parallel training: `torchrun --nproc_per_node 2 -m lstm_core train` on two CPU
processes (gloo) follows the single-process loss curve of the same global batch, and rank 0
alone writes the checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from lstm_core import checkpoint
from lstm_core.config import Config
from lstm_core.data.demos import synthetic, synthetic_panel
from lstm_core.distributed import Group, current, setup
from lstm_core.forecaster import Forecaster
from lstm_core.panel import read_panel
from lstm_core.panel_forecaster import PanelForecaster
from tests.conftest import ROOT

# 584 rows: 448 training windows of 16 + 4 steps, a multiple of the global batch 32, so that
# no rank pads its share and both runs see exactly the same batches
CFG = Config().replace(
    data={
        "time_col": "time",
        "targets": ["y"],
        "covariates": ["x1", "x2"],
        "lookback": 16,
        "horizon": 4,
    },
    lstm={"hidden_size": 4, "num_layers": 1, "dropout": 0.0},
    training={"epochs": 3, "batch_size": 32, "device": "cpu"},
)


def test_the_ranks_batches_together_are_the_global_batch():
    order = torch.randperm(70, generator=torch.Generator().manual_seed(0))
    ranks = [Group(r, 3, r, "gloo") for r in range(3)]
    shards = [g.shard(order) for g in ranks]
    assert {len(s) for s in shards} == {24}  # 70 padded to 72 with the order's first two
    per = ranks[0].per_rank(30)  # the global batch 30 is 10 windows on each of 3 ranks
    for k in range(3):
        together = torch.cat([s[k * per : (k + 1) * per] for s in shards])
        padded = torch.cat([order, order[:2]])
        assert sorted(together.tolist()) == sorted(padded[k * 30 : (k + 1) * 30].tolist())
    assert ranks[1].split(torch.arange(7))[0].tolist() == [1, 4]


def test_one_process_is_not_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert setup() is None and current() is None


def torchrun_train(data, cfg: Config, out, *extra: str) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node 2 -m lstm_core train`` on two CPU processes."""
    config = data.parent / "c.yaml"
    config.write_text(cfg.to_yaml())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
    cmd += ["2", "-m", "lstm_core", "train", str(data), *extra, "--config", str(config)]
    run = subprocess.run(
        [*cmd, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_two_processes_follow_the_single_process_loss_curve(tmp_path):
    df, _ = synthetic(n=584, seed=1)
    data = tmp_path / "s.csv"
    df.to_csv(data, index=False)
    run = torchrun_train(data, CFG, tmp_path / "ddp")
    assert "per process, 2 processes (gloo)" in run.stdout
    assert run.stdout.count("checkpoint:") == 1  # rank 0 alone reports and saves
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "ddp.safetensors", "s.csv"]
    two = checkpoint.load(tmp_path / "ddp.safetensors").history_
    one = Forecaster(CFG).fit(df).history_
    assert len(two.val_loss) == len(one.val_loss) == 3
    assert two.initial_val_loss == pytest.approx(one.initial_val_loss, rel=1e-6)
    assert two.train_loss == pytest.approx(one.train_loss, rel=1e-4)
    assert two.val_loss == pytest.approx(one.val_loss, rel=1e-4)


def test_a_panel_on_two_processes_follows_the_single_process_loss_curve(tmp_path):
    # 4 series of 124 rows: 80 training windows each, so an epoch's equal shares (320) are
    # 10 global batches of 32 and no rank pads its share
    frame = synthetic_panel(4, length=(124, 124), seed=3).frame
    data = tmp_path / "panel.csv"
    frame.to_csv(data, index=False)
    cfg = CFG.replace(data={"time_col": None, "targets": [], "covariates": []})
    run = torchrun_train(data, cfg, tmp_path / "fleet", "--id-col", "id")
    assert "series: 4 of 4" in run.stdout and run.stdout.count("checkpoint:") == 1
    two = checkpoint.load(tmp_path / "fleet.safetensors")
    one = PanelForecaster(cfg).fit(read_panel(frame, "id"))
    assert two.series_ids == one.series_ids and len(two.history_.val_loss) == 3
    assert two.history_.train_loss == pytest.approx(one.history_.train_loss, rel=1e-4)
    assert two.history_.val_loss == pytest.approx(one.history_.val_loss, rel=1e-4)
