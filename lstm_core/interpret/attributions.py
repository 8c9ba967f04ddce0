"""What drives one forecast, by Captum: Integrated Gradients and feature ablation over the
window's steps x columns, beside the model's attention, with their rank correlations."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from captum.attr import FeatureAblation, IntegratedGradients
from scipy.stats import spearmanr

from lstm_core import threads
from lstm_core.data import Prepared
from lstm_core.errors import DataError
from lstm_core.forecaster import Explanation, Forecaster
from lstm_core.model import ForecastNet

IG_STEPS = 32  # Integrated Gradients' path steps (Gauss-Legendre): its error is reported
ABLATIONS_PER_PASS = 256  # ablated copies of the window per forward pass


@dataclass(frozen=True)
class Attribution:
    """Each step's and column's part in one forecast (the sum of the target's median over the
    horizon, in scaled units), by two methods, with the attention of the same forecast.

    Both methods compare with the window's mean: IG integrates the gradient along the straight
    path from the mean window to the window; ablation replaces one cell at a time by its
    column's mean and records how the forecast changes.
    """

    origin: int  # row of the forecast's first step
    target: str
    times: pd.Index  # (L,) the window's times
    columns: tuple[str, ...]  # (F,) the inputs, targets first
    integrated_gradients: np.ndarray  # (L, F) signed
    ablation: np.ndarray  # (L, F) signed: forecast minus forecast with the cell at its mean
    attention: np.ndarray  # (L,) mean over heads
    gate: np.ndarray  # (L, W) the skip gate in this window
    delta: float  # IG's completeness error: sum of IG minus (f(window) - f(mean window))

    @property
    def ig_steps(self) -> np.ndarray:
        """(L,) |IG| summed over columns: how much each step moves the forecast."""
        return np.abs(self.integrated_gradients).sum(axis=1)

    @property
    def ig_step_totals(self) -> np.ndarray:
        """(L,) signed IG of each step, its columns together: what IG says deleting that whole
        step takes off the forecast (IG adds up over any group of cells)."""
        return self.integrated_gradients.sum(axis=1)

    @property
    def ablation_steps(self) -> np.ndarray:
        """(L,) |ablation effect| summed over columns."""
        return np.abs(self.ablation).sum(axis=1)

    @property
    def rank_ig(self) -> float:
        """Spearman rank correlation of attention with |IG| over the window's steps."""
        return rank_correlation(self.attention, self.ig_steps)

    @property
    def rank_ablation(self) -> float:
        """Spearman rank correlation of attention with |ablation| over the window's steps."""
        return rank_correlation(self.attention, self.ablation_steps)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of two (L,) scores; NaN when either is constant (no ranking to compare)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(spearmanr(a, b).statistic)


def forecast_sum(net: ForecastNet, target: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """x (B, L, F) scaled -> (B,) the target's median forecast summed over the horizon."""
    mid = len(net.quantiles) // 2

    def f(x: torch.Tensor) -> torch.Tensor:
        return net(x)[:, :, target, mid].sum(dim=1)

    return f


def neutral(window: torch.Tensor) -> torch.Tensor:
    """The window (..., L, F) with every step at its column's mean over the window."""
    return window.mean(dim=-2, keepdim=True).expand_as(window)


def scaled_window(
    fc: Forecaster, prep: Prepared, origin: int | None = None
) -> tuple[torch.Tensor, Explanation]:
    """The scaled window (L, F) before ``origin`` (default: the next forecast) with the model's
    ``explain`` of it, which checks the origin.

    Raises:
        DataError: ``origin`` outside [lookback, rows].
    """
    ex = fc.explain(prep, origin)
    L = fc.config_.data.lookback
    return fc.scaled_inputs(prep)[ex.origin - L : ex.origin], ex


def attribute(
    fc: Forecaster,
    data: pd.DataFrame | Prepared,
    origin: int | None = None,
    target: str | None = None,
    ig_steps: int = IG_STEPS,
) -> Attribution:
    """Integrated Gradients and feature ablation of ``fc``'s forecast from ``origin`` (default:
    the next forecast) for ``target`` (default: the first), over steps x columns.

    Raises:
        DataError: ``origin`` outside [lookback, rows] or an unknown ``target``.
    """
    prep = fc.prepare(data)
    target = target or fc.targets_[0]
    if target not in fc.targets_:
        raise DataError(f"{target!r} is not one of the model's targets {', '.join(fc.targets_)}")
    window, ex = scaled_window(fc, prep, origin)
    ig, ablation, delta = attribute_window(fc.model_, window, fc.targets_.index(target), ig_steps)
    return Attribution(
        origin=ex.origin,
        target=target,
        times=ex.times,
        columns=tuple(fc.inputs_),
        integrated_gradients=ig,
        ablation=ablation,
        attention=ex.attention.mean(axis=0).astype(np.float64),
        gate=ex.gate.astype(np.float64),
        delta=delta,
    )


def attribute_window(
    net: ForecastNet, window: torch.Tensor, target: int = 0, ig_steps: int = IG_STEPS
) -> tuple[np.ndarray, np.ndarray, float]:
    """Integrated Gradients and feature ablation of ``net``'s forecast sum for target index
    ``target`` over one scaled window (L, F), both against the window's mean.

    Returns:
        (ig (L, F), ablation (L, F), IG's completeness error).
    """
    window = window.unsqueeze(0)  # (1, L, F)
    base = neutral(window)
    f = forecast_sum(net, target)
    _, L, F = window.shape
    mask = torch.arange(L * F).view(1, L, F)  # every cell its own feature
    # net stays in eval mode (fit and restore leave it so); never switched here
    with threads.for_model(net), torch.inference_mode(False), torch.enable_grad():
        ig, delta = IntegratedGradients(f).attribute(
            window.clone().requires_grad_(True),
            baselines=base,
            n_steps=ig_steps,
            return_convergence_delta=True,
        )
        with torch.no_grad():
            ablation = FeatureAblation(f).attribute(
                window, baselines=base, feature_mask=mask, perturbations_per_eval=ABLATIONS_PER_PASS
            )
    return (
        ig[0].detach().double().numpy(),
        ablation[0].double().numpy(),
        float(delta.abs().max()),
    )
