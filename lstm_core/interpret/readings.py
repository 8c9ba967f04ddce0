"""The skip gate and the attention summed up for a non-expert: the gate's share of units leaning
on memory per step, and where the forecasts look. The report and the Interpret page quote the
same sentences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_core.text import fmt_times

MEMORY = 0.5  # a gate unit above this passes on more of the LSTM's output than of the input


@dataclass(frozen=True)
class GateReading:
    """The skip gate (T, W) summed up for a non-expert: per step, the share of units leaning on
    the LSTM's memory (gate > 0.5) rather than on the current input's projection."""

    memory_share: np.ndarray  # (T,) in [0, 1]
    mean_share: float
    low: int  # step where the share is lowest (the model leans most on the current input)
    high: int  # step where it is highest

    def sentence(self, times: pd.Index | None = None, freq: str | None = None) -> str:
        def at(i: int) -> str:
            return fmt_times(times[[i]], freq)[0] if times is not None else f"step {i}"

        lo, hi = self.memory_share[self.low], self.memory_share[self.high]
        if hi - lo < 0.02:
            return (
                f"{self.mean_share:.0%} of the gate's units lean on the LSTM's memory at every "
                "step: the mix hardly changes over this span."
            )
        return (
            f"On average {self.mean_share:.0%} of the gate's units lean on the LSTM's memory; "
            f"the share ranges from {lo:.0%} (at {at(self.low)}, where the model leans most on "
            f"the latest input) to {hi:.0%} (at {at(self.high)})."
        )


def gate_reading(gate: np.ndarray) -> GateReading:
    """Summarise skip-gate activations ``gate`` (T, W) in [0, 1] (1 = the LSTM output, 0 = the
    input's projection) as the share of units above ``MEMORY`` at each step."""
    g = np.asarray(gate, dtype=np.float64)
    share = (g > MEMORY).mean(axis=1)
    return GateReading(share, float(share.mean()), int(share.argmin()), int(share.argmax()))


def attention_reading(
    attention: np.ndarray, times: pd.Index | None = None, freq: str | None = None
) -> str:
    """Where forecasts look, in one sentence: the share of attention on the latest tenth of the
    window and the most attended lag.

    Args:
        attention: (R, L) weights of R windows (or heads), oldest step first; rows sum to 1.
        times: (L,) the window's times, to name the most attended step (one window only).
    """
    a = np.nanmean(np.atleast_2d(np.asarray(attention, dtype=np.float64)), axis=0)  # (L,)
    L = len(a)
    k = max(1, L // 10)
    latest = float(a[-k:].sum() / max(a.sum(), 1e-12))
    top = int(np.argmax(a))
    where = (
        f"the step it weighs most is {fmt_times(times[[top]], freq)[0]}"
        if times is not None
        else f"the most attended lag is {L - top} step{'s' * (L - top != 1)} back"
    )
    even = k / L
    tilt = (
        "more than an even spread would"
        if latest > 1.5 * even
        else "less than an even spread would"
        if latest < even / 1.5
        else "about an even share"
    )
    return f"{latest:.0%} of the attention goes to the latest {k} of {L} steps ({tilt}); {where}."
