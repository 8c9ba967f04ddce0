"""Forecaster: the unit that travels: config, model, scaler and history in one object."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import torch

from lstm_core import baselines, threads
from lstm_core.config import Config, resolve_hidden_size
from lstm_core.data import Prepared, Scaler, check_length, held_out_start, prepare
from lstm_core.defaults import cycles
from lstm_core.errors import DataError, NonFiniteForecast, SeriesTooShort
from lstm_core.fitted import (
    REFITTED, Fittable, Fitted, SeriesFit, check_is_fitted, judge, unscale
)
from lstm_core.model import QUANTILES, ForecastNet, resolve_patch_len
from lstm_core.network import check_memory, fit_network, linear_start
from lstm_core.train import OnBatch, OnEpoch, RunningLoss, pick_device

LINEAR = "linear (NLinear ridge)"  # the linear baseline's row, at its own best lookback
LINEAR_AT_L = "linear at the model's lookback"  # shown when that lookback differs and fits
FEW_HELD_OUT = 10  # held-out windows below which the backtest says it cannot rank the methods
STRONG_ORIGINS = 12  # rolling origins scored when MSTL and AutoETS join (seconds per origin)
# where the backtest's windows lie: after the validation that chose the model ("test"), on
# the validation windows themselves (a series too short for both, or a model trained before
# there was a test part: optimistic), or at the end of data the model was not trained on
ScoredOn = Literal["test", "validation", "other data"]
SCORED_ON = {
    "test": "the held-out end after validation (its windows chose nothing)",
    "validation": "the validation windows, which chose the training epoch (optimistic)",
    "other data": "the last rows of data the model was not trained on",
}


@dataclass(frozen=True)
class Backtest:
    """Metrics of the model and the baselines on the held-out end of the series."""

    # rows: model, naive, seasonal naive, linear; columns: MAE, RMSE, MASE, sMAPE, coverage80
    table: pd.DataFrame
    season: int
    windows: int
    beats_baselines: bool  # the model's MAE is below every baseline's
    best_baseline: str  # the row of the baseline with the lowest MAE
    verdict: str  # one honest sentence for the user
    # time, target, actual, q0.1, q0.5, q0.9 of every step-1..H forecast of the last window
    forecasts: pd.DataFrame
    scored_on: ScoredOn = "validation"  # which windows were scored (SCORED_ON says it in words)
    linear_lookback: int = 0  # the linear baseline's own lookback, chosen on validation


@dataclass(frozen=True)
class HeldOut:
    """Every forecast of the held-out end, window by window (what ``backtest`` scores)."""

    index: pd.Index  # (T,) the series' time index
    targets: tuple[str, ...]  # K
    origins: np.ndarray  # (N,) row of each window's first forecast step
    actual: np.ndarray  # (N, H, K) what happened
    model: np.ndarray  # (N, H, K, 3) the model's 0.1, 0.5, 0.9 quantiles
    # baseline name -> (N, H, K) forecasts; without a seasonal cycle (season 1) the seasonal
    # naive is the naive and is not repeated here
    baselines: dict[str, np.ndarray]
    season: int  # the seasonal naive's period m
    scale: np.ndarray  # (K,) mean one-step naive error before the held-out end (MASE's unit)
    scored_on: ScoredOn = "validation"
    linear_lookback: int = 0  # the lookback the linear baseline chose (``linear_baseline``)

    def medians(self) -> dict[str, np.ndarray]:
        """The model's median and each baseline's forecast, by name: (N, H, K) each."""
        return {"AttentiveLSTM": self.model[..., 1], **self.baselines}


@dataclass(frozen=True)
class Explanation:
    """What the model looked at for one forecast origin."""

    origin: int  # row of the first forecast step
    times: pd.Index  # (L,) timestamps of the lookback window
    attention: np.ndarray  # (heads, L): share of each head's focus on each step
    gate: np.ndarray  # (L, W): skip-gate activation per step and channel (1 = LSTM, 0 = skip)
    forecast: pd.DataFrame  # as Forecaster.predict


class Forecaster(Fittable):
    """AttentiveLSTM forecaster of ``cfg.data.horizon`` steps with 0.1/0.5/0.9 quantiles.

    ``fit`` sets the fitted state (``fitted.Fitted``), read as the fitted attributes
    ``config_`` (hidden size resolved), ``model_``, ``history_``, ``inputs_`` (targets first),
    ``targets_``, ``time_col_``, ``metrics_`` and, of its one series, ``scaler_``, ``freq_``,
    ``split_`` (first row of the held-out end) and ``data_hash_``. A panel's model hands out
    one series' Forecaster with ``for_series``: the shared network with that series' scaling.
    """

    def __init__(self, cfg: Config | None = None):
        self.cfg = cfg or Config()

    # ------------------------------------------------------------ fitting

    def prepare(self, data: pd.DataFrame | Prepared) -> Prepared:
        """Clean ``data`` with this forecaster's data config (the fitted one once fitted)."""
        if isinstance(data, Prepared):
            return data
        cfg = getattr(self, "config_", self.cfg)
        return prepare(data, cfg.data)

    def fit(
        self,
        data: pd.DataFrame | Prepared,
        on_epoch: OnEpoch | None = None,
        on_batch: OnBatch | None = None,
        running: RunningLoss | None = None,
    ) -> Forecaster:
        """Train on ``data``; the last ``val_fraction`` of rows is held out for validation.
        ``running`` follows the current epoch's training loss (a live chart).

        Raises:
            DataError / SeriesTooShort: the data cannot be used; ConfigError: bad device.
        """
        prep = self.prepare(data)
        d, t = self.cfg.data, self.cfg.training
        values = prep.frame.to_numpy(np.float64)
        n = len(values)
        check_length(n, d.lookback, d.horizon, t.val_fraction)
        split = held_out_start(n, d.horizon, t.val_fraction)
        scaler = Scaler.for_norm(values[:split], d.window_norm)
        hidden = resolve_hidden_size(self.cfg.lstm, values.shape[1])
        config = self.cfg.replace(
            data={
                "targets": list(prep.targets),
                "covariates": list(prep.covariates),
                "time_col": prep.time_col,
                "frequency": prep.freq,
            },
            lstm={"hidden_size": hidden, "patch_len": resolve_patch_len(self.cfg)},
        )
        check_memory(config, values.shape[1], split - d.lookback - d.horizon + 1, n - split)
        device = pick_device(t.device)
        x = torch.as_tensor(scaler.transform(values), dtype=torch.float32, device=device)
        # validation windows may look back into the training rows; their targets do not. The
        # held-out end is cut in three: validation (chooses the epoch), check (the trained
        # model against its linear start) and test (the backtest), each after the last
        val_end, test = held_out_parts(n, split, d.horizon)
        k, L = len(prep.targets), d.lookback
        first = test if test < n else split  # the backtest's first window (``_scored_part``)
        candidates = linear_lookbacks(L, prep.freq) if first > split else [L]
        net, history = fit_network(
            config, x[:split], x[split - L : val_end], k, device, on_epoch, on_batch, running,
            check_rows=x[val_end - L : test] if test > val_end else None,
            start=linear_start(x[:first], split, L, d.horizon, k, candidates),
        )
        self._set(
            Fitted(
                config=config,
                model=net.cpu().eval(),
                history=dataclasses.replace(history, test_start=test if test < n else 0),
                inputs=prep.columns,
                targets=prep.targets,
                time_col=prep.time_col,
                series={"": SeriesFit(scaler, split, prep.freq)},
                data_hash=data_hash(prep.frame),
            )
        )
        metrics = self.backtest(prep).table.to_dict(orient="index")
        self._set(dataclasses.replace(self.fitted_, metrics=metrics))
        return self

    @classmethod
    def restore(cls, state: Fitted) -> Forecaster:
        """A fitted Forecaster from its fitted state (what a checkpoint holds, or one series of
        a panel's model: the network is shared, not copied); nothing is trained."""
        assert len(state.series) == 1, "a Forecaster serves one series"
        fc = cls(state.config)
        fc._set(state)
        return fc

    # its one series' scaling, time step and held-out start; the data it was trained on
    scaler_ = property(lambda self: self._one().scaler, doc="Scaling fitted on training rows.")
    freq_ = property(lambda self: self._one().freq, doc="The time step (pandas frequency).")
    split_ = property(lambda self: self._one().split, doc="First row of the held-out end.")

    def _one(self) -> SeriesFit:
        return next(iter(check_is_fitted(self).series.values()))

    def for_series(self, series_id: str | None = None) -> Forecaster:
        """This forecaster: it serves one series (``series_id`` None or its own id).

        Raises:
            DataError: another id was asked for.
        """
        own = self.series_ids[0]
        if series_id is not None and str(series_id) != own:
            raise DataError(f"this model forecasts one series and has no series {series_id!r}")
        return self

    # ------------------------------------------------------------ inference

    def scaled_inputs(self, data: pd.DataFrame | Prepared) -> torch.Tensor:
        """The series as the model sees it: (T, F) float32, scaled with the training statistics."""
        check_is_fitted(self)
        prep = self.prepare(data)
        missing = [c for c in self.inputs_ if c not in prep.frame.columns]
        if missing:
            raise DataError(
                f"the data lacks column(s) {', '.join(missing)} that this model was trained on"
            )
        values = prep.frame[list(self.inputs_)].to_numpy(np.float64)
        return torch.as_tensor(self.scaler_.transform(values), dtype=torch.float32)

    @torch.no_grad()
    def _quantiles(
        self, windows: torch.Tensor, batch_size: int = 2048, net: ForecastNet | None = None
    ) -> np.ndarray:
        """windows (N, L, F) scaled -> (N, H, K, Q) in the data's units, forecast by ``net``
        (default: the model)."""
        net = net or self.model_
        with threads.for_model(net):  # this thread only
            out = [net(windows[i : i + batch_size]) for i in range(0, len(windows), batch_size)]
        return _finite(unscale(torch.cat(out).numpy().astype(np.float64), self.scaler_, axis=2))

    def predict(self, data: pd.DataFrame | Prepared) -> pd.DataFrame:
        """Forecast the ``horizon`` steps after the end of ``data``.

        Returns:
            Long table with columns time, target, q0.1, q0.5, q0.9 (q0.5 is the point forecast).
        """
        prep = self.prepare(data)
        x = self.scaled_inputs(prep)
        lookback = self.config_.data.lookback
        if len(x) < lookback:
            raise SeriesTooShort(
                f"the model needs the last {lookback} rows to forecast; the data has {len(x)}",
                lookback,
            )
        q = self._quantiles(x[-lookback:].unsqueeze(0))[0]  # (H, K, Q)
        times = future_index(prep.frame.index, self.config_.data.horizon, self.freq_)
        return _long_frame(times, self.targets_, q)

    def backtest(self, data: pd.DataFrame | Prepared, strong: bool = False) -> Backtest:
        """The windows of the held-out end that chose nothing (``held_out``), scored against
        the naive, seasonal-naive and linear forecasts of the same windows (with ``strong``,
        MSTL and AutoETS too, on fewer origins). The linear baseline takes its own best
        lookback (``_linear_baseline``)."""
        return self.score(self.held_out(data, strong))

    def score(self, held: HeldOut) -> Backtest:
        """The backtest table and verdict of ``held_out``'s forecasts (no model run again)."""
        y, q, m, naive = held.actual, held.model, held.season, "naive (last value)"
        rows = {"AttentiveLSTM": baselines.metrics(y, q[..., 1], held.scale, q[..., 0], q[..., 2])}
        seasonal = f"seasonal naive (m={m})"
        strong = [name for name in held.baselines if name not in (naive, seasonal, LINEAR)]
        for name in (naive, seasonal, LINEAR, *strong):  # a seasonal row even at m = 1
            forecast = held.baselines.get(name, held.baselines[naive])
            rows[name] = baselines.metrics(y, forecast, held.scale)
        table = baselines.metrics_table(rows)
        best, beats, verdict = judge(table["MAE"], "MAE", "")
        verdict += "."
        if not beats:
            verdict += " Use the baseline, or give the model more data or epochs."
            h = self.history_
            if h.kept_by_check:
                verdict += (
                    " The trained network did not beat the linear fit it starts from on the "
                    "check windows after validation, so the model kept that fit: its forecast "
                    "is a linear one."
                )
            elif h.best_epoch == 0 and h.val_loss:
                verdict += (
                    " No training epoch beat the linear fit it starts from by "
                    f"{100 * self.config_.training.start_margin:g}% on validation, so the model "
                    "kept that fit: its forecast is a linear one."
                )
            # network.linear_start: one choice, one fit (with window_norm "level" the network
            # scales the bias by each window's level, so the forecasts differ a little)
            same = h.start_lookback == held.linear_lookback and held.scored_on != "other data"
            if h.best_epoch == 0 and same and self.config_.data.window_norm == "none":
                verdict += " That fit is the linear baseline's, so the two forecasts are the same."
        if held.linear_lookback != self.config_.data.lookback:
            verdict += (
                f" The linear baseline uses its own best lookback, {held.linear_lookback} "
                f"(the model's: {self.config_.data.lookback})."
            )
        verdict += f" Scored on {SCORED_ON[held.scored_on]}." + REFITTED * self._refitted
        n = len(held.origins)
        if n < FEW_HELD_OUT:
            verdict += (
                f" Only {n} held-out window{'s' if n > 1 else ''} "
                "could be scored: too few to rank the methods with confidence."
            )
        note = baselines.interval_note(table.iloc[0]["coverage80"], n)
        verdict += f" {note}" if note else ""
        last, H = held.origins[-1], y.shape[1]
        bt = _long_frame(held.index[last : last + H], self.targets_, q[-1])
        bt.insert(2, "actual", y[-1].T.reshape(-1))
        return Backtest(table, m, n, beats, best, verdict, bt, held.scored_on, held.linear_lookback)

    def held_out(self, data: pd.DataFrame | Prepared, strong: bool = False) -> HeldOut:
        """Every forecast ``backtest`` scores, kept window by window: the model's quantiles and
        the baselines' forecasts from each origin of the held-out end, with what happened.
        ``score`` turns it into the backtest; ``baselines.error_by_step`` and
        ``baselines.tiled_origins`` read it too (rolling-origin views).

        With ``strong``, statsforecast's MSTL and AutoETS join the baselines
        (``baselines.strong_baselines``, fitted on the rows before the scored windows); they
        cost seconds per origin and target, so every method is then scored on at most
        ``STRONG_ORIGINS`` rolling origins, ``horizon`` steps apart, ending with the last.

        Raises:
            MissingExtra: ``strong`` without statsforecast installed.
        """
        prep = self.prepare(data)
        x = self.scaled_inputs(prep)
        L, H = self.config_.data.lookback, self.config_.data.horizon
        values = prep.frame[list(self.targets_)].to_numpy(np.float64)
        split = self._held_out_start(prep)
        first, scored_on = self._scored_part(prep, split)
        origins = np.arange(max(first, L), len(values) - H + 1)
        if len(origins) == 0:
            raise SeriesTooShort(f"no complete window of {L}+{H} rows in the held-out end", L + H)
        m = baselines.baseline_season(self.freq_, values[:split])
        rivals = {"naive (last value)": baselines.naive(values, origins, H)}
        if m > 1:  # at m = 1 the seasonal naive is the naive: not repeated
            rivals[f"seasonal naive (m={m})"] = baselines.seasonal_naive(values, origins, H, m)
        own = linear_lookbacks(L, self.freq_) if first > split else [L]
        rivals[LINEAR], lookback = self._linear_baseline(x, split, first, origins, own)
        if lookback != L:  # the model's lookback too, where the rows afford it
            same, at = self._linear_baseline(x, split, first, origins, [L])
            if at == L:
                rivals[LINEAR_AT_L] = same
        if strong:
            keep = baselines.tiled_origins(len(origins), H, most=STRONG_ORIGINS)
            origins, rivals = origins[keep], {k: v[keep] for k, v in rivals.items()}
            seasons = [c for c, _ in cycles(self.freq_)] or ([m] if m > 1 else [])
            rivals.update(baselines.strong_baselines(values, first, origins, H, seasons))
        return HeldOut(
            index=prep.frame.index,
            targets=self.targets_,
            origins=origins,
            actual=np.stack([values[o : o + H] for o in origins]),
            # a model trained again on every row has seen these windows: the validated
            # network forecasts them (``Fitted.validated``)
            model=self._quantiles(
                x.unfold(0, L, 1).transpose(1, 2)[origins - L], net=self.fitted_.validated
            ),
            baselines=rivals,
            season=m,
            scale=np.abs(np.diff(values[:split], axis=0)).mean(axis=0),
            scored_on=scored_on,
            linear_lookback=lookback,
        )

    def _linear_baseline(
        self, x: torch.Tensor, split: int, test: int, origins: np.ndarray, candidates: list[int]
    ) -> tuple[np.ndarray, int]:
        """The linear baseline at the best of the ``candidates`` lookbacks that the rows afford
        (``baselines.choose_lookback``: chosen on the windows between ``split`` and ``test``),
        refitted on the rows before ``test``, forecasting from ``origins`` of the
        scaled series x (T, F) -> ((N, H, K) in the data's units, its lookback)."""
        d, k = self.config_.data, len(self.targets_)
        targets = x[:, :k].double().numpy()
        L, H = d.lookback, d.horizon
        if split < L + H:
            raise SeriesTooShort(
                f"the linear baseline needs {L + H} rows before the held-out end, not {split}",
                L + H,
            )
        candidates = [lb for lb in candidates if lb <= origins[0]]
        lookback = baselines.choose_lookback(targets, split, test, H, candidates)
        lin = baselines.fit_linear(targets[:test], lookback, H)  # refitted before the test
        windows = np.stack([targets[o - lookback : o] for o in origins])  # (N, L', K)
        return unscale(lin.predict(windows), self.scaler_, axis=2), lookback  # (N, H, K)

    def _scored_part(self, prep: Prepared, split: int) -> tuple[int, ScoredOn]:
        """First row of the windows the backtest scores, and which part that is."""
        n, H = len(prep.frame), self.config_.data.horizon
        test = getattr(self.history_, "test_start", 0)
        own = split == min(self.split_, n - H)  # where this model's validation windows were
        if test and own and self._is_training_data(prep):
            return min(test, n - H), "test"
        # a model trained before there was a test part: said to be optimistic where its own
        # validation rows may be the ones scored (the same rows, or a copy read differently)
        return split, "validation" if own and not test else "other data"

    def _is_training_data(self, prep: Prepared) -> bool:
        return data_hash(prep.frame[list(self.inputs_)]) == self.data_hash_

    def _held_out_start(self, prep: Prepared) -> int:
        """First row of the held-out end: the training split on the training data; on other
        data, its last ``val_fraction`` of rows (the model never saw them as targets there)."""
        n, H = len(prep.frame), self.config_.data.horizon
        if self._is_training_data(prep):
            return min(self.split_, n - H)
        return max(1, held_out_start(n, H, self.config_.training.val_fraction))

    @torch.no_grad()
    def explain(self, data: pd.DataFrame | Prepared, origin: int | None = None) -> Explanation:
        """Attention and skip-gate activations for the window that ends just before ``origin``
        (default: the end of the series, i.e. the next forecast)."""
        prep = self.prepare(data)
        x = self.scaled_inputs(prep)
        L = self.config_.data.lookback
        origin = len(x) if origin is None else int(origin)
        if not L <= origin <= len(x):
            raise DataError(f"forecast origin must be between {L} and {len(x)}, got {origin}")
        window = x[origin - L : origin].unsqueeze(0)
        with threads.for_model(self.model_):
            y, internals = self.model_(window, return_internals=True)
        q = _finite(unscale(y[0].numpy().astype(np.float64), self.scaler_, axis=1))  # (H, K, Q)
        index = prep.frame.index
        H = self.config_.data.horizon
        times = (
            index[origin : origin + H]
            if origin + H <= len(index)
            else future_index(index[:origin], H, self.freq_)
        )
        return Explanation(
            origin=origin,
            times=index[origin - L : origin],
            attention=internals["attention"][0].numpy(),
            gate=internals["gate"][0].numpy(),
            forecast=_long_frame(times, self.targets_, q),
        )


