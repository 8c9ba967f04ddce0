"""Point and interval metrics, the naive and linear baselines, and seasonality from a frequency."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_core.errors import LstmCoreError
from lstm_core.text import freq_parts

# the cycles of each time unit, counted in that unit, shortest first: a day for sub-daily steps
# (and a week for minutes and hours), a week and a year for days (5 and 260 business days), a
# year for weeks, months and quarters. The first is the baselines' season.
CYCLES = {
    "s": (86_400,), "min": (1_440, 10_080), "h": (24, 168), "D": (7, 365),
    "B": (5, 260), "W": (52,), "M": (12,), "MS": (12,), "ME": (12,), "Q": (4,), "QS": (4,),
    "QE": (4,),
}


def season_length(freq: str | None) -> int:
    """The natural seasonal period, in steps, of a time frequency: a day of hourly steps (24)
    or of 15-minute ones (96), a week of days (7), a year of months (12) or quarters (4); 1
    when there is none or the step does not divide the cycle (e.g. 5-hour or 4-year steps)."""
    if not freq:
        return 1
    step, unit = freq_parts(freq)
    cycle = CYCLES.get(unit, (1,))[0]
    return cycle // step if step and cycle % step == 0 and cycle // step >= 2 else 1


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray | None:
    """(max_lag + 1,) autocorrelation of a (T, K) series' detrended columns, averaged over the
    columns (each lag's sum over the whole series' variance, so long lags shrink by
    ``(T - lag) / T``), or None when no column varies about its trend."""
    T = len(x)
    t = np.arange(T, dtype=np.float64)
    a = np.column_stack([np.ones(T), t])
    r = x - a @ np.linalg.lstsq(a, x, rcond=None)[0]
    r = r - r.mean(axis=0)
    den = (r**2).sum(axis=0)
    ok = den > 1e-12
    if not ok.any():
        return None
    r, den = r[:, ok], den[ok]
    # autocorrelation of every column by FFT, averaged over columns
    size = 1 << (2 * T - 1).bit_length()
    f = np.fft.rfft(r, size, axis=0)
    return (np.fft.irfft(f * np.conj(f), size, axis=0)[: max_lag + 1] / den).mean(axis=1)


def season_period(x: np.ndarray, hint: int | None = None) -> int | None:
    """The seasonal period of a (T, K) series, or None: ``hint`` (from the time frequency) when
    the data bear it out, else the strongest autocorrelation peak of the detrended columns.

    A period counts when the mean autocorrelation at that lag is above 0.3 and it fits at least
    four times in the series.
    """
    T = len(x)
    if T < 16:
        return None
    return period_of(autocorrelation(x, T // 4), T, hint)


def period_of(acf: np.ndarray | None, T: int, hint: int | None = None) -> int | None:
    """``season_period`` of a series of ``T`` rows from its ``autocorrelation`` (to at least
    lag T // 4; longer is cut), for callers that need the autocorrelation beyond it too."""
    max_lag = T // 4
    if acf is None or T < 16:
        return None
    acf = acf[: max_lag + 1]
    if hint and 2 <= hint <= max_lag and acf[hint] > 0.3:
        return int(hint)
    # first peak after the autocorrelation first turns negative (trends and AR wander never do)
    neg = np.flatnonzero(acf < 0)
    if len(neg) == 0:
        return None
    lags = np.arange(neg[0], max_lag)
    if len(lags) < 3:
        return None
    peak = lags[np.argmax(acf[lags])]
    return int(peak) if acf[peak] > 0.3 and 2 <= peak <= max_lag else None


def baseline_season(freq: str | None, history: np.ndarray) -> int:
    """The seasonal naive's period: the time frequency's natural one where ``history`` (T, K)
    holds two of them, else one the history bears out (``season_period``), else 1 (naive)."""
    m = season_length(freq)
    if m > 1 and 2 * m <= len(history):
        return m
    return season_period(history) or 1


def naive(history: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Last value repeated: history (T, K), origins (N,) row of the first forecast step -> (N, H, K)."""
    return np.repeat(history[origins - 1][:, None, :], horizon, axis=1)


def seasonal_naive(history: np.ndarray, origins: np.ndarray, horizon: int, m: int) -> np.ndarray:
    """Value one season earlier: y_hat[t+h] = y[t+h-m*ceil(h/m)] -> (N, H, K)."""
    h = np.arange(1, horizon + 1)
    back = m * np.ceil(h / m).astype(int)  # steps back, always into the known past
    idx = origins[:, None] - 1 + h[None, :] - back[None, :]  # (N, H)
    return history[np.clip(idx, 0, None)]


# ridge penalties tried, relative to the mean feature variance (scale-free)
PENALTIES: tuple[float, ...] = (0.0, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
HOLDOUT = 0.2  # share of the training windows, at their end, that picks the penalty
CHUNK = 4096  # windows per block when summing the normal equations


MIN_LOOKBACK = 48  # the shortest of the nested lookbacks averaged by ``fit_linear``


@dataclass(frozen=True)
class LinearFit:
    """NLinear-style ridge forecaster: each target's forecast is its last value plus a linear map
    of the window relative to that value, ``y[h] = x[-1] + weight[h] @ (x - x[-1]) + bias[h]``,
    with one map shared by all targets (Zeng et al. 2023, "Are Transformers Effective for Time
    Series Forecasting?"). Relative to the last value, it follows a shift in level as is.

    The map may be the mean of ridge fits over nested lookbacks (L, L/2, L/4, ...; see
    ``fit_linear``): still one linear map of the window, whose far lags weigh less.
    """

    weight: np.ndarray  # (H, L)
    bias: np.ndarray  # (H,)
    penalty: float  # the whole lookback's ridge penalty, relative to the mean feature variance
    lookbacks: tuple[int, ...] = ()  # the nested lookbacks averaged; empty or (L,) for one fit

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """windows (N, L, K) of the targets -> forecasts (N, H, K)."""
        last = windows[:, -1:, :]
        return np.einsum("hl,nlk->nhk", self.weight, windows - last) + self.bias[:, None] + last

    def padded(self, lookback: int) -> LinearFit:
        """The same map over a longer window of ``lookback`` steps: zero weights on the older
        steps, so its forecasts are this fit's exactly (a model's linear path can hold it)."""
        H, L = self.weight.shape
        assert lookback >= L, f"a map over {L} steps cannot be cut to {lookback}"
        weight = np.zeros((H, lookback))
        weight[:, lookback - L :] = self.weight
        return LinearFit(weight, self.bias, self.penalty, self.lookbacks)

    def describe(self) -> str:
        """A short label: the penalty and, when averaged, the lookbacks."""
        if len(self.lookbacks) > 1:
            return f"mean of lookbacks {'/'.join(map(str, self.lookbacks))}"
        return f"penalty {self.penalty:g}"


def nested_lookbacks(lookback: int) -> tuple[int, ...]:
    """L, L/2, L/4, ... down to ``MIN_LOOKBACK``: the lookbacks ``fit_linear`` may average."""
    out = [lookback]
    while out[-1] // 2 >= MIN_LOOKBACK:
        out.append(out[-1] // 2)
    return tuple(out)


def fit_linear(
    series: np.ndarray | Sequence[np.ndarray],
    lookback: int,
    horizon: int,
    penalties: tuple[float, ...] = PENALTIES,
    nested: bool = True,
) -> LinearFit:
    """Fit the NLinear ridge forecaster in closed form on every window of ``series``.

    The penalty is chosen on the last ``HOLDOUT`` of the windows (fitted on the windows whose
    targets end before those start), then the map is refitted on all windows. Memory stays at
    a few (L x L) matrices: the normal equations are summed over blocks of windows.

    With ``nested``, ridge fits on the last L, L/2, L/4, ... (>= ``MIN_LOOKBACK``) steps of the
    same windows, each with its own penalty, are also averaged into one map, which is kept
    when it beats the single fit in a blocked cross-validation over the windows (``FOLDS``
    consecutive blocks, each scored by the fits on the others less ``horizon`` windows on
    either side). One fit on a long lookback has many weights for far lags and fits noise
    there; the mean leans on the recent lags and keeps the far ones (on ETTh1's 7 columns its
    error no longer grows from lookback 336 to 720). The sub-fits' equations are slices of the
    whole lookback's, so this costs little.

    Args:
        series: (T, K) target values (the training rows only), T >= lookback + horizon; or a
            sequence of such arrays (a panel's series, of any lengths): one map is fitted on
            the windows of all of them, each series held out at its own end, and no window
            spans two series.
        lookback, horizon: L and H.
        nested: try the mean over nested lookbacks (False: one ridge fit, plain NLinear).

    Returns:
        LinearFit with weight (H, L) and bias (H,).
    """
    L, H = lookback, horizon
    parts = [np.asarray(x, dtype=np.float64) for x in
             ([series] if isinstance(series, np.ndarray) else series)]
    sums = [_split_equations(x, L, H) for x in parts]
    if not any(s is not None for s in sums):
        rows = max((len(x) for x in parts), default=0)
        raise ValueError(f"{rows} rows hold no window of {L} + {H} steps")
    early, late, every = (_total(s[i] for s in sums if s is not None) for i in range(3))
    held_out = late[0][-1, -1] > 0 and early[0][-1, -1] > 0
    lookbacks = nested_lookbacks(L) if nested and held_out else (L,)
    fits = []  # per lookback: (its columns in the full features, penalty, coefficients)
    for lb in lookbacks:
        cols = np.r_[L - lb : L]  # its lags (the last lb - 1) and the bias, in the full features
        sub = [_columns(eq, cols) for eq in (early, late, every)]
        if held_out:
            score = [_sse(_solve(sub[0], p), sub[1]) for p in penalties]
            penalty = penalties[int(np.argmin(score))]
        else:  # too few windows to hold any out
            penalty = 1.0
        fits.append((cols, penalty, _pad(_solve(sub[2], penalty), cols, L)))
    coef = fits[0][2]  # (L, H): L - 1 lag weights, then the bias
    if len(fits) > 1:
        if _mean_wins(parts, L, H, every, fits):
            coef = np.mean([f[2] for f in fits], axis=0)
        else:
            lookbacks = (L,)
    weight = np.zeros((H, L))
    weight[:, :-1] = coef[:-1].T  # the last step's weight is moot: x[-1] - x[-1] = 0
    return LinearFit(weight, coef[-1].copy(), fits[0][1], tuple(lookbacks))


FOLDS = 5  # blocks of windows in the cross-validation of one fit against the nested mean


def _mean_wins(parts: list[np.ndarray], L: int, H: int, every, fits) -> bool:
    """Whether the mean of the nested fits beats the single fit in a blocked cross-validation
    over each series' windows: block k is scored by the fits (each with its own penalty) on
    every window except block k and ``H`` windows on either side, which share its targets.
    Series with too few windows for ``FOLDS`` blocks only add to the fits."""
    blocks, outs = [[] for _ in range(FOLDS)], [[] for _ in range(FOLDS)]
    for x in parts:
        x = x.reshape(len(x), -1)
        n = len(x) - L - H + 1
        if n < FOLDS * (H + 1):
            continue
        edges = np.linspace(0, n, FOLDS + 1).astype(int)
        for k in range(FOLDS):
            lo, hi = edges[k], edges[k + 1]
            block = _normal_equations(x, L, H, lo, hi)
            margins = [_normal_equations(x, L, H, a, b)
                       for a, b in ((max(lo - H, 0), lo), (hi, min(hi + H, n)))]
            blocks[k].append(block)
            outs[k].append(_total([block, *margins]))  # the block and its margins
    if not blocks[0]:
        return False
    one = mean = 0.0
    for block, out in zip(map(_total, blocks), map(_total, outs)):
        rest = tuple(a - b for a, b in zip(every, out))
        coefs = [_pad(_solve(_columns(rest, cols), p), cols, L) for cols, p, _ in fits]
        one += _sse(coefs[0], block)
        mean += _sse(np.mean(coefs, axis=0), block)
    return mean < one


def _total(equations) -> tuple:
    """The sum of several windows' normal equations (G, R, S), term by term."""
    return tuple(sum(terms) for terms in zip(*equations))


def _pad(coef: np.ndarray, cols: np.ndarray, L: int) -> np.ndarray:
    """Coefficients of the feature columns ``cols`` as (L, H), zero elsewhere."""
    out = np.zeros((L, coef.shape[1]))
    out[cols] = coef
    return out


def _columns(eq, cols: np.ndarray):
    """The normal equations restricted to the feature columns ``cols``."""
    G, R, S = eq
    return G[np.ix_(cols, cols)], R[cols], S


def _split_equations(x: np.ndarray, L: int, H: int):
    """Normal equations of one series (T, K): (early, late, every), where ``late`` holds the
    last HOLDOUT of its windows and ``early`` those whose targets end before they start; None
    when the series holds no window. A series too short to hold any out adds to ``every``
    only."""
    x = x.reshape(len(x), -1)
    n = len(x) - L - H + 1
    if n < 1:
        return None
    cut = n - max(1, int(n * HOLDOUT)) if n > 2 * H + 2 else n  # first held-out window
    gap = max(cut - H, 0)
    early = _normal_equations(x, L, H, 0, gap)  # their targets end before window ``cut`` starts
    late = _normal_equations(x, L, H, cut, n)
    every = _total([early, late, _normal_equations(x, L, H, gap, cut)])
    return early, late, every


def _normal_equations(x: np.ndarray, L: int, H: int, start: int, stop: int):
    """Sums over windows start..stop-1 and targets: features f = (x[:-1] - x[-1], 1) and
    errors to fit e = y - x[-1]; returns (f'f (L, L), f'e (L, H), e'e)."""
    G, R, S = np.zeros((L, L)), np.zeros((L, H)), 0.0
    windows = np.lib.stride_tricks.sliding_window_view(x, L + H, axis=0)  # (n, K, L+H), a view
    for s in range(start, stop, CHUNK):
        w = windows[s : min(stop, s + CHUNK)]
        w = w.reshape(-1, L + H)  # every target's window is one sample
        last = w[:, L - 1 : L]
        f = np.hstack([w[:, : L - 1] - last, np.ones((len(w), 1))])
        e = w[:, L:] - last
        G += f.T @ f
        R += f.T @ e
        S += float((e**2).sum())
    return G, R, S


def _solve(eq, penalty: float) -> np.ndarray:
    """Ridge coefficients (L, H) from normal equations; the bias is not penalised."""
    G, R, _ = eq
    d = len(G) - 1
    scale = np.trace(G[:d, :d]) / max(d, 1) or 1.0
    reg = np.eye(len(G)) * scale * max(penalty, 1e-9)  # a floor keeps a flat window solvable
    reg[-1, -1] = 0.0
    return np.linalg.lstsq(G + reg, R, rcond=None)[0]


def _sse(coef: np.ndarray, eq) -> float:
    """Squared error of ``coef`` on the windows whose normal equations are ``eq``."""
    G, R, S = eq
    return float(np.sum(coef * (G @ coef)) - 2 * np.sum(coef * R) + S)


def choose_lookback(
    targets: np.ndarray,
    split: int,
    test: int,
    horizon: int,
    candidates: Sequence[int],
    per_step: int = 2,
) -> int:
    """The linear fit's best lookback: each candidate that rows ``[0, split)`` afford
    (``per_step`` windows per lookback step, so that no ridge has fewer windows than weights)
    is fitted there and scored (MAE) on the windows whose targets lie in ``[split, test)``;
    rows from ``test`` on are never read. Ties go to the shorter lookback.

    Args:
        targets: (T, K) target values (scaled or not: one map serves every target).
        split, test: first row of the validation part and of the test part (``test == split``:
            no validation part; the longest affordable candidate is taken, unscored).
        candidates: lookbacks to try; none affordable: the longest lookback the rows afford.
    """
    H = horizon
    afford = [lb for lb in sorted(set(candidates))
              if lb >= 2 and split - lb - H + 1 >= per_step * lb]
    if not afford:  # too short for any candidate: the longest lookback these rows afford
        afford = [max(2, (split - H + 1) // (per_step + 1))]
    best, best_mae = afford[-1], np.inf
    origins = np.arange(split, test - H + 1)
    if len(origins) and len(afford) > 1:
        for lb in afford:
            valid = origins[origins >= lb]
            if not len(valid):
                continue
            lin = fit_linear(targets[:split], lb, H)
            windows = np.stack([targets[o - lb : o] for o in valid])
            truth = np.stack([targets[o : o + H] for o in valid])
            mae = float(np.abs(lin.predict(windows) - truth).mean())
            if mae < best_mae:
                best, best_mae = lb, mae
    return best


MSTL_NAME, ETS_NAME = "MSTL (statsforecast)", "AutoETS (statsforecast)"
MAX_ETS_SEASON = 24  # statsforecast's AutoETS fits seasons up to 24 steps


class MissingExtra(LstmCoreError):
    """An optional library that a requested feature needs is not installed."""


def strong_baselines(
    values: np.ndarray, fit_end: int, origins: np.ndarray, horizon: int, seasons: Sequence[int]
) -> dict[str, np.ndarray]:
    """statsforecast's MSTL (every season that fits twice in the rows) and AutoETS (the
    shortest season up to ``MAX_ETS_SEASON``, else non-seasonal), each fitted once per target
    on rows ``[0, fit_end)``, then forecasting from every origin with its parameters fixed
    (``forward``: the state is run over the rows before the origin, nothing is re-estimated).

    Slow: the library's import and its first fits take seconds (numba), and MSTL's forward
    decomposes the series again at every origin (~0.5 s for 600 rows; benchmarks/README.md).

    Args:
        values: (T, K) target values in the data's units.
        fit_end: rows before it fit the models; the origins should not come before it.
        origins: (N,) row of each window's first forecast step.
        seasons: the time step's cycles in steps (e.g. 24, 168), shortest first.

    Returns:
        name -> (N, H, K) forecasts.

    Raises:
        MissingExtra: statsforecast is not installed.
    """
    try:
        from statsforecast.models import MSTL, AutoETS
    except ImportError:
        raise MissingExtra(
            "MSTL and AutoETS baselines need statsforecast: pip install statsforecast"
        ) from None
    fit = values[:fit_end].astype(np.float64)
    usable = [m for m in seasons if 2 <= m and 2 * m <= len(fit)]
    ets_m = usable[0] if usable and usable[0] <= MAX_ETS_SEASON else 1
    makers = {ETS_NAME: lambda: AutoETS(season_length=ets_m)}
    if usable:
        makers = {MSTL_NAME: lambda: MSTL(season_length=usable), **makers}
    H, K = horizon, values.shape[1]
    out = {name: np.empty((len(origins), H, K)) for name in makers}
    for name, make in makers.items():
        for k in range(K):
            model = make().fit(fit[:, k])
            for i, o in enumerate(origins):
                out[name][i, :, k] = model.forward(y=values[:o, k].astype(np.float64), h=H)["mean"]
    return out


def metrics(
    y: np.ndarray,
    y_hat: np.ndarray,
    scale: np.ndarray,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
) -> dict[str, float]:
    """MAE, RMSE, MASE, sMAPE (%) and 80% coverage over all windows, steps and targets.

    Args:
        y, y_hat: (N, H, K) actual and forecast values in the data's units.
        scale: (K,) in-sample MAE of the one-step naive forecast, the MASE denominator.
        lo, hi: (N, H, K) 0.1 and 0.9 quantiles, if the method has an interval.
    """
    err = y_hat - y
    denom = np.abs(y) + np.abs(y_hat)
    smape = np.where(denom > 0, 2 * np.abs(err) / np.where(denom > 0, denom, 1), 0.0)
    out = {
        "MAE": float(np.abs(err).mean()),
        "RMSE": float(np.sqrt((err**2).mean())),
        "MASE": float((np.abs(err) / np.where(scale > 0, scale, 1)).mean()),
        "sMAPE": float(100 * smape.mean()),
        "coverage80": float("nan"),
    }
    if lo is not None and hi is not None:
        out["coverage80"] = float(((y >= lo) & (y <= hi)).mean())
    return out


CALIBRATED_80 = (0.65, 0.95)  # held-out coverage of an 80% interval read as about right
FEW_FOR_COVERAGE = 10  # held-out windows below which coverage is too noisy to judge


def interval_note(coverage: float, windows: int) -> str | None:
    """A sentence when an 80% interval's held-out coverage is far from 0.8 (outside
    CALIBRATED_80, over at least FEW_FOR_COVERAGE windows), else None."""
    lo, hi = CALIBRATED_80
    if not math.isfinite(coverage) or windows < FEW_FOR_COVERAGE or lo <= coverage <= hi:
        return None
    reading = "too narrow: the real spread is wider" if coverage < lo else "too wide"
    return (
        f"The 80% interval held {coverage:.0%} of the held-out values (about 80% if calibrated; "
        f"{lo:.0%} to {hi:.0%} passes here): the band is {reading}, so do not read it as an "
        "80% range."
    )


def metrics_table(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Methods as rows, metrics as columns."""
    return pd.DataFrame.from_dict(rows, orient="index")


def error_by_step(actual: np.ndarray, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Mean absolute error at each horizon step, per method, over all windows and targets.

    Args:
        actual: (N, H, K) what happened.
        forecasts: method name -> (N, H, K) its point forecasts of the same windows.

    Returns:
        H rows (index "step", 1..H), one column per method.
    """
    table = pd.DataFrame(
        {name: np.abs(np.asarray(f) - actual).mean(axis=(0, 2)) for name, f in forecasts.items()}
    )
    table.index = pd.RangeIndex(1, len(table) + 1, name="step")
    return table


def tiled_origins(n_windows: int, horizon: int, most: int | None = None) -> np.ndarray:
    """Positions (0..n_windows-1) of windows ``horizon`` apart, ending with the last: their
    forecasts follow one another without overlap (a rolling-origin view of the held-out end).
    ``most`` keeps only the last that many."""
    picks = np.arange(n_windows - 1, -1, -max(horizon, 1))[::-1]
    return picks[-most:] if most else picks
