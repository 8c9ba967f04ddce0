"""Settings chosen from the data: lookback, patch size, epochs and early stopping from a series'
(or a panel's) time step, length and cycles. One set for the CLI and the app.

The rules, each with the reason ``Choice.reasons`` gives:

- **lookback**: a whole number of the longest cycle of the time step (a week of hours, a year
  of months) that the data can afford, i.e. that leaves ``data.WINDOWS_PER_STEP`` training
  windows per lookback step (``data.reliable_lookback``; a panel: its median series); as many
  cycles as reach twice the horizon (and ``MIN_LOOKBACK`` steps), no more. Without a cycle,
  twice the horizon (at least ``MIN_LOOKBACK``), as the data affords. Without a time step
  that has cycles (row numbers, a step index), the cycles come from the values: a series' own
  autocorrelation peak (``baselines.season_period``); a panel's commonest such period and a
  longer multiple of it that its series bear out (``panel_cycles``: 7 x 24 steps on M4 Hourly,
  whose files give a step index only).
- **patch size**: the largest that still leaves ``MIN_TOKENS`` tokens and divides the shortest
  cycle, so that tokens tile the day (or week) evenly: 6 hours for 168 hourly steps.
- **validation share**: at least ``training.val_fraction``, and enough for the held-out end to
  hold three parts of a window each (validation, check, test: ``forecaster.held_out_parts``),
  so that the fallback to the linear start is judged on windows that chose nothing of the
  network (they help choose the start's lookback, which favours the start), up to
  ``MAX_VAL_FRACTION``. A panel's series are cut so too, each its own held-out end
  (``panel_forecaster.series_fits``, ``PanelWindows``): the network validates and is checked
  before each series' test part, which its backtest scores. On M4 Hourly that share is what
  costs accuracy (``benchmarks/README.md``, M4 rounds 5 and 6, every window of the held-out
  end validating: on all 207 series OWA 0.533 at 0.2 and 0.513 at 0.07; on 60, one seed, 0.587
  at 0.2, 0.582 at 0.161, the least that holds three parts of a window, and 0.503 at 0.07), so a smaller share is not taken as it is.
  Instead a panel's network is then trained again on every row for the epochs validation
  chose (``training.refit``, said in the same reason), and its backtest scores the validated
  network (M4 round 7).
- **epochs**: enough passes for ``STEPS`` optimiser steps over the training windows, between
  ``MIN_EPOCHS`` and ``MAX_EPOCHS``; early stopping ends the run when validation has not
  improved for ``PATIENCE_STEPS`` steps (``MIN_PATIENCE`` to ``MAX_PATIENCE`` epochs).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstm_core import data
from lstm_core.baselines import CYCLES, autocorrelation, period_of, season_period
from lstm_core.config import Config
from lstm_core.errors import DataError
from lstm_core.panel import Panel
from lstm_core.text import freq_parts

MIN_LOOKBACK = 48  # steps: the linear start's nested lookbacks start here (forecast.MIN_LOOKBACK)
MIN_TOKENS = 24  # LSTM tokens per window the patch size leaves
STEPS = 20_000  # optimiser steps a training may take
MIN_EPOCHS, MAX_EPOCHS = 10, 100
PATIENCE_STEPS = 1_500  # optimiser steps without a better validation loss before stopping
MIN_PATIENCE, MAX_PATIENCE = 5, 20
MAX_VAL_FRACTION = 0.3  # the most of a series the held-out end may take
SAMPLE_SERIES = 64  # series of a panel its cycles are looked for in (evenly spread)
SAMPLE_ROWS = 10_000  # the last rows of each, at most
CYCLE_SHARE = 0.25  # of the sampled series that must show a cycle for the panel to have it
PEAK_MARGIN = 0.02  # autocorrelation a longer cycle must have above its neighbouring multiples

_NAMES = {  # (unit, cycle) -> words
    ("s", 86_400): "a day", ("min", 1_440): "a day", ("min", 10_080): "a week",
    ("h", 24): "a day", ("h", 168): "a week", ("D", 7): "a week", ("D", 365): "a year",
    ("B", 5): "a week", ("B", 260): "a year", ("W", 52): "a year",
}


@dataclass(frozen=True)
class Choice:
    """Settings for one data set, each with the reason it was chosen."""

    lookback: int
    patch_len: int
    epochs: int
    patience: int
    val_fraction: float  # the held-out end's share of the rows
    cycle: int | None  # the cycle the lookback is a multiple of, in steps; None: none
    reasons: tuple[str, ...]  # one sentence per setting: lookback, patch, epochs, held-out end

    def apply(self, cfg: Config) -> Config:
        """``cfg`` with these settings."""
        return cfg.replace(
            data={"lookback": self.lookback},
            lstm={"patch_len": self.patch_len},
            training={"epochs": self.epochs, "patience": self.patience,
                      "val_fraction": self.val_fraction},
        )


def cycles(freq: str | None) -> tuple[tuple[int, str], ...]:
    """The cycles of a time step, shortest first, in steps with their names: ((24, "a day"),
    (168, "a week")) for hours; () without a step or for steps with no cycle (years)."""
    if not freq:
        return ()
    step, unit = freq_parts(freq)
    out = []
    for c in CYCLES.get(unit, ()):
        if step and c % step == 0 and c // step >= 2:
            out.append((c // step, _NAMES.get((unit, c), "a year")))
    return tuple(out)


def choose(
    lengths: int | Sequence[int],
    freq: str | None,
    horizon: int,
    *,
    val_fraction: float = 0.2,
    batch_size: int = 64,
    values: np.ndarray | None = None,
    found: Sequence[tuple[int, str]] = (),
) -> Choice:
    """Lookback, patch size, epochs and patience for series of ``lengths`` rows at time step
    ``freq`` (see the module docstring for the rules).

    Args:
        lengths: the series' rows (one series: an int; a panel: each series' rows).
        freq: the pandas time step, or None (row numbers).
        horizon: steps to forecast.
        values: (T, K) values of one series, to find a cycle when there is no time step.
        found: cycles found in the data (``panel_cycles``), shortest first, with their names:
            used when the time step gives none.

    Raises:
        SeriesTooShort: no series can hold a training and a validation window.
    """
    sizes = [int(lengths)] if isinstance(lengths, (int, np.integer)) else [int(n) for n in lengths]
    typical = int(np.median(sizes)) if sizes else 0
    given = val_fraction
    if typical:  # room for validation, check and test parts of a window each
        need = math.ceil(1000 * 3 * (horizon + 1) / typical) / 1000
        val_fraction = max(val_fraction, min(MAX_VAL_FRACTION, need))
    given_cycles = list(cycles(freq))
    # a single series' values, or a panel's (``for_panel`` looks when its time step has none)
    searched = values is not None or not isinstance(lengths, (int, np.integer))
    found = given_cycles or list(found)
    if not found and values is not None:
        period = season_period(np.asarray(values, dtype=np.float64).reshape(len(values), -1))
        if period:
            found = [(period, "a cycle")]
    source = "of this time step" if given_cycles else "found in the data"
    afford = data.reliable_lookback(typical, horizon, val_fraction)
    want = max(2 * horizon, MIN_LOOKBACK)
    if afford is None:
        lookback = data.suggest_lookback(typical, horizon, val_fraction)
        if lookback is None:
            data.check_length(typical, 2, horizon, val_fraction)  # raises SeriesTooShort
        cycle = None
        why = (f"lookback {lookback}: the series is short ({typical} rows), so the longest "
               "lookback it can train")
    else:
        fits = [(c, name) for c, name in found if c <= afford]
        if fits:
            cycle, name = fits[-1]
            k = min(afford // cycle, max(1, math.ceil(want / cycle)))
            lookback = k * cycle
            unfit = [n for c, n in found if c > afford]
            why = (f"lookback {lookback}: {k} x {name} ({cycle} steps), the longest cycle "
                   f"{source}" + (f" that {typical} rows can afford (not {unfit[-1]})"
                                           if unfit else "")
                   + f"; it covers twice the horizon ({2 * horizon})" * (lookback >= 2 * horizon))
        else:
            cycle, lookback = None, min(afford, want)
            why = (f"lookback {lookback}: " + ("no cycle fits in" if found else "no cycle in this "
                   "time step" + (" or its values" if searched else "") + " for") + f" {typical} rows, so twice the horizon (at least "
                   f"{MIN_LOOKBACK} steps)" + (", as far as they afford" if afford < want else ""))
    patch, patch_why = _patch(lookback, found)
    windows = sum(max(0, data.window_counts(n, lookback, horizon, val_fraction)[0]) for n in sizes)
    batches = max(1, math.ceil(windows / batch_size))
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(STEPS / batches)))
    patience = min(MAX_PATIENCE, max(MIN_PATIENCE, math.ceil(PATIENCE_STEPS / batches)))
    epochs_why = (f"up to {epochs} epochs of {batches:,} batch{'es' * (batches > 1)} (about "
                  f"{STEPS:,} steps, {MIN_EPOCHS} to {MAX_EPOCHS} epochs); training stops after "
                  f"{patience} epochs without a better validation loss")
    parts = ("validation, a check of the LSTM against its linear start, and the backtest's "
             "test windows" + ("" if isinstance(lengths, (int, np.integer)) else ", in each "
                               "series long enough for them (else validation, scored again)"))
    held_why = (f"the last {val_fraction:.0%} of rows held out: {parts}"
                + (f" (more than {given:.0%}, for a window in each part)"
                   if val_fraction > given else ""))
    return Choice(lookback, patch, epochs, patience, val_fraction, cycle,
                  (why, patch_why, epochs_why, held_why))


def _patch(lookback: int, found: list[tuple[int, str]]) -> tuple[int, str]:
    """The largest patch leaving MIN_TOKENS tokens that divides the shortest cycle (and the
    lookback), else lookback // MIN_TOKENS."""
    most = max(1, lookback // MIN_TOKENS)
    if found:
        short, name = found[0]
        fits = [p for p in range(most, 0, -1) if short % p == 0]
        if fits and fits[0] > 1:
            p = fits[0]
            return p, (f"patch {p}: {lookback // p} tokens of {p} steps, {short // p} to "
                       f"{name}")
    tokens = -(-lookback // most)
    return most, f"patch {most}: {tokens} tokens of {most} step{'s' * (most > 1)}"


def for_data(prep: data.Prepared, cfg: Config) -> Choice:
    """``choose`` for one prepared series with ``cfg``'s horizon, validation share and batch."""
    return choose(
        len(prep.frame), prep.freq, cfg.data.horizon, val_fraction=cfg.training.val_fraction,
        batch_size=cfg.training.batch_size,
        values=prep.frame[list(prep.targets)].to_numpy(np.float64),
    )


def for_any(data: data.Prepared | Panel, cfg: Config) -> Choice:
    """``for_panel`` for a panel, ``for_data`` for one prepared series."""
    return for_panel(data, cfg) if isinstance(data, Panel) else for_data(data, cfg)


def for_panel(panel: Panel, cfg: Config) -> Choice:
    """``choose`` for a panel: its series' lengths, the time step of its first usable series
    (one that cannot be used, as training would skip it, does not stop the choice); without a
    time step that has cycles, the cycles its series' values bear out (``panel_cycles``, on
    ``SAMPLE_SERIES`` of them spread evenly)."""
    freq = None
    for sid in panel.ids:
        try:
            freq = panel.prepared(sid, cfg).freq
            break
        except DataError:
            continue
    found: tuple[tuple[int, str], ...] = ()
    if not cycles(freq) and panel.ids:
        ids = panel.ids
        picks = sorted({ids[i] for i in np.linspace(0, len(ids) - 1, SAMPLE_SERIES).astype(int)})
        columns = []
        for sid in picks:
            try:
                prep = panel.prepared(sid, cfg)
            except DataError:
                continue
            columns.append(prep.frame[list(prep.targets)].to_numpy(np.float64)[-SAMPLE_ROWS:])
        found = panel_cycles(columns)
    choice = choose(
        [len(f) for f in panel.frames.values()], freq, cfg.data.horizon,
        val_fraction=cfg.training.val_fraction, batch_size=cfg.training.batch_size, found=found,
    )
    if not cfg.training.refit:
        return choice
    *first, held = choice.reasons
    return dataclasses.replace(choice, reasons=(*first, held + "; then, if the LSTM beat its "
                               "linear start, the network is trained again on every row for the "
                               "epochs validation chose, and the backtest scores the validated "
                               "one (training.refit)"))


def panel_cycles(columns: Sequence[np.ndarray]) -> tuple[tuple[int, str], ...]:
    """The cycles a panel's series bear out, shortest first, with their names: () or the
    period (one of the series' ``season_period``) that most series bear out (their own period a
    multiple of it, their autocorrelation there above 0.3), when at least ``CYCLE_SHARE`` do;
    then the commonest longer cycle that is a multiple of it (7 days of 24 hours), when it is a
    peak of the autocorrelation among the multiples (above both neighbours by ``PEAK_MARGIN``)
    in ``CYCLE_SHARE`` of the series, and fits three times in them.

    Args:
        columns: each series' (T, K) values (K targets).
    """
    xs = [np.asarray(c, dtype=np.float64).reshape(len(c), -1) for c in columns]
    acfs = [autocorrelation(x, len(x) // 3) if len(x) >= 16 else None for x in xs]
    periods = [period_of(a, len(x)) for x, a in zip(xs, acfs)]  # season_period, acf once

    def bears(p: int, q: int | None, acf: np.ndarray | None) -> bool:
        # a series bears period p when its own period q is a multiple of p (to a lag) and its
        # autocorrelation at p passes season_period's bar: on a noisy cycle every multiple
        # peaks about as high, so q may be 2 or 3 times the cycle while p is the cycle
        return bool(q and min(q % p, p - q % p) <= 1 and acf is not None and len(acf) > p
                    and acf[p] > 0.3)

    support = Counter({p: sum(bears(p, q, a) for q, a in zip(periods, acfs))
                       for p in sorted({q for q in periods if q})})
    if not support or max(support.values()) < CYCLE_SHARE * len(xs):
        return ()
    p = min(support, key=lambda c: (-support[c], c))  # the most borne out, the shortest on ties
    found = [(p, "a cycle")]
    peaks: Counter[int] = Counter()
    for x, acf in zip(xs, acfs):
        T = len(x)
        if acf is None or T // 3 < 3 * p:
            continue
        acf = acf * T / (T - np.arange(len(acf)))  # each lag's mean: long lags not shrunk
        k = np.arange(1, (T // 3) // p + 1)
        r = acf[k * p]  # (K,) at the multiples of p
        peaks.update(int(k[i]) for i in range(1, len(k) - 1)
                     if r[i] > 0.3 and r[i] - max(r[i - 1], r[i + 1]) > PEAK_MARGIN)
    if peaks and peaks.most_common(1)[0][1] >= CYCLE_SHARE * len(xs):
        k = peaks.most_common(1)[0][0]
        found.append((k * p, f"{k} cycles of {p} steps"))
    return tuple(found)