def _finite(q: np.ndarray) -> np.ndarray:
    """``q`` unchanged if every value is finite; a NaN forecast is never presented as a result."""
    if not np.isfinite(q).all():
        bad = int((~np.isfinite(q)).sum())
        raise NonFiniteForecast(
            f"the model produced {bad} NaN or infinite value(s) of {q.size}; its weights or the "
            "data are unusable: retrain it, or check the data for extreme values"
        )
    return q


def held_out_parts(n_rows: int, split: int, horizon: int) -> tuple[int, int]:
    """Where the held-out end ``[split, n_rows)`` is cut: (end of the validation rows, first
    test row). Three equal parts, validation, check and test, where each holds a window's
    targets (``horizon + 1`` rows); else validation and test halves (no check: the start margin
    alone decides); else ``(n_rows, n_rows)``: validation only, and the backtest scores it."""
    rows = n_rows - split
    if rows // 3 >= horizon + 1:
        return split + rows // 3, split + 2 * (rows // 3)
    if rows // 2 >= horizon + 1:
        return split + rows // 2, split + rows // 2
    return n_rows, n_rows


def linear_lookbacks(lookback: int, freq: str | None) -> list[int]:
    """Lookbacks the linear baseline tries: the model's, half and twice it, and one to four
    of each cycle of the time step (``defaults.cycles``)."""
    out = {lookback, lookback // 2, 2 * lookback}
    out.update(k * c for c, _ in cycles(freq) for k in range(1, 5))
    return sorted(lb for lb in out if lb >= 2)


def _long_frame(times: pd.Index, targets: tuple[str, ...], q: np.ndarray) -> pd.DataFrame:
    """q (H, K, Q) -> rows (time, target, q0.1, q0.5, q0.9), target-major."""
    H, K, _ = q.shape
    return pd.DataFrame(
        {
            "time": np.tile(np.asarray(times), K),
            "target": np.repeat(np.asarray(targets, dtype=object), H),
            **{f"q{p:g}": q[:, :, i].T.reshape(-1) for i, p in enumerate(QUANTILES)},
        }
    )


def future_index(index: pd.Index, steps: int, freq: str | None) -> pd.Index:
    """The ``steps`` times after ``index``: at ``freq`` for timestamps; for whole-number times
    (steps, row numbers) at the index's last spacing, named as the index is."""
    if isinstance(index, pd.DatetimeIndex) and freq:
        return pd.date_range(index[-1], periods=steps + 1, freq=freq)[1:]
    if not len(index) or isinstance(index, pd.DatetimeIndex):
        return pd.RangeIndex(len(index), len(index) + steps)
    spacing = int(index[-1]) - int(index[-2]) if len(index) > 1 else 1
    start = int(index[-1]) + max(spacing, 1)
    return pd.RangeIndex(start, start + steps * max(spacing, 1), max(spacing, 1), name=index.name)


def data_hash(frame: pd.DataFrame) -> str:
    """sha256 of the cleaned series (values, columns and index)."""
    h = hashlib.sha256()
    h.update(",".join(map(str, frame.columns)).encode())
    h.update(np.ascontiguousarray(frame.to_numpy(np.float64)).tobytes())
    h.update(
        np.asarray(
            frame.index.astype("int64")
            if isinstance(frame.index, pd.DatetimeIndex)
            else frame.index
        ).tobytes()
    )
    return h.hexdigest()
