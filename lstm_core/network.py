"""The network of a forecaster: built from its config (refused when too large), started at
the linear fit, trained, and kept only where it beats that start."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.overrides import TorchFunctionMode

from lstm_core import baselines, threads
from lstm_core.config import Config
from lstm_core.data import make_windows
from lstm_core.errors import ConfigError
from lstm_core.model import ForecastNet
from lstm_core.train import History, OnBatch, OnEpoch, Order, RunningLoss, evaluate, train

MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights (x4 with AdamW's state in training)
MAX_BATCH_BYTES = 4 << 30  # one batch of windows and what the network keeps for it


def build_net(config: Config, input_size: int, n_targets: int, meta: bool = False) -> ForecastNet:
    """The network a config describes (``config.lstm.hidden_size`` already resolved).

    It is first built on torch's "meta" device, which records shapes without allocating, so a
    config that asks for too many weights is refused before any memory is taken. ``meta=True``
    returns that shape-only network (what a checkpoint loader compares a file's tensors with).

    Raises:
        ConfigError: the network would have more than MAX_PARAMETERS weights.
    """
    lstm = config.lstm
    if lstm.hidden_size is None:
        raise ConfigError("lstm.hidden_size must be resolved before building", "lstm.hidden_size")

    with torch.device("meta"), _NoRandomNumbers():
        shapes = ForecastNet.from_config(config, input_size, n_targets)
    size = sum(p.numel() for p in shapes.parameters())
    if size > MAX_PARAMETERS:
        raise ConfigError(
            f"lstm: this network would have {size:,} weights (hidden_size {lstm.hidden_size}, "
            f"{lstm.num_layers} layers, {input_size} inputs, lookback {config.data.lookback}, "
            f"horizon {config.data.horizon}), over the {MAX_PARAMETERS:,} allowed; make it smaller",
            "lstm.hidden_size",
        )
    return shapes if meta else ForecastNet.from_config(config, input_size, n_targets)


def check_memory(config: Config, n_inputs: int, n_train: int, n_held_out: int) -> None:
    """Refuse sizes whose tensors would exceed MAX_BATCH_BYTES, before any is allocated.

    An estimate: a training batch gathers (batch, lookback, inputs) windows and keeps ~12
    floats per hidden unit, layer and step for the backward pass; validation (batches of 1024)
    and backtest inference (2048) keep ~8 per hidden unit and step, one layer at a time, after
    gathering every held-out window.

    Raises:
        ConfigError: naming the sizes to lower.
    """
    d, lstm, t = config.data, config.lstm, config.training
    width = (lstm.hidden_size or 1) * (2 if lstm.bidirectional else 1)
    steps = d.lookback * 4  # bytes per float32 and step
    train = min(t.batch_size, max(n_train, 1)) * steps * (n_inputs + 12 * width * lstm.num_layers)
    infer = min(2048, max(n_held_out, 1)) * steps * (n_inputs + 8 * width)
    need = max(train, infer) + max(n_held_out, 0) * steps * n_inputs
    if need > MAX_BATCH_BYTES:
        raise ConfigError(
            f"training.batch_size {t.batch_size} x data.lookback {d.lookback} x {n_inputs} "
            f"inputs (hidden width {width}) would take about {need / 2**30:.1f} GB at once, "
            f"over {MAX_BATCH_BYTES >> 30} GB; lower the batch size, the lookback or "
            "lstm.hidden_size",
            "training.batch_size",
        )


class _NoRandomNumbers(TorchFunctionMode):
    """Shapes need no random numbers: under it ``torch.randn``/``rand`` return empty tensors.
    On the meta device torch draws them through a Python decomposition that costs 0.5 s and
    ~40 MB on first use; an empty tensor costs nothing."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.randn, torch.rand):
            return torch.empty(*args, **kwargs)
        return func(*args, **kwargs)


def load_network(
    config: Config, weights: dict[str, torch.Tensor], n_inputs: int, n_targets: int
) -> ForecastNet:
    """The network ``config`` describes holding ``weights`` (a state dict), in eval mode.

    Raises:
        ConfigError: the network would be too large; RuntimeError: ``weights`` do not fit it.
    """
    net = build_net(config, n_inputs, n_targets)
    net.load_state_dict(weights)
    return net.eval()


@dataclass(frozen=True)
class LinearStart:
    """Where the network's linear path starts, and what it becomes if the start is kept: the
    backtest's linear baseline itself where its lookback fits in the model's (``linear_start``)."""

    lookback: int  # the map's own lookback (its weights on older steps of the window are zero)
    fit: baselines.LinearFit  # (H, L) on the training rows: the network's start
    refit: baselines.LinearFit  # (H, L) the same map on every row of ``rows``: a kept start's
    rows: torch.Tensor  # (T, F) scaled rows before the test part (the refit's spreads' windows)


def linear_start(
    rows: torch.Tensor, split: int, lookback: int, horizon: int, n_targets: int,
    candidates: Sequence[int],
) -> LinearStart:
    """The linear baseline at its own best lookback among ``candidates`` up to the model's
    (``baselines.choose_lookback``: fitted on rows ``[0, split)``, chosen on the windows after
    them, the same choice the backtest's linear row makes), as a map over ``lookback`` steps.
    A linear map over L' <= L steps is a map over L with zero weights on the older steps.

    Args:
        rows: (T, F) scaled rows before the test part, targets first (T == split: no part to
            choose on; the longest affordable candidate is taken).
        candidates: lookbacks the backtest's linear baseline tries; those above ``lookback``
            do not fit in the model's window and are left out.
    """
    targets = rows[:, :n_targets].double().cpu().numpy()
    own = [lb for lb in candidates if lb <= lookback] or [lookback]
    best = baselines.choose_lookback(targets, split, len(rows), horizon, own)
    fit = baselines.fit_linear(targets[:split], best, horizon).padded(lookback)
    if len(rows) > split:  # the same choice refitted on every row before the test part
        refit = baselines.fit_linear(targets, best, horizon).padded(lookback)
    else:
        refit = fit
    return LinearStart(best, fit, refit, rows)


def init_network(
    config: Config,
    train_rows: torch.Tensor,
    n_targets: int,
    device: torch.device,
    lin: baselines.LinearFit | None = None,
) -> ForecastNet:
    """``start_network`` at the ridge fit ``lin`` (default: the plain fit on ``train_rows``
    (T1, F) at the model's lookback)."""
    L, H = config.data.lookback, config.data.horizon
    if lin is None:
        lin = baselines.fit_linear(train_rows[:, :n_targets].double().cpu().numpy(), L, H)
    return start_network(
        config,
        lin,
        make_windows(train_rows, L, H, n_targets),
        train_rows.shape[1],
        n_targets,
        device,
    )


def fit_network(
    config: Config,
    train_rows: torch.Tensor,
    val_rows: torch.Tensor,
    n_targets: int,
    device: torch.device,
    on_epoch: OnEpoch | None = None,
    on_batch: OnBatch | None = None,
    running: RunningLoss | None = None,
    check_rows: torch.Tensor | None = None,
    start: LinearStart | None = None,
) -> tuple[ForecastNet, History]:
    """Build the network (``init_network``) and train it; with ``check_rows``, keep the linear
    start unless the trained network beats it on their windows, which chose nothing of the
    network (with ``start`` they also chose the start's lookback, as they choose the backtest
    baseline's: a bias towards keeping the start, the safe side).

    Dropout masks come from the training process's own generator: ``background.Scheduler`` trains
    each job in a process of its own, seeded with ``training.seed``.

    Args:
        config: resolved config (hidden size set).
        train_rows: (T1, F) scaled training rows, targets first, on ``device``.
        val_rows: (T2, F) scaled rows whose windows validate: the first ``lookback`` rows are
            inputs only (they may be the last training rows).
        n_targets: K.
        check_rows: (T3, F) scaled rows after ``val_rows``, laid out the same way, or None.
        start: the linear start (``linear_start``); where the start is kept, the linear path
            ends at its refit, on every row before the test part. None: the plain ridge fit
            on ``train_rows`` at the model's lookback, kept as it is.

    Returns:
        The trained network (best weights, on ``device``) and its History.
    """
    L, H = config.data.lookback, config.data.horizon
    net = init_network(config, train_rows, n_targets, device, start.fit if start else None)
    train_xy = make_windows(train_rows, L, H, n_targets)
    val_xy = make_windows(val_rows, L, H, n_targets)
    check_xy = make_windows(check_rows, L, H, n_targets) if check_rows is not None else None
    history = train_checked(
        net, train_xy, val_xy, check_xy, config, device, (on_epoch, on_batch, running)
    )
    if start is not None:
        history = dataclasses.replace(history, start_lookback=start.lookback)
        if history.best_epoch == 0 and start.refit is not start.fit:  # the start was kept
            lin, rows = start.refit, start.rows.to(device)
            with threads.for_model(net):
                net.init_linear(torch.from_numpy(lin.weight), torch.from_numpy(lin.bias),
                                *make_windows(rows, L, H, n_targets))
    return net, history


def train_checked(
    net: ForecastNet,
    train_xy: tuple[torch.Tensor, torch.Tensor],
    val_xy: tuple[torch.Tensor, torch.Tensor],
    check_xy: tuple[torch.Tensor, torch.Tensor] | None,
    config: Config,
    device: torch.device,
    run: tuple[OnEpoch | None, OnBatch | None, RunningLoss | None] = (None, None, None),
    order: Order | None = None,
    keep_last: bool = False,
) -> History:
    """``train.train`` ``net`` from where it starts (its linear start); with ``check_xy``, put
    it back there unless the trained network beats it on those windows (``_check_start``).
    ``run``: on_epoch, on_batch, running. A single series' and a panel's training alike;
    ``keep_last``: a refit for epochs chosen before (``train.train``)."""
    on_epoch, on_batch, running = run
    initial = copy.deepcopy(net.state_dict()) if check_xy is not None else None
    history = train(
        net, train_xy, val_xy, config.training, device, on_epoch, on_batch, order, running,
        keep_last,
    )
    if initial is not None and check_xy is not None:
        history = _check_start(net, initial, check_xy, history, config.training.start_margin)
    return history


def _check_start(
    net: ForecastNet,
    start: dict[str, torch.Tensor],
    check_xy: tuple[torch.Tensor, torch.Tensor],
    history: History,
    margin: float = 0.0,
) -> History:
    """Put ``net`` back at its linear ``start`` unless its trained weights have a loss lower
    by ``margin`` (a share; ``training.start_margin``, as on validation) on ``check_xy``:
    validation chose the epoch, so only these windows can say, without that choice's luck,
    whether the LSTM helps (the single series' "never worse than the linear fit")."""
    if history.best_epoch == 0:  # the start was kept: nothing to check
        return history
    with threads.for_model(net):
        trained = copy.deepcopy(net.state_dict())
        model_loss = evaluate(net, *check_xy)
        net.load_state_dict(start)
        start_loss = evaluate(net, *check_xy)
    if model_loss < start_loss * (1 - margin):
        net.load_state_dict(trained)
        return dataclasses.replace(history, check_loss=(model_loss, start_loss))
    return dataclasses.replace(
        history,
        best_epoch=0,
        check_loss=(model_loss, start_loss),
        message=(
            f"{history.message}; on the check windows after validation the trained model "
            f"(loss {model_loss:.4g}) did not beat the linear fit it starts from "
            f"({start_loss:.4g}) by {100 * margin:g}%, so the model is that fit"
        ),
    )


def start_network(
    config: Config,
    lin: baselines.LinearFit,
    train_xy: tuple[torch.Tensor, torch.Tensor],
    input_size: int,
    n_targets: int,
    device: torch.device,
) -> ForecastNet:
    """The untrained network on ``device``, its linear path at ``lin`` and its quantile spreads
    at that fit's errors on the windows ``train_xy`` ((N, L, F), (N, H, K); a subsample will
    do). The weights are drawn from a generator seeded with ``training.seed``, never torch's
    process-wide one."""
    net = build_net(config, input_size, n_targets)
    net.reset_parameters(torch.Generator().manual_seed(config.training.seed))
    net.to(device)
    net.init_linear(torch.from_numpy(lin.weight), torch.from_numpy(lin.bias), *train_xy)
    return net
