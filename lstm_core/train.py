"""The training loop: AdamW, clipping, early stopping with best weights (the untrained start
included), progress callbacks."""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch

from lstm_core import distributed
from lstm_core.config import TrainConfig
from lstm_core.errors import TrainingError
from lstm_core.model import ForecastNet, pinball_loss

OnEpoch = Callable[[int, float, float], None]  # (epoch starting at 1, train loss, val loss)
OnBatch = Callable[[int, int, int], None]  # (epoch, batch starting at 1, batches per epoch)
# positions of the training windows one epoch visits, in order (1-D int64, CPU), from the
# training generator: the hook a panel uses to give every series an equal share of each epoch
Order = Callable[[torch.Generator], torch.Tensor]
Stop = Literal["completed", "early_stopping", "cancelled", "non_finite"]


class StopTraining(Exception):
    """Raise from a callback to stop training cleanly; the best weights so far are kept."""


@dataclass(frozen=True)
class History:
    """What happened during training."""

    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    best_epoch: int  # 1-based; 0: no epoch beat the start (the linear fit), which was kept
    stopped: Stop
    message: str
    device: str
    seconds: float
    windows_per_sec: float
    initial_val_loss: float = math.nan  # validation loss before the first epoch

    @property
    def best_val_loss(self) -> float:
        """Validation loss of the weights kept."""
        return self.val_loss[self.best_epoch - 1] if self.best_epoch else self.initial_val_loss

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def pick_device(preference: str = "auto") -> torch.device:
    """CUDA if available, else MPS, else CPU, unless a device is named."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        from lstm_core.errors import ConfigError

        raise ConfigError("training.device: cuda is not available here; use auto or cpu")
    if preference == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        from lstm_core.errors import ConfigError

        raise ConfigError("training.device: mps is not available here; use auto or cpu")
    return torch.device(preference)


def device_name(device: torch.device) -> str:
    """Human-readable device: GPU name and memory, or the CPU with its thread count."""
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return f"{p.name} ({p.total_memory / 2**30:.0f} GiB)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


@torch.no_grad()
def evaluate(net: ForecastNet, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """Validation loss: mean pinball loss of the median forecast (half its MAE) of ``net`` on
    windows x (N, L, F), y (N, H, K).

    The median alone, as the backtest's verdict judges the point forecast: with every quantile,
    better intervals could hide a worse forecast and keep an epoch that lost to the start.
    """
    net.eval()
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i : i + batch_size], y[i : i + batch_size]
        median = net(xb).float()[..., len(net.quantiles) // 2]
        total += float((median - yb).abs().mean()) / 2 * len(xb)
    return total / max(len(x), 1)


_THREADS_LOCK = threading.Lock()
_threads_users = 0  # trainings inside cpu_threads; torch's thread count is process-wide
_threads_before = 0


@contextmanager
def cpu_threads(device: torch.device, net: torch.nn.Module):
    """Small LSTMs run fastest on one CPU thread: their matrices are too small to split, and
    extra threads only wait on each other (50x slower here when another process shares the
    cores). Larger models keep torch's thread count. Overlapping users (two trainings in one
    server) share the setting: the first sets it, the last restores it."""
    global _threads_users, _threads_before
    small = sum(p.numel() for p in net.parameters()) < 2_000_000
    if device.type != "cpu" or not small:
        yield
        return
    with _THREADS_LOCK:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
            torch.set_num_threads(1)
        _threads_users += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_before)


def train(
    net: ForecastNet,
    train_xy: tuple[torch.Tensor, torch.Tensor],
    val_xy: tuple[torch.Tensor, torch.Tensor],
    cfg: TrainConfig,
    device: torch.device,
    on_epoch: OnEpoch | None = None,
    on_batch: OnBatch | None = None,
    order: Order | None = None,
) -> History:
    """Train ``net`` in place on windows already on ``device``; restore the best weights.

    Each batch starts from a fresh (zero) LSTM state. A callback may raise StopTraining.
    ``order`` picks the windows of each epoch (default: every window once, shuffled). In a
    torchrun process group (``distributed.current()``) each rank takes its share of every
    batch (``cfg.batch_size`` is the global batch) and of the validation windows, and the
    losses are averaged over ranks.

    Raises:
        TrainingError: the loss became NaN or infinite before any epoch finished with a finite
            validation loss; ``net`` keeps the weights it came with.
    """
    with cpu_threads(device, net):
        return _train(net, train_xy, val_xy, cfg, device, on_epoch, on_batch, order)


def _train(net, train_xy, val_xy, cfg, device, on_epoch, on_batch, order) -> History:
    x, y = train_xy
    vx, vy = val_xy
    net.to(device)
    # -- data-parallel hook (lstm_core.distributed); outside torchrun: the plain loop
    group = distributed.current()
    batch_size = group.per_rank(cfg.batch_size) if group else cfg.batch_size
    model = group.wrap(net) if group else net  # forward through DDP: gradients are averaged
    if group:
        vx, vy = group.split(vx, vy)

    def mean(value: float, count: int) -> float:  # over ranks (the value itself in one process)
        return group.mean(value, count) if group else value

    # --
    # no weight decay on the linear path: it would pull the ridge fit to "repeat the last value"
    linear = [p for name, p in net.named_parameters() if name.startswith("nlinear.")]
    rest = [p for name, p in net.named_parameters() if not name.startswith("nlinear.")]
    opt = torch.optim.AdamW(
        [{"params": rest}, {"params": linear, "weight_decay": 0.0}],
        lr=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    autocast = device.type == "cuda" and cfg.mixed_precision
    n = len(x)
    n_batches = math.ceil(n / cfg.batch_size)
    # the start (the linear fit with its error quantiles) competes with every epoch
    best = copy.deepcopy(net.state_dict())
    initial = best_val = mean(evaluate(net, vx, vy), len(vx))
    best_epoch, bad_epochs = 0, 0
    losses: list[float] = []
    vals: list[float] = []
    stopped: Stop = "completed"
    message = ""
    seen = 0
    start = time.perf_counter()
    try:
        for epoch in range(1, cfg.epochs + 1):
            net.train()
            perm = order(gen) if order else torch.randperm(len(x), generator=gen)
            perm = (group.shard(perm) if group else perm).to(device)
            n, n_batches = len(perm), math.ceil(len(perm) / batch_size)  # panel: order
            total = 0.0
            for b in range(n_batches):
                idx = perm[b * batch_size : (b + 1) * batch_size]
                xb, yb = x[idx], y[idx]  # gathers only this batch
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                    loss = pinball_loss(model(xb).float(), yb, net.quantiles)
                if not torch.isfinite(loss):
                    stopped = "non_finite"
                    message = (
                        f"the loss became {float(loss.detach())} in epoch {epoch}; training stopped and the "
                        "last good weights were kept. Lower training.learning_rate or check the "
                        "data for extreme values"
                    )
                    raise StopTraining
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
                opt.step()
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
                if on_batch:
                    on_batch(epoch, b + 1, n_batches)
            losses.append(mean(total / n, n))
            vals.append(mean(evaluate(net, vx, vy), len(vx)))
            if not math.isfinite(vals[-1]):
                stopped = "non_finite"
                message = (
                    f"the validation loss became {vals[-1]} in epoch {epoch}; training stopped "
                    "and the last good weights were kept. Lower training.learning_rate or "
                    "check the data for extreme values"
                )
                raise StopTraining
            if vals[-1] < best_val:
                best_val, best_epoch, bad_epochs = vals[-1], epoch, 0
                best = copy.deepcopy(net.state_dict())
            else:
                bad_epochs += 1
            if on_epoch:
                on_epoch(epoch, losses[-1], vals[-1])
            if bad_epochs >= cfg.patience:
                stopped = "early_stopping"
                message = (
                    f"early stopping at epoch {epoch}: no validation improvement for "
                    f"{cfg.patience} epochs; best epoch {best_epoch}"
                )
                break
    except StopTraining:
        if stopped != "non_finite":
            stopped = "cancelled"
            message = f"cancelled after {len(losses)} epoch(s); kept the best weights so far"
    net.load_state_dict(best)
    net.eval()
    if stopped == "non_finite" and best_epoch == 0:  # nothing learnt: no model to present
        raise TrainingError(
            f"{message.split(';')[0]}, before any epoch finished; nothing was trained. Lower "
            "training.learning_rate or check the data for extreme values"
        )
    seconds = time.perf_counter() - start
    if stopped == "completed":
        message = f"trained {len(losses)} epochs; best epoch {best_epoch}"
    if best_epoch == 0 and losses:
        message += (
            "; no epoch beat the starting linear fit on validation, so the model is that fit"
        )
    return History(
        train_loss=tuple(losses),
        val_loss=tuple(vals),
        best_epoch=best_epoch,
        stopped=stopped,
        message=message,
        device=device_name(device),
        seconds=seconds,
        windows_per_sec=seen / seconds if seconds > 0 else 0.0,
        initial_val_loss=initial,
    )
