"""One AttentiveLSTM across a panel: windows of every series drawn in equal shares, each series
scaled on its own rows, and the forecast, backtest and explanation of any one series."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from lstm_core import baselines
from lstm_core.config import Config, resolve_hidden_size
from lstm_core.data import (
    Prepared,
    Scaler,
    check_length,
    held_out_start,
    prepare,
)
from lstm_core.errors import DataError, SeriesTooShort, TrainingError
from lstm_core.fitted import REFITTED, Fittable, Fitted, SeriesFit, check_is_fitted, judge
from lstm_core.forecaster import (
    LINEAR_AT_L,
    SCORED_ON,
    Explanation,
    Forecaster,
    HeldOut,
    ScoredOn,
    data_hash,
    held_out_parts,
)
from lstm_core.model import resolve_patch_len
from lstm_core.panel import Panel
from lstm_core.panel_windows import PanelWindows
from lstm_core.safeio import clip, quote
from lstm_core.train import History, OnBatch, OnEpoch, RunningLoss

MODEL = "AttentiveLSTM"  # the model's row in every per-series backtest table
FINISHED = ("completed", "early_stopping")  # a validated run that may be refitted
SeriesScale = Literal["std", "mase"]


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


@dataclass(frozen=True)
class PanelHeldOut:
    """Every forecast of each series' held-out end (``Forecaster.held_out`` per series)."""

    series: dict[str, HeldOut]  # id -> its held-out forecasts, in the panel's order
    skipped: dict[str, str]  # series that could not be scored, and why


