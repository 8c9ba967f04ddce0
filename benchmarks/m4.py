"""M4 Hourly: the global AttentiveLSTM against Naive2, the seasonal naive and a per-series
NLinear ridge (and, with --peers, statsforecast and neuralforecast), scored as M4 scored.

Usage:
    python benchmarks/m4.py --data ../shared/data/m4_hourly                # validation, then test
    python benchmarks/m4.py --data ../shared/data/m4_hourly --stage val --series 60
    python benchmarks/m4.py --data ../shared/data/m4_hourly --set data.lookback=168 --peers

Stages (``--stage``): ``val`` holds out each series' last 48 training steps (every method is
fitted on the rest and scored on them: where choices are made); ``test`` fits on all of
``train.csv`` and scores on ``test.csv`` (the final check). ``both`` (default) runs val, then
test. Scores: ``lstm_core.scores`` (sMAPE, MASE with m = 24 on the fitted values, OWA against
Naive2 on the set means); coverage is the share of actual values inside the 10%-90% interval.

Methods:
- Naive2, seasonal naive (24): ``lstm_core.scores``.
- per-series NLinear ridge: on each series alone, the lookback L and ridge penalty chosen by
  the error on that series' last 48 fitted steps (fitted on the steps before), then refitted.
- ours: ``PanelForecaster`` on every series at once (one model), its own validation split and
  early stopping inside the fitted steps; ``--set section.key=value`` changes the config,
  ``--model-seeds`` averages the median forecasts (and quantiles) of several seeds (from
  ``--first-seed``), ``--lookbacks`` of one model per lookback; ``--phase`` adds the row's
  place in a 24- and 168-step cycle as covariates; ``--combine`` adds the equal-weight mean
  of ours and the per-series ridge (our 80% interval moved with the median);
  ``--with-validated`` adds the equal-weight mean of every refitted network and its validated
  network (``Fitted.validated``: trained without each series' held-out end), a second member
  at no training cost.
- ``--split-validation``: early stopping watches every other series' held-out end only (a
  measurement: the other series' ends would be a backtest that chose nothing, with a held-out
  end as short as validation alone needs; the product splits rows, not series).
- ``--auto``: the product's own settings instead of ``SETTINGS``: those the CLI chooses from
  the panel being trained with only ``--horizon 48`` (and ``--threads``), by the CLI's own
  functions (``cli_inputs.build_config``, ``choose_settings``), printed with their reasons;
  ``--set`` then changes them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etth1 import overrides  # the same --set parsing (run as a script: benchmarks/ is on the path)

from lstm_core import panel_forecaster, scores
from lstm_core.cli_inputs import build_config, choose_settings
from lstm_core.config import Config
from lstm_core.panel import Panel, read_panel
from lstm_core.panel_forecaster import PanelForecaster, SeriesScale
from lstm_core.panel_windows import PanelWindows

H, M = 48, 24  # M4 Hourly's horizon and seasonal period
RIDGE_LOOKBACKS = (24, 48, 96, 168, 336)
RIDGE_PENALTIES = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # relative to the mean feature variance
# the model's settings, chosen on the validation stage (see benchmarks/README.md, M4 section)
SETTINGS = {
    "data": {"lookback": 168, "horizon": H},
    # validation on each series' last 7% (about 50-70 steps): the most recent rows, which
    # are the ones nearest the future, stay in training (0.2 was 0.583 on 60 series, 0.07 0.524)
    "training": {"epochs": 16, "batch_size": 256, "patience": 4, "val_fraction": 0.07},
}


def load(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each series' training values and test values, in file order."""
    train = pd.read_csv(folder / "train.csv")
    test = pd.read_csv(folder / "test.csv")
    split = {
        name: {s: g.sort_values("t")["value"].to_numpy(np.float64) for s, g in t.groupby("series")}
        for name, t in (("train", train), ("test", test))
    }
    ids = list(dict.fromkeys(train["series"]))
    return {s: split["train"][s] for s in ids}, {s: split["test"][s] for s in ids}


