"""Automatic settings: lookback, patch, epochs and patience from the time step, length and cycles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_core import data, defaults
from lstm_core.config import Config
from lstm_core.errors import SeriesTooShort


def test_hourly_takes_a_week():
    c = defaults.choose(700, "h", 48)  # an M4 Hourly series
    assert (c.lookback, c.patch_len, c.cycle) == (168, 6, 168)  # 28 tokens, 4 to a day
    assert "a week" in c.reasons[0] and "4 to a day" in c.reasons[1]
    assert defaults.choose(17_420, "h", 96).lookback == 336  # two weeks cover twice 96


def test_hourly_too_short_for_a_week_takes_days():
    c = defaults.choose(400, "h", 24)  # affords (320 - 23) // 3 = 99 steps, not 168
    assert c.lookback == 48 and c.cycle == 24  # two days: twice the horizon
    assert "not a week" in c.reasons[0]
    assert c.lookback <= data.reliable_lookback(400, 24, 0.2)


def test_daily_takes_a_year_when_the_data_afford_one():
    assert defaults.choose(3_000, "D", 14).lookback == 365
    assert defaults.choose(3_000, "D", 14).patch_len == 7  # a token per week
    short = defaults.choose(1_095, "D", 14)  # three years cannot afford 365 steps
    assert short.lookback % 7 == 0 and short.lookback >= 28 and short.cycle == 7


def test_yearly_has_no_cycle():
    c = defaults.choose(100, "YS-JAN", 5)  # the Nile's length and step
    assert c.cycle is None and c.lookback == data.reliable_lookback(100, 5, 0.2)
    assert "no cycle" in c.reasons[0]
    assert defaults.choose(100, None, 5).lookback == c.lookback  # row numbers, no values


def test_row_numbers_use_a_cycle_found_in_the_values():
    t = np.arange(600)
    values = np.sin(2 * np.pi * t / 12)[:, None]
    c = defaults.choose(600, None, 6, values=values)
    assert c.cycle == 12 and c.lookback % 12 == 0


def test_epochs_and_patience_follow_the_batches():
    small, large = defaults.choose(700, "h", 48), defaults.choose(17_420, "h", 24)
    assert small.epochs == defaults.MAX_EPOCHS and large.epochs < small.epochs
    assert defaults.MIN_EPOCHS <= large.epochs and large.patience < small.patience
    panel = defaults.choose([700] * 200, "h", 48)  # a panel: the windows of every series
    assert panel.lookback == 168 and defaults.MIN_EPOCHS < panel.epochs < small.epochs
    assert defaults.choose([700] * 2000, "h", 48).epochs == defaults.MIN_EPOCHS


def test_too_short_is_refused():
    with pytest.raises(SeriesTooShort):
        defaults.choose(20, "h", 24)


def test_apply_gives_a_valid_config(series):
    prep = data.prepare(series, Config().data)
    c = defaults.for_data(prep, Config())
    cfg = c.apply(Config())
    assert cfg.data.lookback == c.lookback and cfg.lstm.patch_len == c.patch_len
    assert (cfg.training.epochs, cfg.training.patience) == (c.epochs, c.patience)
    assert cfg.training.val_fraction == c.val_fraction
    data.check_length(len(prep.frame), cfg.data.lookback, cfg.data.horizon, 0.2)


def test_for_panel_reads_its_series():
    from lstm_core.panel import read_panel

    times = pd.date_range("2020-01-01", periods=700, freq="h")
    long = pd.DataFrame({"id": np.repeat(["a", "b", "c"], 700), "time": np.tile(times, 3),
                         "y": np.random.default_rng(0).normal(size=2100)})
    c = defaults.for_panel(read_panel(long, "id", time_col="time"), Config().replace(
        data={"horizon": 48}))
    assert c.lookback == 168 and c.cycle == 168


def test_the_held_out_end_holds_validation_check_and_test():
    from lstm_core.forecaster import held_out_parts

    c = defaults.choose(700, "h", 48)  # 20% = 140 rows: too few for three windows of 49
    assert c.val_fraction == 0.21 and "more than 20%" in c.reasons[3]
    split = data.held_out_start(700, 48, c.val_fraction)
    val_end, test = held_out_parts(700, split, 48)
    assert split < val_end < test < 700 and 700 - test >= 49
    assert defaults.choose(17_420, "h", 24).val_fraction == 0.2  # long: the default share
    assert defaults.choose(200, "h", 48).val_fraction == defaults.MAX_VAL_FRACTION


def _stepped_panel(make, n_series=12, rows=900):
    """A long panel of ``make(t, rng)`` series with a step index and no timestamps."""
    from lstm_core.panel import read_panel

    rng = np.random.default_rng(0)
    t = np.arange(rows)
    frames = [pd.DataFrame({"id": f"s{i}", "t": t, "y": make(t + 5 * i, rng)})
              for i in range(n_series)]
    return read_panel(pd.concat(frames), "id", time_col="t")


def test_a_panel_without_a_time_step_finds_its_day_and_week():
    def daily_weekly(t, rng):
        week = np.where((t // 24) % 7 >= 5, 0.4, 1.0)  # quieter weekends
        return 10 + week * np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=len(t))

    panel = _stepped_panel(daily_weekly)
    c = defaults.for_panel(panel, Config().replace(data={"horizon": 48}))
    assert (c.lookback, c.cycle, c.patch_len) == (168, 168, 6)  # a week of 7 days, 4 to a day
    assert "7 cycles of 24 steps" in c.reasons[0] and "found in the data" in c.reasons[0]


def test_a_panel_of_one_cycle_finds_no_longer_one():
    def daily(t, rng):
        return np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=len(t))

    found = defaults.panel_cycles([daily(np.arange(900), np.random.default_rng(i))
                                   for i in range(8)])
    assert found == ((24, "a cycle"),)


def test_a_noisy_cycle_is_found_though_each_series_peaks_at_a_different_multiple():
    # a day in noise as strong as the cycle: each series' strongest peak falls on 24, 48, 72...
    # by chance, but every one of them bears out 24
    t = np.arange(10_000)
    cols = [np.sin(2 * np.pi * t / 24) + np.random.default_rng(i).normal(size=len(t))
            for i in range(32)]
    assert defaults.panel_cycles(cols) == ((24, "a cycle"),)


def test_a_panel_of_noise_has_no_cycle():
    panel = _stepped_panel(lambda t, rng: rng.normal(size=len(t)))
    c = defaults.for_panel(panel, Config().replace(data={"horizon": 48}))
    assert c.cycle is None and "no cycle in this time step or its values" in c.reasons[0]
    assert c.lookback == 96  # twice the horizon


def test_a_panel_looks_for_cycles_in_a_sample(monkeypatch):
    calls = []
    real = defaults.panel_cycles
    monkeypatch.setattr(defaults, "panel_cycles", lambda cols: calls.append(len(cols)) or real(cols))
    panel = _stepped_panel(lambda t, rng: rng.normal(size=len(t)), n_series=100, rows=300)
    defaults.for_panel(panel, Config().replace(data={"horizon": 24}))
    assert calls == [defaults.SAMPLE_SERIES]  # 64 of the 100 series, spread evenly


def test_a_panels_held_out_end_is_cut_in_each_series_as_a_single_series_is():
    one, many = defaults.choose(960, "h", 48), defaults.choose([960] * 3, "h", 48)
    assert one.val_fraction == many.val_fraction == 0.2
    assert "test windows" in one.reasons[3] and "scored again" not in one.reasons[3]
    assert "test windows, in each series long enough" in many.reasons[3]
