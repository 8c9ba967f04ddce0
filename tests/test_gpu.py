"""On a CUDA GPU: device choice, bf16 autocast, a GPU-trained checkpoint on the CPU, and the
app's training (a Scheduler's process) and detection on cuda. Skipped without CUDA; run by
benchmarks/gpu_check.sh."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from lstm_core import checkpoint
from lstm_core.data import prepare
from lstm_core.forecaster import Forecaster
from lstm_core.train import device_name, pick_device

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture(scope="module")
def cuda_cfg(tiny_cfg):
    return tiny_cfg.replace(
        lstm={"hidden_size": 16, "num_layers": 2},
        training={"device": "cuda", "epochs": 3, "mixed_precision": True},
    )


def test_auto_picks_the_gpu_and_names_it():
    assert pick_device("auto").type == "cuda" and pick_device("cuda").type == "cuda"
    name = device_name(torch.device("cuda"))
    assert torch.cuda.get_device_name(0) in name and "GiB" in name


def test_bf16_autocast_runs_the_lstm_in_bf16_and_training_learns(series, cuda_cfg):
    fc = Forecaster(cuda_cfg).fit(series)
    h = fc.history_
    assert torch.cuda.get_device_name(0) in h.device and h.stopped == "completed"
    # it learns: the last epoch's training loss is below the first's (on the CPU, fp32: -0.8%)
    assert all(np.isfinite(h.train_loss)) and h.train_loss[-1] < h.train_loss[0]
    net = copy.deepcopy(fc.model_).cuda().train()
    L = cuda_cfg.data.lookback
    x = fc.scaled_inputs(series).unfold(0, L, 1).transpose(1, 2)[:32].cuda()
    seen = {}
    net.encoder.bilstm.lstm.register_forward_hook(lambda m, i, o: seen.update(dtype=o[0].dtype))
    with torch.autocast("cuda", dtype=torch.bfloat16):
        net(x)
    assert seen["dtype"] == torch.bfloat16, f"cuDNN's LSTM ran in {seen['dtype']} under autocast"


def test_a_checkpoint_saved_on_the_gpu_forecasts_the_same_on_the_cpu(series, cuda_cfg, tmp_path):
    fc = Forecaster(cuda_cfg).fit(series)
    L = cuda_cfg.data.lookback
    windows = fc.scaled_inputs(series).unfold(0, L, 1).transpose(1, 2)[-64:]
    with torch.no_grad():
        on_gpu = copy.deepcopy(fc.model_).cuda().eval()(windows.cuda()).float().cpu()
    path = checkpoint.save(fc, "gpu", tmp_path)
    loaded = checkpoint.load(path)
    with torch.no_grad():
        on_cpu = loaded.model_(windows)
    assert next(loaded.model_.parameters()).device.type == "cpu"
    scale = on_cpu.abs().max()
    assert torch.allclose(on_gpu, on_cpu, atol=1e-4 * float(scale), rtol=1e-4)
    assert loaded.predict(series).equals(fc.predict(series))


def test_the_apps_training_and_detection_on_cuda(series, cuda_cfg):
    from lstm_core.background import Scheduler
    from lstm_core.changepoints import detect

    job = Scheduler().train(cuda_cfg, prepare(series, cuda_cfg.data))
    assert job.wait(300), job.snapshot().error
    snap = job.snapshot()
    assert snap.status == "done", snap.error
    assert torch.cuda.get_device_name(0) in job.result.history_.device
    det = detect(series, job.result, features="combined", known=[100, 200, 300])
    assert det.trace is not None and det.trace.gate.shape[0] == len(series)
    assert det.metrics is not None