def ridge_forecast(x: np.ndarray, L: int, penalty: float) -> np.ndarray:
    """NLinear ridge fitted on every window of ``x`` alone, forecasting H steps after its end.

    Each window and its targets are taken relative to the window's last value; the penalty is
    relative to the mean variance of those features (scale-free)."""
    w = np.lib.stride_tricks.sliding_window_view(x, L + H)  # (N, L+H)
    last = w[:, L - 1 : L]
    feats = np.c_[w[:, : L - 1] - last, np.ones(len(w))]  # the last lag is always 0
    target = w[:, L:] - last
    g = feats.T @ feats
    lam = penalty * np.trace(g[:-1, :-1]) / max(L - 1, 1)
    reg = lam * np.eye(len(g))
    reg[-1, -1] = 0.0  # the bias is not shrunk
    coef = np.linalg.solve(g + reg + 1e-9 * np.eye(len(g)), feats.T @ target)
    z = np.r_[x[-L:-1] - x[-1], 1.0]
    return x[-1] + z @ coef


def ridge(x: np.ndarray) -> np.ndarray:
    """The per-series ridge: (L, penalty) with the lowest MAE on the last H fitted steps,
    refitted on all of ``x``."""
    inner = x[:-H]
    best, choice = np.inf, None
    for L in RIDGE_LOOKBACKS:
        if len(inner) < L + H + 2 * L:  # a few windows per weight at least
            continue
        for p in RIDGE_PENALTIES:
            err = np.abs(ridge_forecast(inner, L, p) - x[-H:]).mean()
            if err < best:
                best, choice = err, (L, p)
    if choice is None:
        return scores.seasonal_naive(x, H, M)
    return ridge_forecast(x, *choice)


def panel_of(insample: dict[str, np.ndarray], phase: bool = False) -> tuple[Panel, list[str]]:
    """The panel the model trains on (columns id, t, value: the M4 files have a step index, no
    times) and its covariates. ``phase``: sin and cos of the step's place in a 24- and a
    168-step cycle, counted from each series' first row."""
    frame = pd.concat(
        [pd.DataFrame({"id": s, "t": np.arange(len(x)), "value": x}) for s, x in insample.items()]
    )
    if phase:  # the step's place in the day and week, from its row (the files have no times)
        for period in (24, 168):
            angle = 2 * np.pi * frame["t"].to_numpy() / period
            frame[f"sin{period}"], frame[f"cos{period}"] = np.sin(angle), np.cos(angle)
    return read_panel(frame, "id", time_col="t"), [c for c in frame if c[:3] in ("sin", "cos")]


