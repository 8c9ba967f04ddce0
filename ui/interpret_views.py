"""The Interpret page's parts: what is explained (the network's share, the explanation model),
one forecast's views with their deletion scores, and the gate at each change point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from lstm_core import plots, report_text
from lstm_core.data import Prepared
from lstm_core.forecaster import Forecaster
from lstm_core.interpret import Trace, faithfulness, gate_response, share
from lstm_core.interpret.readings import attention_reading, gate_reading
from lstm_core.text import fmt_times, format_metrics
from ui import background, loaders
from ui import interpret_text as text


@dataclass(frozen=True)
class Explained:
    """The model whose views the page shows, and whether they may be narrated."""

    fc: Forecaster
    label: str  # interpret_text.IN_USE or EXPLAINER
    narrate: bool  # the network takes part in this model's forecasts
    trace: Trace | None = None  # the explanation model's whole-series trace (already run)


def what_is_explained(fc: Forecaster, prep: Prepared) -> Explained:
    """The top of the page: the network's share of the forecast; when it is nil, says so and
    offers (then shows) the explanation model."""
    s = loaders.memo("explain:share", lambda: share.network_share(fc, prep))
    if not s.nil:
        st.info(f"{text.share_line(s)} The views below explain {text.IN_USE}.")
        return Explained(fc, text.IN_USE, True)
    st.warning(text.nil_banner(s), icon=":material/info:")
    t = background.explainer_task(fc, prep)
    if t is None or t.status in ("cancelled", "failed"):  # none yet, or one to start again
        if t is not None:
            background.follow("explainer", t, "Training an explanation model", lambda _: None)
        st.button(
            "Train an explanation model",
            key="explain_train_explainer",
            on_click=background.explainer_task,
            args=(fc, prep, True),
            help="The same network and settings, trained with no start margin: the first epoch "
            "that beats the linear fit on validation replaces it. The model in use is unchanged.",
        )
        return Explained(fc, text.IN_USE, False)
    background.follow("explainer", t, "Training an explanation model", lambda _: None)
    done = background.finished(t)
    if done is None:
        return Explained(fc, text.IN_USE, False)
    ex, tr = done
    # keyed by the explanation model itself: one trained again after a failure is another
    es = loaders.memo(f"explain:share:explainer:{id(ex)}", lambda: share.network_share(ex, prep))
    st.info(f"{text.explainer_line(ex.history_)} {text.share_line(es)}")
    return Explained(ex, text.EXPLAINER, not es.nil, tr)


def scored(e: Explained, prep: Prepared, target: str, origin: int):
    """Attributions and deletion scores at ``origin``: (Attribution, {view: ViewScore}), kept
    in the session's memo per model, data, target and origin, so the page stays fast."""
    return loaders.memo(
        f"explain:views:{e.label}:{id(e.fc)}:{target}:{origin}",
        lambda: faithfulness.score_origin(e.fc, prep, origin, target),
    )


def whole_series_caption(e: Explained, prep: Prepared, target: str, view: str, text_: str) -> str:
    """A whole-series view's reading, withheld where the view is not above random at the next
    forecast (the whole series has no deletion test of its own) or the network adds nothing."""
    if not e.narrate:  # no deletion test to run: the network takes no part
        return text.NOT_NARRATED
    _, scores = scored(e, prep, target, len(prep.frame))
    if report_text.withheld(scores[view], e.narrate) == "unreliable":
        return (
            f"{text.VIEW_NAMES[view]} is {text.UNRELIABLE} at the next forecast (deletion test "
            f"{scores[view].ratio:.2f}x random), so its picture over the series is not described."
        )
    return text_


