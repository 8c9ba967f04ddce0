"""One AttentiveLSTM across a panel: windows of every series drawn in equal shares, each series
scaled on its own rows, and the forecast, backtest and explanation of any one series."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import torch

from lstm_core import forecast as fc
from lstm_core.config import Config, resolve_hidden_size
from lstm_core.data import (
    Prepared,
    Scaler,
    check_length,
    held_out_start,
    make_windows,
    prepare,
)
from lstm_core.errors import DataError, SeriesTooShort
from lstm_core.forecaster import TIE, Explanation, Forecaster
from lstm_core.model import INIT_WINDOWS, ForecastNet, resolve_patch_len
from lstm_core.network import check_memory, load_network, start_network
from lstm_core.panel import Layout, Panel
from lstm_core.safeio import clip, quote
from lstm_core.train import History, OnBatch, OnEpoch, RunningLoss, pick_device, train

MODEL = "AttentiveLSTM"  # the model's row in every per-series backtest table
SeriesScale = Literal["std", "mase"]


@dataclass(frozen=True)
class SeriesFit:
    """What the global model keeps of one series: its own scaling and where its held-out end
    began."""

    scaler: Scaler
    split: int  # first row of the held-out end (its validation rows in training)
    freq: str | None


class FairOrder:
    """The windows of one epoch (``train``'s ``order`` hook): every series gives ``share``
    windows, a fresh random choice each epoch (a short series' windows repeat, a long one's
    are subsampled), then all are shuffled. Positions only: no window is copied.

    Args:
        first: (S,) position of each series' first training window among all windows.
        counts: (S,) training windows of each series.
        share: windows per series and epoch (default: the mean count, rounded up, so an epoch
            is about as long as one pass over every window).
    """

    def __init__(self, first: torch.Tensor, counts: torch.Tensor, share: int | None = None):
        self.counts = counts.long()
        self.share = share or math.ceil(int(self.counts.sum()) / len(self.counts))
        owner = torch.repeat_interleave(torch.arange(len(counts)), self.counts)  # (N,)
        begin = torch.cumsum(self.counts, 0) - self.counts  # (S,) first slot of each series
        self.owner, self.begin = owner, begin
        self.positions = first.long()[owner] + torch.arange(len(owner)) - begin[owner]  # (N,)

    def __len__(self) -> int:
        return self.share * len(self.counts)

    def __call__(self, gen: torch.Generator) -> torch.Tensor:
        keys = torch.rand(len(self.owner), generator=gen, dtype=torch.float64)
        shuffled = torch.argsort(self.owner + keys)  # grouped by series, random within each
        slot = torch.arange(self.share)
        pick = self.begin[:, None] + slot[None, :] % self.counts[:, None]  # (S, share)
        chosen = self.positions[shuffled[pick.reshape(-1)]]
        return chosen[torch.randperm(len(chosen), generator=gen)]


@dataclass(frozen=True)
class PanelBacktest:
    """The global model and the per-series baselines on every series' held-out end.

    ``table``: one row per series and method (id, method, MAE, RMSE, MASE, sMAPE, coverage80,
    windows); ``summary``: one row per method with the mean and median MASE over series, the
    mean sMAPE and coverage, and ``model wins``: the series where the model's MASE is lower.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    best_baseline: str  # the baseline with the lowest mean MASE
    beats_baselines: bool  # the model's mean MASE is below every baseline's
    verdict: str
    skipped: dict[str, str]  # series that could not be scored, and why

    def by_series(self, metric: str = "MASE") -> pd.DataFrame:
        """One row per series, one column per method: ``metric``."""
        wide = self.table.pivot(index="id", columns="method", values=metric)
        methods = list(dict.fromkeys(self.table["method"]))
        return wide.loc[list(dict.fromkeys(self.table["id"])), methods]


class PanelForecaster:
    """One AttentiveLSTM forecaster for every series of a panel.

    ``fit`` sets ``config_``, ``model_``, ``history_``, ``ids_`` (the series it learnt from),
    ``series_`` (id -> SeriesFit), ``inputs_``, ``targets_``, ``time_col_``, ``id_col_``,
    ``layout_``, ``skipped_`` (id -> why a series was left out) and ``metrics_`` (the backtest
    summary). ``forecaster(id)`` is that series' view as a plain Forecaster, sharing the
    network, so everything that takes a Forecaster works on it.
    """

    def __init__(
        self, cfg: Config | None = None, *, scale: SeriesScale = "std", refit: bool = False
    ):
        self.cfg = cfg or Config()
        self.scale = scale  # each series' spread: see series_scaler
        # after early stopping, train a fresh network on every window (the held-out ends too)
        # for the epochs validation chose, so the forecast learns from the latest rows
        self.refit = refit

    # ------------------------------------------------------------ fitting

    def fit(
        self,
        panel: Panel,
        on_epoch: OnEpoch | None = None,
        on_batch: OnBatch | None = None,
        running: RunningLoss | None = None,
    ) -> PanelForecaster:
        """Train one network on the windows of every usable series of ``panel``; ``running``
        follows the current epoch's training loss (a live chart), as in ``Forecaster.fit``.

        Each series is cleaned with the data config, scaled with its own training rows' mean
        and spread, and split like a single series (its last ``val_fraction`` validates). Each
        epoch draws the same number of training windows from every series (``FairOrder``).
        Series that cannot be used (too short, constant, no values) are left out and named in
        ``skipped_``.

        Raises:
            DataError: no series can be used; ConfigError: the model or batch is too large.
        """
        cfg = panel.config(self.cfg)
        d, t = cfg.data, cfg.training
        L, H = d.lookback, d.horizon
        preps, skipped = prepare_series(panel, cfg)
        if not preps:
            first = next(iter(skipped.items()), ("", "the panel is empty"))
            raise DataError(
                f"no series of the panel can be used ({len(skipped)} left out; "
                f"{quote(first[0], 40)}: {clip(first[1], 160)})"
            )
        some = next(iter(preps.values()))
        k, width = len(some.targets), len(some.columns)
        series, rows = {}, []
        for sid, prep in preps.items():
            values = prep.frame[list(some.columns)].to_numpy(np.float64)
            split = held_out_start(len(values), H, t.val_fraction)
            scaler = series_scaler(values[:split], self.scale, prep.freq)
            series[sid] = SeriesFit(scaler, split, prep.freq)
            rows.append(torch.as_tensor(scaler.transform(values), dtype=torch.float32))
        freqs = {s.freq for s in series.values()}
        config = cfg.replace(
            data={
                "targets": list(some.targets),
                "covariates": list(some.covariates),
                "frequency": freqs.pop() if len(freqs) == 1 else None,
            },
            lstm={
                "hidden_size": resolve_hidden_size(cfg.lstm, width),
                "patch_len": resolve_patch_len(cfg),
            },
        )
        lengths = torch.tensor([len(r) for r in rows])
        splits = torch.tensor([s.split for s in series.values()])
        offsets = torch.cumsum(lengths, 0) - lengths  # first row of each series in ``stacked``
        n_train = splits - L - H + 1  # windows whose targets end before the held-out end
        check_memory(config, width, int(n_train.sum()), int((lengths - splits).sum()))
        device = pick_device(t.device)
        stacked = torch.cat(rows).to(device)  # (sum T, F): every series, end to end
        x, y = make_windows(stacked, L, H, k)  # views; windows spanning two series are never used
        order = FairOrder(offsets, n_train)
        val = torch.cat(
            [
                torch.arange(o + s - L, o + n - L - H + 1)
                for o, s, n in zip(offsets.tolist(), splits.tolist(), lengths.tolist())
            ]
        )
        lin = fc.fit_linear(
            [r[:s, :k].double().numpy() for r, s in zip(rows, splits.tolist())], L, H
        )
        sub = order.positions[
            torch.linspace(
                0, len(order.positions) - 1, min(INIT_WINDOWS, len(order.positions))
            ).long()
        ]
        sub = sub.to(device)
        net = start_network(config, lin, (x[sub], y[sub]), width, k, device)
        val = val.to(device)
        self.history_ = train(
            net,
            (x, y),
            (x[val], y[val]),
            config.training,
            device,
            on_epoch,
            on_batch,
            order=order,
            running=running,
        )
        self.model_ = net.cpu().eval()
        self.config_, self.series_ = config, series
        self.ids_ = tuple(series)
        self.inputs_, self.targets_ = some.columns, some.targets
        self.time_col_, self.id_col_, self.layout_ = panel.time_col, panel.id_col, panel.layout
        self.skipped_ = skipped
        self.meta_: dict = {}
        self.metrics_ = _summary_dict(self._backtest(preps).summary)
        epochs = self.history_.best_epoch
        if self.refit and epochs > 0:
            # the backtest above scored the validated network; the refit one has seen the
            # held-out ends, so it is not scored there again
            n_all = lengths - L - H + 1
            lin = fc.fit_linear([r[:, :k].double().numpy() for r in rows], L, H)
            net = start_network(config, lin, (x[sub], y[sub]), width, k, device)
            again = dataclasses.replace(config.training, epochs=epochs, patience=epochs)
            self.refit_history_ = train(
                net,
                (x, y),
                (x[val], y[val]),
                again,
                device,
                on_epoch,
                on_batch,
                order=FairOrder(offsets, n_all, order.share),
                running=running,
            )
            self.model_ = net.cpu().eval()
        return self

    @classmethod
    def restore(
        cls,
        config: Config,
        weights: dict[str, torch.Tensor] | ForecastNet,
        *,
        series: dict[str, SeriesFit],
        inputs: tuple[str, ...],
        targets: tuple[str, ...],
        time_col: str | None,
        id_col: str | None,
        layout: Layout,
        history: History,
        metrics: dict | None = None,
        meta: dict | None = None,
    ) -> PanelForecaster:
        """A fitted PanelForecaster from validated parts (what a panel checkpoint holds)."""
        pf = cls(config)
        pf.model_ = load_network(config, weights, len(inputs), len(targets))
        pf.config_, pf.history_ = config, history
        pf.series_, pf.ids_ = dict(series), tuple(series)
        pf.inputs_, pf.targets_ = tuple(inputs), tuple(targets)
        pf.time_col_, pf.id_col_, pf.layout_ = time_col, id_col, layout
        pf.skipped_, pf.metrics_, pf.meta_ = {}, metrics, meta or {}
        return pf

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("PanelForecaster is not fitted; call fit() or load a checkpoint")

    def fingerprint(self) -> str:
        """sha256 of the shared network (config and weights) and every series' scaling: equal
        models, equal fingerprint (what the app keys its cached results by)."""
        self._check_fitted()
        h = hashlib.sha256(self.forecaster(self.ids_[0]).fingerprint().encode())
        for sid, s in self.series_.items():
            h.update(sid.encode())
            h.update(repr((s.scaler.mean, s.scaler.std, s.split)).encode())
        return h.hexdigest()

    # ------------------------------------------------------------ one series

    def forecaster(self, series_id: str) -> Forecaster:
        """Series ``series_id`` as a fitted Forecaster: the shared network (not a copy) with
        that series' scaling, so ``predict``, ``backtest``, ``explain`` and
        ``interpret.trace`` work on ``panel.select(series_id)`` as on any single series.

        Raises:
            DataError: the model did not learn from this series.
        """
        self._check_fitted()
        s = self.series_.get(str(series_id))
        if s is None:
            why = getattr(self, "skipped_", {}).get(str(series_id))
            raise DataError(
                f"the model did not learn from series {quote(series_id, 40)}"
                + (
                    f" (left out: {clip(why, 120)})"
                    if why
                    else f"; it knows {len(self.ids_)} series, e.g. {', '.join(self.ids_[:3])}"
                )
            )
        return Forecaster.restore(
            self.config_,
            self.model_,
            scaler=s.scaler,
            inputs=self.inputs_,
            targets=self.targets_,
            time_col=self.time_col_,
            freq=s.freq,
            split=s.split,
            history=self.history_,
            meta=self.meta_,
        )

    def explain(self, panel: Panel, series_id: str, origin: int | None = None) -> Explanation:
        """Attention and skip-gate activations of one series' window (see Forecaster.explain)."""
        return self.forecaster(series_id).explain(panel.select(series_id), origin)

    # ------------------------------------------------------------ every series

    def predict(self, panel: Panel, ids: list[str] | None = None) -> pd.DataFrame:
        """The next ``horizon`` steps of each series (default: every series it learnt from).

        Returns:
            Long table: id, time, target, q0.1, q0.5, q0.9.
        """
        out = []
        for sid in ids or self.ids_:
            one = self.forecaster(sid).predict(panel.select(sid))
            one.insert(0, "id", sid)
            out.append(one)
        return pd.concat(out, ignore_index=True)

    def backtest(
        self,
        panel: Panel,
        ids: list[str] | None = None,
        on_series: Callable[[int, int], None] | None = None,
    ) -> PanelBacktest:
        """Each series' held-out end scored for the model and its own baselines (naive,
        seasonal naive, the NLinear ridge fitted on that series alone), then averaged.
        ``on_series(done, total)`` follows the progress (it may raise to stop)."""
        self._check_fitted()
        preps, skipped = {}, {}
        for sid in ids or self.ids_:
            try:
                preps[sid] = self.forecaster(sid).prepare(panel.select(sid))
            except DataError as e:
                skipped[sid] = str(e)
        return self._backtest(preps, skipped, on_series)

    def _backtest(
        self,
        preps: dict[str, Prepared],
        skipped: dict | None = None,
        on_series: Callable[[int, int], None] | None = None,
    ) -> PanelBacktest:
        skipped = dict(skipped or {})
        rows = []
        for done, (sid, prep) in enumerate(preps.items()):
            if on_series is not None:
                on_series(done, len(preps))
            try:
                bt = self.forecaster(sid).backtest(prep)
            except DataError as e:  # e.g. too short for the linear baseline's fit
                skipped[sid] = str(e)
                continue
            for method, m in bt.table.iterrows():
                rows.append(
                    {"id": sid, "method": _plain(str(method)), **m.to_dict(), "windows": bt.windows}
                )
        if not rows:
            raise DataError(
                "no series could be backtested: "
                + "; ".join(f"{k}: {clip(v, 80)}" for k, v in list(skipped.items())[:3])
            )
        return _panel_backtest(pd.DataFrame(rows), skipped)


def prepare_series(panel: Panel, cfg: Config) -> tuple[dict[str, Prepared], dict[str, str]]:
    """Every series cleaned with ``cfg.data`` (``panel.config(cfg)``: the panel's columns) and
    long enough to train on; the others, and why not (what ``fit`` will leave out)."""
    d, t = cfg.data, cfg.training
    preps, skipped = {}, {}
    for sid in panel.ids:
        try:
            prep = prepare(panel.select(sid), d)
            n = len(prep.frame)
            check_length(n, d.lookback, d.horizon, t.val_fraction)
            if held_out_start(n, d.horizon, t.val_fraction) < d.lookback + d.horizon:
                raise SeriesTooShort(
                    f"{n} rows leave no training window of {d.lookback} + {d.horizon} steps "
                    "before the held-out end",
                    d.lookback + d.horizon,
                )
        except DataError as e:
            skipped[sid] = str(e)
            continue
        preps[sid] = prep
    return preps, skipped


def series_scaler(values: np.ndarray, scale: SeriesScale, freq: str | None) -> Scaler:
    """One series' scaling from its training rows ``values`` (T, F): the mean, and as spread
    the standard deviation (``"std"``) or, for the targets and covariates alike, the mean
    absolute seasonal difference (``"mase"``: the MASE denominator, with the seasonal naive's
    period ``forecast.baseline_season``), so that the training loss, an L1 at the median, is
    the MASE each series is scored by. A spread of zero falls back to the standard deviation.
    """
    plain = Scaler.fit(values)
    if scale == "std":
        return plain
    m = fc.baseline_season(freq, values)
    diff = np.abs(values[m:] - values[:-m]).mean(axis=0) if len(values) > m else np.zeros(0)
    spread = [d if np.isfinite(d) and d > 1e-12 else s for d, s in zip(diff, plain.std)]
    if len(spread) != len(plain.std):
        return plain
    return Scaler(plain.mean, tuple(map(float, spread)))


def _plain(method: str) -> str:
    """One name per baseline across series: "seasonal naive (m=24)" -> "seasonal naive"."""
    return method.split(" (m=")[0]


def _panel_backtest(table: pd.DataFrame, skipped: dict[str, str]) -> PanelBacktest:
    """The per-series table averaged per method, and the verdict on mean MASE."""
    methods = list(dict.fromkeys(table["method"]))
    mase = table.pivot(index="id", columns="method", values="MASE")
    grouped = table.groupby("method", sort=False)
    summary = pd.DataFrame(
        {
            "mean MASE": grouped["MASE"].mean(),
            "median MASE": grouped["MASE"].median(),
            "mean sMAPE": grouped["sMAPE"].mean(),
            "mean coverage80": grouped["coverage80"].mean(),
            "model wins": pd.array(
                [
                    None if m == MODEL else int((mase[MODEL] < mase[m]).sum())
                    for m in grouped.groups
                ],
                dtype="Int64",
            ),
            "series": grouped["id"].nunique(),
        }
    ).loc[methods]
    baselines = summary.drop(index=MODEL)
    best = str(baselines["mean MASE"].idxmin())
    model, best_mase = summary.loc[MODEL, "mean MASE"], baselines.loc[best, "mean MASE"]
    beats = bool(model < best_mase * (1 - TIE))
    n = len(mase)
    wins = int(summary.loc[best, "model wins"])
    if beats:
        verdict = (
            f"Over {n} series the model's mean MASE ({model:.3f}) is "
            f"{100 * (1 - model / best_mase):.1f}% lower than the best baseline's ({best}, {best_mase:.3f}); it is better than "
            f"{best} on {wins} of {n} series."
        )
    else:
        verdict = (
            f"Over {n} series the model does not beat the best baseline ({best}): mean MASE "
            f"{model:.3f} vs {best_mase:.3f}; it is better than {best} on {wins} of {n} series."
        )
    windows = int(table.loc[table["method"] == MODEL, "windows"].sum())
    note = fc.interval_note(float(summary.loc[MODEL, "mean coverage80"]), windows)
    verdict += f" Averaged over series: {note}" if note else ""
    return PanelBacktest(table, summary, best, beats, verdict, skipped)


def _summary_dict(summary: pd.DataFrame) -> dict:
    """The backtest summary as JSON-ready metrics (method -> metric -> number)."""
    return {
        str(m): {str(k): None if pd.isna(v) else float(v) for k, v in row.items()}
        for m, row in summary.iterrows()
    }


__all__ = [
    "MODEL",
    "FairOrder",
    "PanelBacktest",
    "PanelForecaster",
    "SeriesFit",
    "SeriesScale",
    "prepare_series",
    "series_scaler",
]