class PanelForecaster(Fittable):
    """One AttentiveLSTM forecaster for every series of a panel.

    ``fit`` sets the fitted state (``fitted.Fitted``), read as ``config_``, ``model_``,
    ``history_``, ``series_`` (id -> SeriesFit, in the order learnt; ``series_ids``),
    ``inputs_``, ``targets_``, ``time_col_``, ``id_col_``, ``layout_``, ``skipped_`` (id -> why
    a series was left out) and ``metrics_`` (the backtest summary). ``for_series(id)`` is that
    series' view as a plain Forecaster, sharing the network, so everything that takes a
    Forecaster works on it.
    """

    def __init__(self, cfg: Config | None = None, *, scale: SeriesScale = "std"):
        self.cfg = cfg or Config()
        self.scale = scale  # each series' spread: see series_scaler
        self.refit_history_: History | None = None  # set by a refit (``_refit``)

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
        and spread, and split like a single series (``series_fits``: its last ``val_fraction``
        is held out and cut into validation, check and test parts where it is long enough). Each
        epoch draws the same number of training windows from every series (``FairOrder``).
        Series that cannot be used (too short, constant, no values) are left out and named in
        ``skipped_``.

        Raises:
            DataError: no series can be used; ConfigError: the model or batch is too large.
        """
        self.refit_history_ = None
        cfg = panel.config(self.cfg)
        preps, skipped = prepare_series(panel, cfg)
        if not preps:
            first = next(iter(skipped.items()), ("", "the panel is empty"))
            raise DataError(
                f"no series of the panel can be used ({len(skipped)} left out; "
                f"{quote(first[0], 40)}: {clip(first[1], 160)})"
            )
        some = next(iter(preps.values()))
        series = series_fits(preps, some.columns, cfg, self.scale)
        freqs = {s.freq for s in series.values()}
        config = cfg.replace(
            data={
                "targets": list(some.targets),
                "covariates": list(some.covariates),
                "frequency": freqs.pop() if len(freqs) == 1 else None,
            },
            lstm={
                "hidden_size": resolve_hidden_size(cfg.lstm, len(some.columns)),
                "patch_len": resolve_patch_len(cfg),
            },
        )
        windows = PanelWindows(config, preps, series, some.columns, len(some.targets))
        net, history = windows.train(config, held_out=False, run=(on_epoch, on_batch, running))
        self._set(
            Fitted(
                config=config,
                model=net,
                history=history,
                inputs=some.columns,
                targets=some.targets,
                time_col=panel.time_col,
                series=series,
                layout=panel.layout,
                id_col=panel.id_col,
                skipped=skipped,
            )
        )
        summary = self.score(self._held_out(preps)).summary
        self._set(dataclasses.replace(self.fitted_, metrics=_summary_dict(summary)))
        # not after a cancel or the time limit: the run the user stopped ends here
        if config.training.refit and history.best_epoch > 0 and history.stopped in FINISHED:
            self._refit(windows, config, history, (on_batch, running))
        return self

    def _refit(
        self,
        windows: PanelWindows,
        config: Config,
        history: History,
        run: tuple[OnBatch | None, RunningLoss | None],
    ) -> None:
        """``training.refit``: a fresh network from the linear start of every row, trained on
        every window (the held-out ends too) for the epochs validation chose, its last epoch
        kept, so the forecasts learn each series' latest rows (M4 Hourly:
        ``benchmarks/README.md``, M4 round 7). It is the model; the validated network stays as
        ``validated``, which the backtest scores, since the new one has seen the test parts.
        Batches are reported (progress, cancel), their epochs counted from 1 again, with
        ``running.refit_epochs`` set to how many there are (the app and the CLI say a refit
        runs); epochs not: their losses are on windows it trains on. Cancelled, or stopped by
        a non-finite loss, the validated network stays the model."""
        epochs = history.best_epoch
        again = config.replace(training={"epochs": epochs, "patience": epochs})
        on_batch, running = run
        if running is not None:
            running.refit_epochs = epochs
        try:
            net, self.refit_history_ = windows.train(
                again, held_out=True, run=(None, on_batch, running)
            )
        except TrainingError as e:  # non-finite before its first epoch ended
            net, why = None, clip(str(e).split(";")[0], 120)
        else:
            why = self.refit_history_.message.split(";")[0]
        finally:
            if running is not None:
                running.refit_epochs = 0
        done = net is not None and self.refit_history_.stopped == "completed"
        if done:
            said = (f"; then trained again on every row for {epochs} epoch{'s' * (epochs > 1)} "
                    f"({self.refit_history_.seconds:.0f} s)")
        else:  # cancelled, the time limit, or non-finite: the validated network stays, said so
            said = (f"; training again on every row did not finish ({why}), so the model is "
                    "the validated network")
        told = dataclasses.replace(history, message=history.message + said)
        state = dataclasses.replace(self.fitted_, history=told)
        self._set(dataclasses.replace(state, model=net, validated=state.model) if done else state)

    @classmethod
    def restore(cls, state: Fitted) -> PanelForecaster:
        """A fitted PanelForecaster from its fitted state (what a panel checkpoint holds)."""
        pf = cls(state.config)
        pf._set(state)
        return pf

    @property
    def series_(self) -> dict[str, SeriesFit]:
        """Each series it learnt (id -> its scaling, held-out start and time step)."""
        return check_is_fitted(self).series

    def fingerprint(self) -> str:
        """sha256 of the shared network (config and weights) and every series' scaling: equal
        models, equal fingerprint (what the app keys its cached results by)."""
        h = hashlib.sha256(super().fingerprint().encode())
        for sid, s in self.series_.items():
            h.update(sid.encode())
            h.update(repr((s.scaler.mean, s.scaler.std, s.split, s.test)).encode())
        return h.hexdigest()

    # ------------------------------------------------------------ one series

    def for_series(self, series_id: str | None = None) -> Forecaster:
        """Series ``series_id`` as a fitted Forecaster: the shared network (not a copy) with
        that series' scaling, so ``predict``, ``backtest``, ``explain`` and
        ``interpret.trace`` work on ``panel.select(series_id)`` as on any single series.

        Raises:
            DataError: the model did not learn from this series.
        """
        state, ids = check_is_fitted(self), self.series_ids
        fit = state.series.get(str(series_id))
        if fit is None:
            why = state.skipped.get(str(series_id))
            raise DataError(
                f"the model did not learn from series {quote(series_id, 40)}"
                + (
                    f" (left out: {clip(why, 120)})"
                    if why
                    else f"; it knows {len(ids)} series, e.g. {', '.join(ids[:3])}"
                )
            )
        return Forecaster.restore(
            dataclasses.replace(
                state,
                # a single series keeps where its test part starts, and what it was trained
                # on, in these two (``Forecaster._scored_part``)
                history=dataclasses.replace(state.history, test_start=fit.test),
                data_hash=fit.data_hash,
                series={str(series_id): fit},
                metrics=None,
                layout=None,
                id_col=None,
                skipped={},
            )
        )

    def explain(self, panel: Panel, series_id: str, origin: int | None = None) -> Explanation:
        """Attention and skip-gate activations of one series' window (see Forecaster.explain)."""
        return self.for_series(series_id).explain(panel.select(series_id), origin)

    # ------------------------------------------------------------ every series

    def predict(self, panel: Panel, ids: list[str] | None = None) -> pd.DataFrame:
        """The next ``horizon`` steps of each series (default: every series it learnt from).

        Returns:
            Long table: id, time, target, q0.1, q0.5, q0.9.
        """
        out = []
        for sid in ids or self.series_ids:
            one = self.for_series(sid).predict(panel.select(sid))
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
        return self.score(self.held_out(panel, ids, on_series))

    def held_out(
        self,
        panel: Panel,
        ids: list[str] | None = None,
        on_series: Callable[[int, int], None] | None = None,
    ) -> PanelHeldOut:
        """Every forecast ``backtest`` scores, series by series (``Forecaster.held_out``); a
        series that cannot be scored is named in ``skipped`` with the reason."""
        preps, skipped = {}, {}
        for sid in ids or self.series_ids:
            try:
                preps[sid] = self.for_series(sid).prepare(panel.select(sid))
            except DataError as e:
                skipped[sid] = str(e)
        return self._held_out(preps, skipped, on_series)

    def _held_out(
        self,
        preps: dict[str, Prepared],
        skipped: dict | None = None,
        on_series: Callable[[int, int], None] | None = None,
    ) -> PanelHeldOut:
        skipped, held = dict(skipped or {}), {}
        for done, (sid, prep) in enumerate(preps.items()):
            if on_series is not None:
                on_series(done, len(preps))
            try:
                held[sid] = self.for_series(sid).held_out(prep)
            except DataError as e:  # e.g. too short for the linear baseline's fit
                skipped[sid] = str(e)
        return PanelHeldOut(held, skipped)

    def score(self, held: PanelHeldOut) -> PanelBacktest:
        """The per-series backtest tables of ``held_out``, averaged, and the verdict."""
        rows, scored = [], {}
        for sid, one in held.series.items():
            scored[sid] = one.scored_on
            bt = self.for_series(sid).score(one)
            # a series scored on its test part also shows the linear baseline at the model's
            # lookback where its own differs: kept out, since it would be averaged over only
            # those series, and the verdict compares means over every series
            for method, m in bt.table.drop(LINEAR_AT_L, errors="ignore").iterrows():
                rows.append(
                    {"id": sid, "method": _plain(str(method)), **m.to_dict(), "windows": bt.windows}
                )
        if not rows:
            raise DataError(
                "no series could be backtested: "
                + "; ".join(f"{k}: {clip(v, 80)}" for k, v in list(held.skipped.items())[:3])
            )
        bt = _panel_backtest(pd.DataFrame(rows), dict(held.skipped), scored)
        return dataclasses.replace(bt, verdict=bt.verdict + REFITTED * self._refitted)


