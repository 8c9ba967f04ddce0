"""Whether a view reflects what drives a forecast: the deletion test. The top k% steps by the
view are set to the window's mean and the forecast's move is compared with random k% steps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from lstm_core import threads
from lstm_core.data import Prepared
from lstm_core.forecaster import Forecaster
from lstm_core.interpret.attributions import Attribution, attribute, neutral, scaled_window
from lstm_core.model import ForecastNet

SHARE = 0.1  # the top 10% of the window's steps are deleted
DRAWS = 100  # random deletions of as many steps, the reference
Z = 1.96  # a view is above random when its ratio's 95% interval (random's mean) is above 1
MIN_RATIO = 1.5  # ... and its ratio is at least this: a 1.1x view is no guide worth describing
VIEWS = ("attention", "ig", "gate")  # the views scored, in the order they are shown


@dataclass(frozen=True)
class ViewScore:
    """One view's deletion test at one origin (moves in scaled units of the targets)."""

    view: str
    steps: int  # steps deleted (k% of the window)
    effect: float  # mean |forecast move| when the view's top steps are deleted
    random_mean: float  # the same for random steps, over ``draws``
    random_sd: float
    draws: int

    @property
    def ratio(self) -> float:
        """The view's effect as a multiple of random's (NaN when random moves nothing)."""
        return self.effect / self.random_mean if self.random_mean > 0 else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        """95% interval of ``ratio`` from the uncertainty of random's mean over the draws."""
        se = Z * self.random_sd / math.sqrt(max(self.draws, 1))
        hi = self.random_mean - se
        return (
            self.effect / (self.random_mean + se) if self.random_mean + se > 0 else math.nan,
            self.effect / hi if hi > 0 else math.inf,
        )

    @property
    def reliable(self) -> bool:
        """A guide to this forecast: the ratio is at least MIN_RATIO and even the low end of
        its 95% interval is above 1. (A test against single random draws would fail a perfect
        view whenever random draws often hit its steps too: they tie with it.)"""
        return bool(self.ratio >= MIN_RATIO and self.interval[0] > 1)


def n_deleted(lookback: int, share: float = SHARE) -> int:
    """How many of a window's ``lookback`` steps the test deletes (at least one)."""
    return max(1, round(share * lookback))


def one_way(totals: np.ndarray, k: int) -> np.ndarray:
    """Signed per-step totals (L,) turned into a score whose top ``k`` steps all push the
    forecast the same way: the way whose ``k`` largest totals add up to more.

    An additive attribution (IG) predicts that deleting a set of steps moves the forecast by
    the sum of their totals, so the ``k`` steps it predicts move it most when deleted together
    are its ``k`` largest or its ``k`` smallest totals. Ranking by |total| instead mixes steps
    that push up with steps that push down, which IG itself predicts cancel.
    """
    t = np.asarray(totals, dtype=np.float64)
    return _way(t, k) * t


def _way(t: np.ndarray, k: int) -> int:
    """+1 when the ``k`` largest totals add up to at least the ``k`` smallest's magnitude."""
    s = np.sort(t)
    return 1 if s[-k:].sum() >= -s[:k].sum() else -1


def lead(totals: np.ndarray, k: int) -> tuple[int, int]:
    """The step of the deletion test's ``k`` IG steps (``one_way``) that IG says moves the
    forecast most, and the way that set pushes it (+1 up, -1 down)."""
    t = np.asarray(totals, dtype=np.float64)
    way = _way(t, k)
    return int(top_steps(way * t, 1)[0]), way