class SplitValidation(PanelWindows):
    """``PanelWindows`` whose validation windows are those of every other series (the 1st,
    3rd, ...): the others' held-out ends choose nothing."""

    def __init__(self, config: Config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        L, H = config.data.lookback, config.data.horizon
        ends = zip(self.offsets.tolist(), self.splits.tolist(), self.lengths.tolist())
        self.val = torch.cat(
            [torch.arange(o + s - L, o + n - L - H + 1) for o, s, n in list(ends)[::2]]
        ).to(self.device)


def automatic(panel: Panel, threads: int) -> Config:
    """The config the CLI trains ``panel`` with when given only ``--horizon 48 --threads N``:
    its own ``build_config`` and ``choose_settings`` (``defaults.for_any``), whose reasons are
    printed here as the CLI prints them."""
    args = argparse.Namespace(horizon=H, threads=threads)
    with contextlib.redirect_stderr(sys.stdout):
        return choose_settings(args, build_config(args, None), None, panel)


def ours(
    panel: Panel,
    cfg: Config,
    seeds: range,
    scale: SeriesScale = "std",
    lookbacks: tuple[int, ...] = (),
    split_validation: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str, list]:
    """The panel model's quantiles (id -> (H, 3): 0.1, 0.5, 0.9) averaged over a model per
    seed of ``seeds`` for each of ``lookbacks`` (default: the config's), those of the first
    alone, and a line on each training. ``split_validation``: ``SplitValidation``'s windows.
    Last: each model's validated network's quantiles (``Fitted.validated``; None where the
    model was not trained again)."""
    runs, notes, validated = [], [], []
    for L, seed in [(L, seed) for L in lookbacks or (cfg.data.lookback,) for seed in seeds]:
        torch.manual_seed(seed)  # dropout's generator: this process's own
        run = cfg.replace(data={"lookback": L}, training={"seed": seed})
        pf = PanelForecaster(run, scale=scale)
        windows = SplitValidation if split_validation else PanelWindows
        with mock.patch.object(panel_forecaster, "PanelWindows", windows):
            pf.fit(panel)
        h = pf.history_
        notes.append(
            f"L {L} seed {seed}: {h.seconds:.0f} s, {len(h.val_loss)} epochs, "
            f"best {h.best_epoch}, "
            f"val {h.best_val_loss:.4f} (start {h.initial_val_loss:.4f})"
            + (
                f"; trained again {pf.refit_history_.seconds:.0f} s"
                + ("" if pf.fitted_.validated is not None else " (not used)")
                if pf.refit_history_ is not None
                else ""
            )
        )
        runs.append(_quantiles(pf.predict(panel)))
        state = pf.fitted_
        if state.validated is None:
            validated.append(None)
        else:  # the same forecasts by the validated network
            pf._set(dataclasses.replace(state, model=state.validated, validated=None))
            validated.append(_quantiles(pf.predict(panel)))
            pf._set(state)
    out = {s: np.mean([r[s] for r in runs], axis=0) for s in runs[0]}
    return out, runs[0], "; ".join(notes), validated


def _quantiles(pred: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        sid: g[["q0.1", "q0.5", "q0.9"]].to_numpy(np.float64)
        for sid, g in pred.groupby("id", sort=False)
    }


def peers(insample: dict[str, np.ndarray]) -> dict[str, tuple[dict[str, np.ndarray], float]]:
    """statsforecast MSTL and AutoETS, neuralforecast NHITS: each installed one's forecasts
    (id -> (H,), or (H, 3) with its 80% interval) and seconds."""
    out: dict[str, tuple[dict[str, np.ndarray], float]] = {}
    frame = pd.concat(
        [
            pd.DataFrame({"unique_id": s, "ds": np.arange(len(x)), "y": x})
            for s, x in insample.items()
        ]
    )
    try:
        from statsforecast import StatsForecast
        from statsforecast.models import MSTL, AutoETS
    except ImportError:
        print("  (statsforecast is not installed: no MSTL / AutoETS rows)")
    else:
        for name, model in (
            ("statsforecast MSTL (24, 168)", MSTL(season_length=[24, 168])),
            ("statsforecast AutoETS (24)", AutoETS(season_length=24)),
        ):
            start = time.perf_counter()
            sf = StatsForecast(models=[model], freq=1, n_jobs=1)
            fc = sf.forecast(df=frame, h=H, level=[80]).reset_index()
            col = next(c for c in fc.columns if c not in ("unique_id", "ds", "index"))
            got = {
                s: g[[f"{col}-lo-80", col, f"{col}-hi-80"]].to_numpy(np.float64)
                for s, g in fc.groupby("unique_id", sort=False)
            }
            out[name] = (got, time.perf_counter() - start)
    try:
        from neuralforecast import NeuralForecast
        from neuralforecast.models import NHITS
    except ImportError:
        print("  (neuralforecast is not installed: no NHITS row)")
    else:
        start = time.perf_counter()
        nf = NeuralForecast(models=[NHITS(h=H, input_size=168, max_steps=1000)], freq=1)
        nf.fit(df=frame)
        fc = nf.predict().reset_index()
        got = {s: g["NHITS"].to_numpy(np.float64) for s, g in fc.groupby("unique_id", sort=False)}
        out["neuralforecast NHITS (input 168, 1,000 steps)"] = (got, time.perf_counter() - start)
    return out


def row(
    name: str,
    insample: dict[str, np.ndarray],
    actual: dict[str, np.ndarray],
    forecast: dict[str, np.ndarray],
    seconds: float | None,
) -> str:
    """One table row: (H,) point forecasts, or (H, 3) with the 80% interval."""
    ids = list(insample)
    f = [np.asarray(forecast[s]) for s in ids]
    interval = f[0].ndim == 2
    s = scores.score_set(
        [insample[i] for i in ids],
        [actual[i] for i in ids],
        [x[:, 1] if interval else x for x in f],
        M,
        lower=[x[:, 0] for x in f] if interval else None,
        upper=[x[:, 2] for x in f] if interval else None,
    )
    cover = f"{s.coverage80:.3f}" if s.coverage80 is not None else "-"
    secs = f"{seconds:.0f}" if seconds is not None else "-"
    return f"| {name} | {s.smape:.2f} | {s.mase:.3f} | {s.owa:.3f} | {cover} | {secs} |"


def run_stage(
    stage: str, train: dict, test: dict, cfg: Config, extra: dict, args: argparse.Namespace
) -> None:
    """One stage's table; ``cfg`` is the model's hand-set config (``SETTINGS`` with ``extra``,
    the ``--set`` overrides), which ``--auto`` replaces with the CLI's choice on this stage's
    panel (``extra`` on top)."""
    if stage == "val":
        insample = {s: x[:-H] for s, x in train.items()}
        actual = {s: x[-H:] for s, x in train.items()}
    else:
        insample, actual = train, test
    panel, covariates = panel_of(insample, args.phase)
    if args.auto and not args.no_model:
        print(f"\n{stage}: the CLI's settings for this panel with only --horizon {H}:")
        cfg = automatic(panel, args.threads).replace(**extra)
        if extra:  # the reasons above are the CLI's; these replace some of its choices
            print(f"  then --set {json.dumps(extra)}: not a choice the CLI makes by itself")
    if covariates:
        cfg = cfg.replace(data={"covariates": covariates})
    print(
        f"\n## {stage}: {len(insample)} series, scored on "
        f"{'the last 48 training steps' if stage == 'val' else 'test.csv'}\n"
    )
    print("| method | sMAPE | MASE | OWA | coverage80 | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = {}
    start = time.perf_counter()
    rows["Naive2"] = ({s: scores.naive2(x, H, M) for s, x in insample.items()}, None)
    rows["seasonal naive (24)"] = (
        {s: scores.seasonal_naive(x, H, M) for s, x in insample.items()},
        None,
    )
    start = time.perf_counter()
    rows["per-series NLinear ridge (L, penalty chosen per series)"] = (
        {s: ridge(x) for s, x in insample.items()},
        time.perf_counter() - start,
    )
    for name, (f, sec) in rows.items():
        print(row(name, insample, actual, f, sec), flush=True)
    if args.peers:
        for name, (f, sec) in peers(insample).items():
            print(row(name, insample, actual, f, sec), flush=True)
    if not args.no_model:
        ridged = rows["per-series NLinear ridge (L, penalty chosen per series)"][0]
        model_rows(panel, cfg, insample, actual, ridged, args)


def model_rows(
    panel: Panel,
    cfg: Config,
    insample: dict,
    actual: dict,
    ridged: dict,
    args: argparse.Namespace,
) -> None:
    """Our rows of a stage's table: the model (one, or the mean over seeds and lookbacks, its
    first alone beside it), then with ``--with-validated`` and ``--combine`` those means
    (``ridged``: the per-series ridge's forecasts), and a line on each training."""
    start = time.perf_counter()
    looks = tuple(args.lookbacks or ())
    seeds = range(args.first_seed, args.first_seed + args.model_seeds)
    f, first, note, validated = ours(panel, cfg, seeds, args.scale, looks, args.split_validation)
    sec = time.perf_counter() - start
    L = "+".join(map(str, looks)) if looks else cfg.data.lookback
    label = f"ours: AttentiveLSTM, one model, L {L}, {args.scale} scale"
    if args.auto:
        label += ", the CLI's settings" + "".join(f", {o}" for o in args.set or ())
    if cfg.training.refit:  # the default; --set training.refit=false turns it off
        label += ", trained again on every row"
    if args.split_validation:
        label += ", validated on every other series"
    if args.phase:
        label += ", phase covariates"
    if args.model_seeds > 1:
        label += f", mean of {args.model_seeds} seeds"
    if len(looks) > 1:
        label += ", mean of the lookbacks"
    head = (f"L {looks[0]} " if looks else "") + f"seed {args.first_seed}"  # the first model
    if args.model_seeds > 1 or len(looks) > 1:
        print(row(label.split(", mean of")[0] + f", {head}", insample, actual, first, None))
    print(row(label, insample, actual, f, sec), flush=True)
    if args.with_validated and any(v is not None for v in validated):
        n, more = len(validated), [v for v in validated if v is not None]
        if n > 1 and validated[0] is not None:  # the first model and its validated network
            pair = {s: (first[s] + validated[0][s]) / 2 for s in f}
            print(row(f"{head} with its validated network", insample, actual, pair, None))
        # every network, trained again and validated, at equal weights
        nets = {s: (f[s] * n + sum(v[s] for v in more)) / (n + len(more)) for s in f}
        print(row(f"{label}, with the validated networks", insample, actual, nets, None))
    if args.combine:  # equal weights, fixed beforehand: nothing chosen on the scored steps
        both = {s: f[s] + 0.5 * (ridged[s] - f[s][:, 1])[:, None] for s in f}
        print(row(f"{label}, averaged with the ridge", insample, actual, both, None))
    print(f"\n{note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="folder with train.csv, test.csv")
    ap.add_argument("--stage", choices=("val", "test", "both"), default="both")
    ap.add_argument(
        "--series", type=int, default=0, help="N series evenly spread over the file (0: all)"
    )
    ap.add_argument("--set", nargs="*", help="config overrides, e.g. data.lookback=336")
    ap.add_argument("--model-seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds from this one on")
    ap.add_argument(
        "--lookbacks", type=int, nargs="*", help="one model per lookback, forecasts averaged"
    )
    ap.add_argument("--scale", choices=("std", "mase"), default="std", help="series scaling")
    ap.add_argument("--phase", action="store_true", help="day and week phase covariates")
    ap.add_argument(
        "--split-validation", action="store_true", help="validate on every other series' end"
    )
    ap.add_argument(
        "--auto", action="store_true", help="the CLI's settings for --horizon 48 (then --set)"
    )
    ap.add_argument(
        "--with-validated",
        action="store_true",
        help="also the mean of the refitted and the validated networks' forecasts",
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--peers", action="store_true", help="statsforecast/neuralforecast rows")
    ap.add_argument("--no-model", action="store_true", help="baselines only")
    ap.add_argument(
        "--combine",
        action="store_true",
        help="also the equal-weight mean of ours and the per-series ridge (interval shifted)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    train, test = load(args.data)
    if args.series:
        ids = list(train)
        keep = [ids[i] for i in np.linspace(0, len(ids) - 1, args.series).round().astype(int)]
        train, test = {s: train[s] for s in keep}, {s: test[s] for s in keep}
    cfg = Config().replace(**SETTINGS)
    extra = overrides(args.set or [])
    if extra:
        cfg = cfg.replace(**extra)
    print(f"M4 Hourly from {args.data}: {len(train)} series; config {json.dumps(extra or {})}")
    for stage in ("val", "test") if args.stage == "both" else (args.stage,):
        run_stage(stage, train, test, cfg, extra, args)


if __name__ == "__main__":
    main()
