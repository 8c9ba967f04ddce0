"""The network's share of a forecast: the LSTM's correction against the linear (NLinear) part,
at one origin and over the held-out end, and the explanation model that puts the LSTM in use."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lstm_core import threads
from lstm_core.config import Config
from lstm_core.data import Prepared
from lstm_core.forecaster import Forecaster
from lstm_core.interpret.attributions import scaled_window
from lstm_core.model import ForecastNet
from lstm_core.train import OnEpoch

# Below this share the network's correction is nil: under 1% of the forecast's move away from
# the last observed value comes from the LSTM (a model that kept its linear start gives 0).
NIL_SHARE = 0.01


@dataclass(frozen=True)
class Parts:
    """A batch of median forecasts split in two, in scaled units: (B, H, K) each."""

    last: torch.Tensor  # (B, 1, K) the window's last value of each target
    linear: torch.Tensor  # (B, H, K) the linear (NLinear) path's forecast
    correction: torch.Tensor  # (B, H, K) what the LSTM head adds to it

    @property
    def median(self) -> torch.Tensor:
        return self.linear + self.correction


@torch.no_grad()
def split_forecast(net: ForecastNet, x: torch.Tensor) -> Parts:
    """The median forecast of windows x (B, L, F) as the linear part plus the LSTM's correction.

    The correction is read as the median minus the linear path, so it is exactly what the
    network adds (zero when the head kept its zero start).
    """
    K = net.n_targets
    with threads.for_model(net):
        median = net(x)[..., len(net.quantiles) // 2]  # (B, H, K)
        linear = net._linear(x)
    return Parts(x[:, -1:, :K], linear, median - linear)


def share_of(parts: Parts) -> float:
    """Share of the forecasts' move away from the last value that the LSTM makes, in [0, 1]:
    sum |correction| / (sum |linear - last| + sum |correction|) over windows, steps, targets."""
    c = float(parts.correction.abs().sum())
    lin = float((parts.linear - parts.last).abs().sum())
    return c / (c + lin) if c + lin > 0 else 0.0


@dataclass(frozen=True)
class NetworkShare:
    """How much of the forecast the network makes, at one origin and over the held-out end."""

    origin: int  # row of the chosen forecast's first step
    at_origin: float  # share in [0, 1] at that origin
    held_out: float  # share over every window of the held-out end
    windows: int  # held-out windows scored
    correction: float  # mean |correction| at the origin, in the first target's units
    kept_start: bool  # training kept the linear start (no epoch beat it, or the check reverted)
    kept_by_check: bool = False  # the check after validation, not validation, kept the start

    @property
    def nil(self) -> bool:
        """The network adds (next to) nothing: the forecast is the linear part's."""
        return self.kept_start or max(self.at_origin, self.held_out) < NIL_SHARE


def network_share(
    fc: Forecaster, data: pd.DataFrame | Prepared, origin: int | None = None
) -> NetworkShare:
    """The network's share of ``fc``'s forecast at ``origin`` (default: the next forecast) and
    over the held-out end of ``data``.

    Raises:
        DataError: ``origin`` is outside [lookback, rows].
    """
    prep = fc.prepare(data)
    x = fc.scaled_inputs(prep)
    L, H = fc.config_.data.lookback, fc.config_.data.horizon
    window, ex = scaled_window(fc, prep, origin)
    net = fc.model_
    here = split_forecast(net, window.unsqueeze(0))
    start = max(fc._held_out_start(prep), L)
    origins = np.arange(start, len(x) - H + 1)
    windows = x.unfold(0, L, 1).transpose(1, 2)[origins - L] if len(origins) else x[:0]
    held = [split_forecast(net, w) for w in windows.split(2048)] if len(origins) else []
    held_share = share_of(_joined(held)) if held else math.nan
    std = float(np.asarray(fc.scaler_.std)[0])
    head = net.head
    zero_head = bool((head.weight == 0).all() and (head.bias == 0).all())
    return NetworkShare(
        origin=ex.origin,
        at_origin=share_of(here),
        held_out=held_share,
        windows=len(origins),
        correction=float(here.correction[..., 0].abs().mean()) * std,
        kept_start=fc.history_.best_epoch == 0 and zero_head,
        kept_by_check=fc.history_.kept_by_check and zero_head,
    )


def _joined(parts: list[Parts]) -> Parts:
    return Parts(
        *(torch.cat([getattr(p, f) for p in parts]) for f in ("last", "linear", "correction"))
    )


def origin_share(fc: Forecaster, data: pd.DataFrame | Prepared, origin: int | None = None) -> float:
    """The network's share of the one forecast from ``origin`` (default: the next one).

    Raises:
        DataError: ``origin`` is outside [lookback, rows].
    """
    window, _ = scaled_window(fc, fc.prepare(data), origin)
    return share_of(split_forecast(fc.model_, window.unsqueeze(0)))


def explanation_config(cfg: Config) -> Config:
    """The same network with the LSTM in use: no start margin, so the first epoch that beats the
    linear start on validation at all replaces it."""
    return cfg.replace(training={"start_margin": 0.0})


def fit_explanation(
    fc: Forecaster, data: pd.DataFrame | Prepared, on_epoch: OnEpoch | None = None
) -> Forecaster:
    """Train ``fc``'s network again on ``data`` with ``explanation_config``: a model whose views
    explain a forecast the LSTM takes part in. Its ``history_`` holds the linear start's
    validation loss (``initial_val_loss``) beside its own (``best_val_loss``)."""
    return Forecaster(explanation_config(fc.config_)).fit(data, on_epoch=on_epoch)
