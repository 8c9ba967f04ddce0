"""How many windows a series gives, the checks on its length, and the windows themselves."""

from __future__ import annotations

import math

import numpy as np
import torch

from lstm_core.errors import SeriesTooShort

WINDOWS_PER_STEP = 2  # training windows per lookback step below which the fit is loose


def check_length(n_rows: int, lookback: int, horizon: int, val_fraction: float) -> None:
    """Raise SeriesTooShort unless both splits hold at least one window."""
    minimum = minimum_length(lookback, horizon, val_fraction)
    if n_rows < minimum:
        suggested = suggest_lookback(n_rows, horizon, val_fraction)
        offer = (
            f"; try data.lookback: {suggested}"
            if suggested
            else f"; also shorten data.horizon (now {horizon})"
        )
        raise SeriesTooShort(
            f"the series has {n_rows} rows, but lookback {lookback} + horizon {horizon} needs at "
            f"least {minimum} (for training and validation windows){offer}",
            minimum,
            suggested,
        )


def held_out_start(n_rows: int, horizon: int, val_fraction: float) -> int:
    """First row of a series' held-out end: its last ``val_fraction`` of rows, and at least
    ``horizon + 1`` rows so that one validation window has its targets inside it."""
    return n_rows - max(horizon + 1, math.ceil(n_rows * val_fraction))


def minimum_length(lookback: int, horizon: int, val_fraction: float) -> int:
    # the validation part must hold one full window of its own targets
    val_rows = horizon + 1
    return int(np.ceil(max((lookback + horizon + 1) + val_rows, (lookback + horizon) / (1 - val_fraction))))


def suggest_lookback(n_rows: int, horizon: int, val_fraction: float) -> int | None:
    """The lookback to offer: the longest reliable one (``reliable_lookback``), else 2 where
    that can train at all, else None (the horizon must shrink too)."""
    reliable = reliable_lookback(n_rows, horizon, val_fraction)
    if reliable:
        return reliable
    return 2 if n_rows >= minimum_length(2, horizon, val_fraction) else None


def window_counts(n_rows: int, lookback: int, horizon: int, val_fraction: float) -> tuple[int, int]:
    """(training windows, held-out windows) that ``Forecaster.fit`` uses; the held-out end is
    cut into validation, check and test parts, and ``backtest`` scores the test part alone
    (``forecaster.held_out_parts``)."""
    split = held_out_start(n_rows, horizon, val_fraction)
    train = split - lookback - horizon + 1
    held = n_rows - max(split, lookback) - horizon + 1
    return max(train, 0), max(held, 0)


def reliable_lookback(n_rows: int, horizon: int, val_fraction: float) -> int | None:
    """The longest lookback (at most 512) that leaves ``WINDOWS_PER_STEP`` training windows per
    lookback step, or None below 2. The split does not depend on the lookback, so
    ``split - lb - horizon + 1 >= WINDOWS_PER_STEP * lb`` solves for lb directly."""
    split = held_out_start(n_rows, horizon, val_fraction)
    lb = min(512, (split - horizon + 1) // (WINDOWS_PER_STEP + 1))
    return lb if lb >= 2 else None


def few_windows(n_rows: int, lookback: int, horizon: int, val_fraction: float) -> str | None:
    """A warning when training would see fewer than ``WINDOWS_PER_STEP`` windows per lookback
    step: the network reads every step of the window, so with fewer windows it can fit them
    almost exactly, and its in-sample errors, which set the 80% interval, are too small (the
    linear start itself takes a lookback the rows afford: ``network.linear_start``). None when
    the series is long enough for these settings."""
    train, _ = window_counts(n_rows, lookback, horizon, val_fraction)
    if train >= WINDOWS_PER_STEP * lookback:
        return None
    shorter = reliable_lookback(n_rows, horizon, val_fraction)
    offer = (
        f"try data.lookback: {shorter} "
        f"({window_counts(n_rows, shorter, horizon, val_fraction)[0]} windows)"
        if shorter
        else f"shorten data.horizon (now {horizon}) as well as the lookback"
    )
    return (
        f"only {train} training window{'s' if train != 1 else ''} for a lookback of {lookback} "
        f"steps, under the {WINDOWS_PER_STEP * lookback} a reliable fit needs (the network "
        f"reads all {lookback} steps of each window), so forecasts are loose and the 80% "
        f"intervals likely too narrow; {offer}"
    )


# ---------------------------------------------------------------- scaling and windows


def make_windows(x: torch.Tensor, lookback: int, horizon: int, n_targets: int):
    """Sliding windows as views of ``x`` (T, F): no copy of the series is made.

    Returns:
        inputs (N, lookback, F) and targets (N, horizon, n_targets), N = T - lookback - horizon + 1,
        both views sharing ``x``'s storage.
    """
    w = x.unfold(0, lookback + horizon, 1).transpose(1, 2)  # (N, L+H, F)
    return w[:, :lookback], w[:, lookback:, :n_targets]