def forecaster_for(
    data: pd.DataFrame | Prepared | Panel, cfg: Config
) -> Forecaster | PanelForecaster:
    """The forecaster that learns ``data``: one network for every series of a Panel, else one
    for the series."""
    return PanelForecaster(cfg) if isinstance(data, Panel) else Forecaster(cfg)


def forecaster_from(state: Fitted) -> Forecaster | PanelForecaster:
    """The forecaster a fitted state describes: a panel's (it has a layout) or one series'."""
    return (PanelForecaster if state.layout is not None else Forecaster).restore(state)


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


def series_fits(
    preps: dict[str, Prepared], columns: tuple[str, ...], cfg: Config, scale: SeriesScale
) -> dict[str, SeriesFit]:
    """What the model keeps of each series: its scaling (``series_scaler``) on its training
    rows, and where its held-out end starts and is cut, as a single series' is
    (``held_out_parts``: validation chooses the epoch, check tests the LSTM against its
    linear start, test is the backtest's), with the hash of its rows ``columns``."""
    series, H = {}, cfg.data.horizon
    for sid, prep in preps.items():
        frame = prep.frame[list(columns)]
        values = frame.to_numpy(np.float64)
        n = len(values)
        split = held_out_start(n, H, cfg.training.val_fraction)
        test = held_out_parts(n, split, H)[1]
        series[sid] = SeriesFit(
            series_scaler(values[:split], scale, prep.freq, cfg.data.window_norm),
            split,
            prep.freq,
            test=test if test < n else 0,
            data_hash=data_hash(frame),
        )
    return series


