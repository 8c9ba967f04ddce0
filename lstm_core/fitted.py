"""The contract a series' and a panel's forecaster keep: one fitted state, one way to ask for it,
one un-scaling and one verdict, so no caller asks which kind of forecaster it holds."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from lstm_core.config import Config
from lstm_core.data import Scaler
from lstm_core.errors import NotFittedError
from lstm_core.model import ForecastNet
from lstm_core.train import History

TIE = 1e-3  # relative error difference below which the model does not beat a baseline
# said after a backtest of a model trained again on every row (``Fitted.validated``)
REFITTED = (
    " The model scored is the validated network; the forecasts come from the same network "
    "trained again on every row for the epochs validation chose, which no held-out window scores."
)


@dataclass(frozen=True)
class SeriesFit:
    """What a model keeps of one series: its own scaling and where its held-out end began."""

    scaler: Scaler
    split: int  # first row of the held-out end (its validation rows in training)
    freq: str | None
    # a panel's series (a single series keeps both in ``History.test_start``/``Fitted.data_hash``):
    test: int = 0  # first row of its test part, which chose nothing (0: none, or saved before)
    data_hash: str = ""  # sha256 of its cleaned rows (``forecaster.data_hash``; "": unknown)


@dataclass(frozen=True)
class Fitted:
    """What ``fit`` learns and a checkpoint restores: one network and every series it serves.

    A single series is one entry of ``series`` and has no ``layout``; a panel's model has one
    entry per series it learnt, in the panel's order, and the layout it was read with.
    """

    config: Config  # hidden size and patch length resolved
    model: ForecastNet  # in eval mode, on the CPU; shared by every series
    history: History
    inputs: tuple[str, ...]  # F columns, targets first
    targets: tuple[str, ...]  # K
    time_col: str | None
    series: dict[str, SeriesFit]  # id -> its scaling ("" for a single series)
    metrics: dict | None = None  # the backtest's table (a panel: its summary) as numbers
    meta: dict = field(default_factory=dict)  # a checkpoint's own metadata
    data_hash: str = ""  # sha256 of a single series' cleaned data ("" for a panel)
    layout: Literal["long", "wide"] | None = None  # a panel's table layout; None: one series
    id_col: str | None = None  # a long panel's id column
    skipped: dict[str, str] = field(default_factory=dict)  # series left out of training, and why
    # where ``model`` was trained again on every row after validation (``training.refit``):
    # the validated network, which the backtest scores (it never saw the test parts)
    validated: ForecastNet | None = None


def check_is_fitted(forecaster: object) -> Fitted:
    """The fitted state of ``forecaster``.

    Raises:
        NotFittedError: it was never fitted nor restored.
    """
    state = getattr(forecaster, "fitted_", None)
    if state is None:
        raise NotFittedError(
            f"this {type(forecaster).__name__} is not fitted; call fit() or load a checkpoint"
        )
    return state


def _state(name: str, doc: str) -> property:
    """A fitted attribute read from the fitted state (``NotFittedError`` before ``fit``)."""
    return property(lambda self: getattr(check_is_fitted(self), name), doc=doc)


class Fittable:
    """What every forecaster offers once fitted, whatever it learnt from.

    Subclasses set the state with ``_set`` (from ``fit`` and ``restore``, nowhere else) and
    add ``fit``, ``predict``, ``held_out``, ``score``, ``backtest`` and ``explain``.
    """

    config_ = _state("config", "The fitted Config (hidden size resolved).")
    model_ = _state("model", "The network, in eval mode (never trained after fit).")
    history_ = _state("history", "The training History.")
    inputs_ = _state("inputs", "The input columns, targets first.")
    targets_ = _state("targets", "The forecast columns.")
    time_col_ = _state("time_col", "The time column, if any.")
    metrics_ = _state("metrics", "The backtest's numbers at fit time (None if unknown).")
    meta_ = _state("meta", "The checkpoint metadata it was loaded with.")
    layout_ = _state("layout", "A panel's layout ('long' or 'wide'); None for one series.")
    id_col_ = _state("id_col", "A long panel's id column; None otherwise.")
    skipped_ = _state("skipped", "Series left out of training, and why.")
    data_hash_ = _state("data_hash", "sha256 of a single series' cleaned data; '' for a panel.")

    fitted_: Fitted

    def _set(self, state: Fitted) -> None:
        self.fitted_ = state

    @property
    def _refitted(self) -> bool:
        """True where the model was trained again on every row after validation."""
        return check_is_fitted(self).validated is not None

    @property
    def series_ids(self) -> tuple[str, ...]:
        """The series this model forecasts, in the order it learnt them."""
        return tuple(check_is_fitted(self).series)

    @property
    def n_series(self) -> int:
        """How many series the one network serves."""
        return len(check_is_fitted(self).series)

    @property
    def per_series(self) -> bool:
        """True for a panel's model: its data is a panel, and each series is named by id."""
        return check_is_fitted(self).layout is not None

    @property
    def holds(self) -> str:
        """What the model serves, as a phrase for a message ("" for a single series)."""
        return f"one model for {self.n_series:,} series" if self.per_series else ""

    def fingerprint(self) -> str:
        """sha256 of the fitted model's config and weights: equal models, equal fingerprint."""
        state = check_is_fitted(self)
        h = hashlib.sha256(state.config.to_yaml().encode())
        for net in (state.model, state.validated):
            for name, tensor in (net.state_dict() if net is not None else {}).items():
                h.update(name.encode())
                h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()


def unscale(values: np.ndarray, scaler: Scaler, axis: int) -> np.ndarray:
    """Scaled target values back in the data's units: ``axis`` of ``values`` runs over the K
    targets, which are the scaler's first K columns."""
    k = values.shape[axis]
    shape = [1] * values.ndim
    shape[axis] = k
    mean = np.asarray(scaler.mean[:k], dtype=np.float64).reshape(shape)
    std = np.asarray(scaler.std[:k], dtype=np.float64).reshape(shape)
    return values * std + mean


def judge(scores: pd.Series, metric: str, over: str) -> tuple[str, bool, str]:
    """The backtest's verdict, one rule for a series and a panel: the model (``scores``' first
    row) beats the baselines (the other rows) when its ``metric`` (lower is better) is below
    the best baseline's by more than TIE; under that it is a tie, because a model that kept its
    linear start matches the linear row up to float32 rounding and must not be called the winner.

    Args:
        scores: the model's and each baseline's ``metric``, model first.
        metric: the metric's name in the sentence ("MAE", "mean MASE").
        over: where it was scored, as the sentence's lead ("", "Over 12 series ").

    Returns:
        (the best baseline's name, whether the model beats it, one sentence without a full stop)
    """
    model = float(scores.iloc[0])
    best = str(scores.iloc[1:].idxmin())
    base = float(scores[best])
    beats = bool(model < base * (1 - TIE))
    if beats:
        lead = f"{over}the model's {metric} is {100 * (1 - model / base):.1f}% lower than"
    else:
        lead = f"{over}the model does not beat"
    text = f"{lead} the best baseline ({best}): {metric} {model:.4g} vs {base:.4g}"
    return best, beats, text[0].upper() + text[1:]