def one_origin(e: Explained, prep: Prepared, target: str, origin: int) -> None:
    """One forecast: attention, Integrated Gradients and the gate, each with its deletion score
    (cached per model, data and origin) and a reading only where the view beats random."""
    L, freq = e.fc.config_.data.lookback, e.fc.freq_
    att, scores = scored(e, prep, target, origin)
    key = f"{e.label}:{id(e.fc)}:{origin}"  # both kept per model and origin: a rerun is free
    ex = loaders.memo(f"explain:origin:{key}", lambda: e.fc.explain(prep, origin))
    window = prep.frame[target].iloc[origin - L : origin]
    src = text.source(e.label)
    at_origin = loaders.memo(
        f"explain:origin_share:{key}", lambda: share.origin_share(e.fc, prep, origin)
    )
    st.caption(text.origin_line(at_origin, e.label))
    st.plotly_chart(
        plots.attention_figure(
            window, ex.attention, ex.forecast, f"Attention of this forecast{src}"
        ),
        key="explain_attention",
    )
    even_max = float(att.attention.max() * L)
    reading = f"{text.flatness(even_max)} {attention_reading(ex.attention, ex.times, freq)}"
    st.caption(text.view_reading("attention", scores["attention"], e.narrate, reading))
    title = f"Integrated Gradients of this forecast{src}: each input column at each step"
    st.plotly_chart(
        plots.attribution_figure(att.times, att.integrated_gradients, att.columns, title),
        key="explain_ig",
    )
    row, way = faithfulness.lead(att.ig_step_totals, scores["ig"].steps)
    top = fmt_times(pd.Index([att.times[row]]), freq)[0]
    reading = (
        f"Blue cells raise the forecast, red cells lower it, against the window's mean; the "
        f"{scores['ig'].steps} steps IG says move it most together {('lower', 'raise')[way > 0]} "
        f"it, the strongest at {top}. {text.rank_line(att.rank_ig, att.rank_ablation)}"
    )
    st.caption(text.view_reading("ig", scores["ig"], e.narrate, reading))
    title = f"Skip gate in this window{src}: each row a unit, each column a step"
    st.plotly_chart(plots.gate_heatmap(ex.times, ex.gate, title), key="explain_gate")
    reading = gate_reading(ex.gate).sentence(ex.times, freq)
    st.caption(text.view_reading("gate", scores["gate"], e.narrate, reading))
    names = {text.VIEW_NAMES[k]: v for k, v in scores.items()}
    st.plotly_chart(
        plots.faithfulness_figure(
            {k: v.ratio for k, v in names.items()},
            {k: v.reliable and e.narrate for k, v in names.items()},
            f"Deletion test{src}: forecast move when each view's top steps are deleted",
        ),
        key="explain_faithfulness",
    )
    st.caption(
        f"Each view's top {scores['ig'].steps} steps (10% of the window) are set to the window's "
        f"mean, against {scores['ig'].draws} random draws of as many steps. IG's top steps are "
        "those it says push the forecast most one way (its largest or its smallest signed "
        "totals, whichever sum is larger: IG's contributions add up, and steps pushing both ways "
        "would cancel when deleted together). A view is described "
        f"only where it moves the forecast at least {faithfulness.MIN_RATIO:g}x as much as random "
        "steps, beyond the draws' noise; grey bars are views that are "
        f"{text.UNRELIABLE}"
        + ("." if e.narrate else " (here every view: the network adds nothing).")
    )


def gate_at_points(e: Explained, tr: Trace, det, prep: Prepared) -> None:
    """Per detected point (numbered as on the chart, in the user's rows): who found it, and
    the gate's shift there with its p-value."""
    memory = gate_reading(tr.gate).memory_share
    rows = [c.index for c in det.change_points]
    responses = {r.index: r for r in gate_response.gate_response(memory, rows, tr.lookback)}
    table = pd.DataFrame(
        {
            "#": range(1, len(rows) + 1),
            "row": prep.user_rows(rows),
            "found by": [report_text.found_by(c, det) for c in det.change_points],
            "gate shift": [responses[i].shift if i in responses else np.nan for i in rows],
            "p (vs random points)": [responses[i].p if i in responses else np.nan for i in rows],
            "gate responds": [
                ("yes" if responses[i].responds else "no") if i in responses else "n/a"
                for i in rows
            ],
        }
    ).set_index("#")
    other = report_text.other_gate(det, e.label)  # detection read another gate
    also = f"; {other}" if other else ""
    st.caption(f"The skip gate at each change point{text.source(e.label)}{also}")
    st.table(format_metrics(table))
    st.caption(text.response_caption(list(responses.values())))