def top_steps(score: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest scores (ties: the later step first, as the latest data)."""
    order = np.argsort(-np.asarray(score, dtype=np.float64)[::-1], kind="stable")[:k]
    return len(score) - 1 - order


def deleted(window: torch.Tensor, rows: list[np.ndarray]) -> torch.Tensor:
    """Copies of ``window`` (L, F), one per entry of ``rows``, with those steps set to the
    window's mean of each column -> (len(rows), L, F)."""
    out = window.unsqueeze(0).repeat(len(rows), 1, 1)
    mean = neutral(window)[0]  # (F,)
    for i, r in enumerate(rows):
        out[i, torch.as_tensor(r, dtype=torch.long)] = mean
    return out


@torch.no_grad()
def moves(
    net: ForecastNet, window: torch.Tensor, variants: torch.Tensor, target: int | None = None
) -> np.ndarray:
    """(B,) mean |median forecast of each variant - the window's| over the horizon, for the
    target of index ``target`` (default: the mean over every target)."""
    mid = len(net.quantiles) // 2
    with threads.for_model(net):
        y = net(torch.cat([window.unsqueeze(0), variants]))[..., mid]  # (1 + B, H, K)
    if target is not None:
        y = y[..., target : target + 1]
    return (y[1:] - y[:1]).abs().mean(dim=(1, 2)).double().numpy()


def gate_change(gate: np.ndarray) -> np.ndarray:
    """(L,) how much the skip gate turns at each step: mean |gate_t - gate_t-1| over units
    (0 at the first step)."""
    g = np.asarray(gate, dtype=np.float64)
    return np.concatenate([[0.0], np.abs(np.diff(g, axis=0)).mean(axis=1)])


def deletion_test(
    net: ForecastNet,
    window: torch.Tensor,
    scores: dict[str, np.ndarray],
    share: float = SHARE,
    draws: int = DRAWS,
    seed: int = 0,
    target: int | None = None,
) -> dict[str, ViewScore]:
    """Score each view by deleting its top ``share`` of steps from ``window`` (L, F) scaled.

    One forward pass holds every view's variant and ``draws`` random ones (the same random
    draws for every view, from ``seed``).

    Args:
        net: the network; window: (L, F) the window the views describe.
        scores: view name -> (L,) score of each step (higher = more important by that view).
        target: index of the target whose forecast is measured (default: every target's).
    """
    L = window.shape[0]
    k = n_deleted(L, share)
    rng = np.random.default_rng(seed)
    random_rows = [rng.choice(L, k, replace=False) for _ in range(draws)]
    names = list(scores)
    rows = [top_steps(scores[n], k) for n in names] + random_rows
    m = moves(net, window, deleted(window, rows), target)
    ref = m[len(names) :]
    return {
        n: ViewScore(
            view=n,
            steps=k,
            effect=float(m[i]),
            random_mean=float(ref.mean()),
            random_sd=float(ref.std()),
            draws=draws,
        )
        for i, n in enumerate(names)
    }


def score_views(
    net: ForecastNet,
    window: torch.Tensor,
    attribution: Attribution,
    share: float = SHARE,
    draws: int = DRAWS,
    seed: int = 0,
) -> dict[str, ViewScore]:
    """The deletion test of the three views at one origin (``VIEWS``), for the window (L, F)
    scaled that ``attribution`` describes, measured on the forecast of the target it explains:
    attention, IG (its steps' totals, one way: ``one_way``) and the gate's change."""
    k = n_deleted(window.shape[0], share)
    scores = {
        "attention": attribution.attention,
        "ig": one_way(attribution.ig_step_totals, k),
        "gate": gate_change(attribution.gate),
    }
    target = attribution.columns.index(attribution.target)  # the inputs start with the targets
    return deletion_test(net, window, scores, share, draws, seed, target)


def window_at(fc: Forecaster, data: pd.DataFrame | Prepared, origin: int) -> torch.Tensor:
    """(L, F) the scaled window that ends just before ``origin`` (checked: DataError outside
    [lookback, rows]); ``_window`` slices one whose origin is known to be valid."""
    return scaled_window(fc, fc.prepare(data), origin)[0]


def _window(fc: Forecaster, prep: Prepared, origin: int) -> torch.Tensor:
    return fc.scaled_inputs(prep)[origin - fc.config_.data.lookback : origin]


def score_origin(
    fc: Forecaster,
    data: pd.DataFrame | Prepared,
    origin: int | None = None,
    target: str | None = None,
    draws: int = DRAWS,
) -> tuple[Attribution, dict[str, ViewScore]]:
    """Attributions of the forecast from ``origin`` (default: the next one) and every view's
    deletion test there: every view of one forecast, with its score.

    Raises:
        DataError: ``origin`` outside [lookback, rows] or an unknown ``target``.
    """
    prep = fc.prepare(data)
    att = attribute(fc, prep, origin, target)
    # att.origin was checked by attribute's explain: slice the window without a second forward
    return att, score_views(fc.model_, _window(fc, prep, att.origin), att, draws=draws)
