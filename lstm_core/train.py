"""The training loop: AdamW, clipping, early stopping with best weights (the untrained start
included), progress callbacks."""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

import torch

from lstm_core import distributed, threads
from lstm_core.config import TrainConfig
from lstm_core.errors import TrainingError
from lstm_core.model import ForecastNet, pinball_loss

OnEpoch = Callable[[int, float, float], None]  # (epoch starting at 1, train loss, val loss)
OnBatch = Callable[[int, int, int], None]  # (epoch, batch starting at 1, batches per epoch)
# positions of the training windows one epoch visits, in order (1-D int64, CPU), from the
# training generator: the hook a panel uses to give every series an equal share of each epoch
Order = Callable[[torch.Generator], torch.Tensor]
Stop = Literal["completed", "early_stopping", "cancelled", "non_finite"]


class RunningLoss:
    """The training loss of the epoch so far, for a live chart: ``train`` keeps the sum on the
    device and reads nothing; ``value()`` reads it (one host synchronisation), so a caller that
    asks at most a few times a second costs the GPU nothing per batch."""

    def __init__(self) -> None:
        self._total: torch.Tensor | None = None
        self._count = 0
        # while a panel's model is trained again on every row (``PanelForecaster._refit``):
        # the epochs it runs, its batches numbered from 1 again; 0 otherwise
        self.refit_epochs = 0

    def update(self, total: torch.Tensor, count: int) -> None:
        self._total, self._count = total, count

    def value(self) -> float:
        """Mean loss per window of the epoch so far (NaN before its first batch)."""
        total, count = self._total, self._count
        return float(total) / count if total is not None and count else math.nan


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
    # the trained model's and its linear start's loss on the check windows after validation,
    # which chose nothing of the network (they help choose the start's own lookback, which
    # favours the start) (empty: no check part); the start is kept unless the model wins there
    check_loss: tuple[float, ...] = ()
    test_start: int = 0  # first row of the test windows after validation (0: none)
    # the linear start's own lookback (its map has zero weights on the older steps of the
    # window; ``network.linear_start``); 0: the plain fit at the model's lookback (before it)
    start_lookback: int = 0

    @property
    def best_val_loss(self) -> float:
        """Validation loss of the weights kept."""
        return self.val_loss[self.best_epoch - 1] if self.best_epoch else self.initial_val_loss

    @property
    def kept_by_check(self) -> bool:
        """Validation chose an epoch, but the check after validation put the model back at its
        linear start (``network._check_start`` records both losses only when it checked)."""
        return self.best_epoch == 0 and len(self.check_loss) == 2

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
    In float32 even where training uses bf16, so epochs are compared at full precision; the sum
    stays on the device and is read once (one host synchronisation per call).
    """
    net.eval()
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size]
        median = net(xb).float()[..., len(net.quantiles) // 2]
        median, yb = net.relative(xb, median, y[i : i + batch_size])
        total += (median - yb).abs().sum(dtype=torch.float64)
    return float(total) / 2 / max(y.numel(), 1)


def _on_training_threads(loop: Callable[..., History]) -> Callable[..., History]:
    """Run the training ``loop`` on the CPU threads ``threads.for_training`` grants (on a GPU,
    as it is)."""

    @functools.wraps(loop)
    def run(net, train_xy, val_xy, cfg: TrainConfig, device: torch.device, *args, **kwargs):
        on_cpu = device.type == "cpu"
        with threads.limit(threads.for_training(cfg.threads)) if on_cpu else nullcontext():
            return loop(net, train_xy, val_xy, cfg, device, *args, **kwargs)

    return run


@_on_training_threads
def train(
    net: ForecastNet,
    train_xy: tuple[torch.Tensor, torch.Tensor],
    val_xy: tuple[torch.Tensor, torch.Tensor],
    cfg: TrainConfig,
    device: torch.device,
    on_epoch: OnEpoch | None = None,
    on_batch: OnBatch | None = None,
    order: Order | None = None,
    running: RunningLoss | None = None,
    keep_last: bool = False,
) -> History:
    """Train ``net`` in place on windows already on ``device``; restore the best weights (with
    ``keep_last``, a run of epochs chosen before: the last epoch's, once every epoch has run).

    Each batch starts from a fresh (zero) LSTM state. A callback may raise StopTraining.
    ``order`` picks the windows of each epoch (default: every window once, shuffled);
    ``running``, if given, follows the epoch's loss so far (read it at the rate you need). In a
    torchrun process group (``distributed.current()``) each rank takes its share of every
    batch (``cfg.batch_size`` is the global batch) and of the validation windows, and the
    losses are averaged over ranks.

    Nothing in a batch waits for the device: the loss is summed where it is computed and read
    once per epoch, where a non-finite loss stops training (the best weights are kept), so a
    GPU is never stalled by the host. On the CPU the loop runs on ``cfg.threads`` threads, or
    by default on the cores other work leaves free (``threads.for_training``: never more than
    the process's own count, which ``background.Scheduler`` sets for each training's
    process), so a training never oversubscribes a busy machine.

    It stays one function, as nanoGPT's loop does: batches, the epoch's one host sync, early
    stopping against the linear start and the stop reasons share the same few variables, and
    read top to bottom they are the whole training; split, each part would need them all.

    Raises:
        TrainingError: the loss became NaN or infinite before any epoch finished with a finite
            validation loss; ``net`` keeps the weights it came with."""
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
    opt = torch.optim.AdamW(net.param_groups(cfg.weight_decay), lr=cfg.learning_rate)
    gen = torch.Generator().manual_seed(cfg.seed)
    autocast = device.type == "cuda" and cfg.mixed_precision
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
            perm = (group.shard(perm) if group else perm).to(device, non_blocking=True)
            n, n_batches = len(perm), math.ceil(len(perm) / batch_size)  # panel: order
            total = torch.zeros((), device=device)
            for b in range(n_batches):
                idx = perm[b * batch_size : (b + 1) * batch_size]
                xb, yb = x[idx], y[idx]  # gathers only this batch
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                    loss = pinball_loss(*net.relative(xb, model(xb).float(), yb), net.quantiles)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
                opt.step()
                total += loss.detach() * len(idx)  # on the device: no wait for the GPU here
                seen += len(idx)
                if running is not None:
                    running.update(total, (b + 1) * batch_size if b + 1 < n_batches else n)
                if on_batch:
                    on_batch(epoch, b + 1, n_batches)
            epoch_loss = mean(float(total) / n, n)  # the epoch's one host synchronisation
            val_loss = mean(evaluate(net, vx, vy), len(vx))
            for what, value in (("loss", epoch_loss), ("validation loss", val_loss)):
                if not math.isfinite(value):
                    stopped = "non_finite"
                    message = (
                        f"the {what} became {value} in epoch {epoch}; training stopped and the "
                        "last good weights were kept. Lower training.learning_rate or check the "
                        "data for extreme values"
                    )
                    raise StopTraining
            losses.append(epoch_loss)
            vals.append(val_loss)
            # to replace the start, an epoch must beat it by start_margin; later, any gain
            if vals[-1] < best_val * (1 - cfg.start_margin if best_epoch == 0 else 1):
                best_val, best_epoch, bad_epochs = vals[-1], epoch, 0
                best = copy.deepcopy(net.state_dict())
            else:
                bad_epochs += 1
            if on_epoch:
                on_epoch(epoch, losses[-1], vals[-1])
            if bad_epochs >= cfg.patience and not keep_last:
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
    if keep_last and stopped == "completed":  # epochs chosen before: none is picked here
        best, best_epoch = copy.deepcopy(net.state_dict()), len(losses)
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
