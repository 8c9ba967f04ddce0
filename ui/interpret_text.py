"""The Interpret page's words: what is explained (the network's share, which model), each view's
reading or why it is withheld, and the gate at change points."""

from __future__ import annotations

import math

from lstm_core import report_text
from lstm_core.interpret.faithfulness import ViewScore
from lstm_core.interpret.gate_response import ALPHA, GateResponse
from lstm_core.interpret.share import NIL_SHARE, NetworkShare
from lstm_core.train import History

UNRELIABLE = "not a reliable guide for this forecast"
VIEW_NAMES = {
    "attention": "Attention",
    "ig": "Integrated Gradients",
    "gate": "The skip gate's change",
}
IN_USE = "the model in use"
EXPLAINER = "the explanation model"


def pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.0%}" if x >= 0.01 or x == 0 else f"{x:.1%}"


def share_line(s: NetworkShare) -> str:
    """The network's share of the forecast, at the origin and over the held-out end."""
    return (
        f"The LSTM makes {pct(s.at_origin)} of this forecast's move away from the last value "
        f"(the rest is the linear part), and {pct(s.held_out)} over the {s.windows:,} forecasts "
        "of the held-out end."
    )


def origin_line(at_origin: float, which: str) -> str:
    """The network's share of the forecast from the origin picked."""
    return (
        f"From this origin, the LSTM of {which} makes {pct(at_origin)} of the forecast's move "
        "away from the last value; the linear part makes the rest."
    )


def nil_banner(s: NetworkShare) -> str:
    """The top of the page when the network adds nothing to the forecast."""
    why = (
        "The trained network did not beat the linear fit it starts from on the check windows "
        "after validation, so the model kept that fit"
        if s.kept_by_check
        else "No training epoch beat the linear fit it starts from, so the model kept that fit"
        if s.kept_start
        else f"The network's correction is under {NIL_SHARE:.0%} of the forecast"
    )
    return (
        f"{why}: this forecast is the linear part's. The attention and skip-gate views below "
        "come from an LSTM whose output the forecast does not use, so they are not the model's "
        "reasoning and are not narrated. Train an explanation model (the same network with the "
        "LSTM in use) to see what such a network would look at."
    )


def explainer_line(h: History) -> str:
    """The explanation model's validation error beside the linear fit's (both: median MAE,
    scaled units; training's loss is half of it)."""
    lin, own = 2 * h.initial_val_loss, 2 * h.best_val_loss
    verdict = (
        "it kept the linear start too: no epoch did better, so its views are not narrated either"
        if h.best_epoch == 0
        else f"{100 * (1 - own / lin):.1f}% lower"
        if own < lin
        else "no better"
    )
    return (
        f"Explanation model: validation MAE {own:.4g} against the linear fit's {lin:.4g} (scaled "
        f"units; {verdict}). Every view below is labelled with the model it comes from."
    )


def source(which: str) -> str:
    return f" (from {which})"


def view_reading(view: str, score: ViewScore, narrate: bool, description: str) -> str:
    """One view's caption: its deletion score, then its reading, or why there is none."""
    measured = report_text.deletion_sentence(score)
    why = report_text.withheld(score, narrate)
    if why == "nil":
        return f"{VIEW_NAMES[view]}: {measured} Not narrated: the network adds nothing here."
    if why == "unreliable":
        return f"{VIEW_NAMES[view]}: {UNRELIABLE}. {measured}"
    return f"{description} {measured}"


def flatness(attention_even_max: float) -> str:
    """How far the attention strays from even, in words (max of weight x L)."""
    if attention_even_max < 1.5:
        return (
            f"The attention is nearly flat: no step gets more than {attention_even_max:.1f}x the "
            "even share."
        )
    return f"The most attended step gets {attention_even_max:.1f}x the even share."


def rank_line(rho_ig: float, rho_ablation: float) -> str:
    def r(x: float) -> str:
        return "n/a (a constant score)" if math.isnan(x) else f"{x:+.2f}"

    return (
        f"Rank correlation of attention with |IG| over the window's steps: {r(rho_ig)}; with "
        f"feature ablation: {r(rho_ablation)} (1 = the same order, 0 = unrelated)."
    )


def response_caption(responses: list[GateResponse]) -> str:
    if not responses:
        return "No change point has enough steps on both sides to measure the gate there."
    n = sum(r.responds for r in responses)
    w = responses[0].w
    return (
        f"The gate responds at {n} of {len(responses)} points: its share of units leaning on "
        f"memory shifts across the point (±{w} steps) more than at {1 - ALPHA:.0%} of random "
        "points of this series. " + report_text.gate_rate_sentence()
    )


NOT_NARRATED = (
    "Not narrated: the network takes no part in this model's forecasts, so this view shows an "
    "LSTM whose output is not used."
)


def points_on_gate(detection, drawn: str = IN_USE) -> str:
    """What the gate chart's change point lines are (``drawn``: whose gate the chart shows), or
    why there are none."""
    if detection is None:
        return "No change points are drawn yet: press Detect change points below."
    return report_text.points_sentence(detection, drawn)


GATE_MAP = (
    "Each row is a unit on the fixed scale 0 (the current input) to 1 (the LSTM's memory); "
    "even horizontal stripes mean the mix hardly changes over time."
)