def series_scaler(
    values: np.ndarray, scale: SeriesScale, freq: str | None, window_norm: str = "none"
) -> Scaler:
    """One series' scaling from its training rows ``values`` (T, F): the mean, and as spread
    the standard deviation (``"std"``) or, for the targets and covariates alike, the mean
    absolute seasonal difference (``"mase"``: the MASE denominator, with the seasonal naive's
    period ``baselines.baseline_season``), so that the training loss, an L1 at the median, is
    the MASE each series is scored by. A spread of zero falls back to the standard deviation.
    With ``data.window_norm`` "series" or "level", the level alone (``Scaler.fit_level``).
    """
    plain = Scaler.for_norm(values, window_norm)
    if window_norm != "none" or scale == "std":
        return plain
    m = baselines.baseline_season(freq, values)
    diff = np.abs(values[m:] - values[:-m]).mean(axis=0) if len(values) > m else np.zeros(0)
    spread = [d if np.isfinite(d) and d > 1e-12 else s for d, s in zip(diff, plain.std)]
    if len(spread) != len(plain.std):
        return plain
    return Scaler(plain.mean, tuple(map(float, spread)))


def _plain(method: str) -> str:
    """One name per baseline across series: "seasonal naive (m=24)" -> "seasonal naive"."""
    return method.split(" (m=")[0]


def _panel_backtest(
    table: pd.DataFrame, skipped: dict[str, str], scored: dict[str, ScoredOn] | None = None
) -> PanelBacktest:
    """The per-series table averaged per method, and the verdict on mean MASE; ``scored``:
    which windows each series was scored on (said in the verdict)."""
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
    n = len(mase)
    best, beats, verdict = judge(summary["mean MASE"], "mean MASE", f"Over {n} series ")
    wins = int(summary.loc[best, "model wins"])
    verdict += f"; it is better than {best} on {wins} of {n} series."
    windows = int(table.loc[table["method"] == MODEL, "windows"].sum())
    note = baselines.interval_note(float(summary.loc[MODEL, "mean coverage80"]), windows)
    verdict += f" Averaged over series: {note}" if note else ""
    kinds = Counter((scored or {}).values())
    if len(kinds) == 1:
        verdict += f" Scored on {SCORED_ON[next(iter(kinds))]}."
    elif kinds:
        verdict += (
            " Scored on "
            + "; ".join(f"{SCORED_ON[k]} for {c} of {n} series" for k, c in kinds.most_common())
            + "."
        )
    return PanelBacktest(table, summary, best, beats, verdict, skipped)


def _summary_dict(summary: pd.DataFrame) -> dict:
    """The backtest summary as JSON-ready metrics (method -> metric -> number)."""
    return {
        str(m): {str(k): None if pd.isna(v) else float(v) for k, v in row.items()}
        for m, row in summary.iterrows()
    }


__all__ = [
    "MODEL",
    "PanelBacktest",
    "PanelForecaster",
    "PanelHeldOut",
    "SeriesScale",
    "forecaster_for",
    "forecaster_from",
    "prepare_series",
    "series_fits",
    "series_scaler",
]
