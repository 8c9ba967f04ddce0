"""One self-contained HTML report to hand over: the data, the forecast with its interval, the
backtest against the baselines, rolling-origin views, attention and the skip gate, the change
points, and a model card. Plotly's JavaScript is embedded once; the file fetches nothing."""

from __future__ import annotations

import dataclasses
import html
import importlib.metadata
import time
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from lstm_core import baselines, plots
from lstm_core.changepoints.rows import change_point_rows
from lstm_core.data import Prepared
from lstm_core.forecaster import Forecaster, data_hash
from lstm_core.interpret import Trace, faithfulness, gate_response, share
from lstm_core.interpret.readings import GateReading, attention_reading, gate_reading
from lstm_core.report_text import (
    ABLATION,
    backtest_caption,
    data_report_lines,
    deletion_sentence,
    detection_caption,
    detection_table,
    found_by,
    gate_rate_sentence,
    points_sentence,
    training_summary,
    withheld,
)
from lstm_core.text import MISSING, fmt_number, fmt_times, frequency_words, times_at

HISTORY = 500  # observations of history drawn before the forecast
ROLLING = 8  # forecasts shown in the rolling-origin chart
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0 auto; max-width: 1180px; padding: 24px; color: #1c1c1c; line-height: 1.45; }
h1 { margin-bottom: 4px; } h2 { margin-top: 40px; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .note { color: #444; font-size: 0.95em; }
.verdict { padding: 10px 14px; border-radius: 6px; background: #eef6ee; }
.verdict.lose { background: #fdf3e1; }
table { border-collapse: collapse; margin: 10px 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; }
nav a { margin-right: 14px; }
"""
SECTIONS = (
    ("data", "Data"),
    ("forecast", "Forecast"),
    ("backtest", "Backtest"),
    ("explained", "What is explained"),
    ("interpret", "Attention, attributions and skip gate"),
    ("changes", "Change points"),
    ("card", "Model card"),
)


@dataclass(frozen=True)
class Context:
    """Names and optional results the report includes when it has them."""

    data_name: str = "data"
    model_name: str = "model"
    trace: Trace | None = None  # the whole-series trace (gate views over the series)
    detection: object | None = None  # a changepoints.Detection
    known: tuple[int, ...] = ()  # known change points (rows of the prepared grid), drawn
    # the explanation model (start margin 0) and its trace, when the session trained one
    explainer: Forecaster | None = None
    explainer_trace: Trace | None = None


def _esc(text: object) -> str:
    return html.escape(str(text))


def _figure(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG)


def _table(df: pd.DataFrame, index: bool = True) -> str:
    """A small table as HTML, every cell formatted and escaped."""
    shown = df.apply(lambda col: col.map(fmt_number)) if len(df.columns) else df
    return shown.to_html(index=index, escape=True, border=0, na_rep=MISSING)


def _lines(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{_esc(line)}</li>" for line in lines) + "</ul>"


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _versions() -> dict[str, str]:
    out = {}
    for name in ("torch", "numpy", "pandas", "plotly", "safetensors", "ruptures"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = MISSING
    return out


def build(fc: Forecaster, data: pd.DataFrame | Prepared, context: Context = Context()) -> str:
    """The report of the fitted ``fc`` on ``data`` as one HTML document (text).

    Args:
        fc: a fitted Forecaster.
        data: the series (raw or prepared with the model's data config).
        context: names, and the trace and detection to include when already computed.

    Raises:
        DataError / SeriesTooShort: the model cannot read this data.
    """
    prep = fc.prepare(data)
    target = fc.targets_[0]
    parts = [_header(fc, prep, context)]
    parts.append(_data_section(prep, context))
    parts.append(_forecast_section(fc, prep, target))
    parts.append(_backtest_section(fc, prep, target))
    views = _views(fc, prep, context)
    parts.append(_explained_section(views, context))
    parts.append(_interpret_section(views, prep, target, context))
    parts.append(_changes_section(views, prep, target, context))
    parts.append(_card_section(fc, prep))
    body = "\n".join(parts)
    script = plotly.offline.get_plotlyjs()  # inline: the report opens with no network
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>AttentiveLSTM report: {_esc(context.data_name)}</title>"
        f"<style>{STYLE}</style><script type='text/javascript'>{script}</script></head>"
        f"<body>{body}</body></html>"
    )


def _header(fc: Forecaster, prep: Prepared, context: Context) -> str:
    links = "".join(f'<a href="#{key}">{_esc(title)}</a>' for key, title in SECTIONS)
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        f"<h1>AttentiveLSTM forecast report</h1><p class='meta'>Data: {_esc(context.data_name)}"
        f" · model: {_esc(context.model_name)} · targets {_esc(', '.join(fc.targets_))} · "
        f"made {made}</p><nav>{links}</nav>"
    )


def _data_section(prep: Prepared, context: Context) -> str:
    known = times_at(prep.frame.index, context.known)
    return (
        "<h2 id='data'>Data</h2>"
        + _lines(data_report_lines(prep))
        + _figure(plots.series_figure(prep.frame, prep.targets, known))
    )


def _forecast_section(fc: Forecaster, prep: Prepared, target: str) -> str:
    forecast = fc.predict(prep)
    table = forecast[forecast["target"] == target].drop(columns="target")
    table = table.assign(time=fmt_times(table["time"], fc.freq_)).set_index("time")
    return (
        "<h2 id='forecast'>Forecast</h2>"
        + _note(
            f"The next {fc.config_.data.horizon} steps of {target}: the median forecast and the "
            "80% interval (10th to 90th percentile)."
        )
        + _figure(plots.forecast_figure(prep.frame[target], forecast, HISTORY))
        + "<details><summary>The forecast as a table</summary>"
        + _table(table)
        + "</details>"
    )


def _backtest_section(fc: Forecaster, prep: Prepared, target: str) -> str:
    held = fc.held_out(prep)
    bt = fc.score(held)
    windows = baselines.tiled_origins(len(held.origins), fc.config_.data.horizon, most=ROLLING)
    steps = baselines.error_by_step(held.actual, held.medians())
    css = "verdict" if bt.beats_baselines else "verdict lose"
    return (
        "<h2 id='backtest'>Backtest</h2>"
        + f"<p class='{css}'>{_esc(bt.verdict)}</p>"
        + _table(bt.table)
        + _note(backtest_caption(bt, fc.config_.data.horizon))
        + _figure(plots.rolling_origin_figure(held, target, windows))
        + _note(
            f"The last {len(windows)} of the {len(held.origins):,} scored forecasts, one horizon "
            "apart: each was made from the data up to its start only."
        )
        + _figure(plots.error_by_step_figure(steps))
        + "<details><summary>Error by step as a table</summary>"
        + _table(steps)
        + "</details>"
    )


@dataclass(frozen=True)
class _Views:
    """What the interpretation sections read, computed once: the network's share of the model in
    use, the model whose views are shown (the explanation model when there is one), whether
    they may be described, its whole-series trace and that trace's gate reading."""

    share: share.NetworkShare  # of the model in use
    model: Forecaster
    label: str
    narrate: bool  # the network takes part in ``model``'s forecasts
    trace: Trace | None
    gate: GateReading | None  # of ``trace``


def _views(fc: Forecaster, prep: Prepared, context: Context) -> _Views:
    in_use = share.network_share(fc, prep)
    if context.explainer is not None:
        ex, tr = context.explainer, context.explainer_trace
        narrate = not share.network_share(ex, prep).nil
        views = _Views(in_use, ex, "the explanation model", narrate, tr, None)
    else:
        views = _Views(in_use, fc, "the model in use", not in_use.nil, context.trace, None)
    if views.trace is None:
        return views
    return dataclasses.replace(views, gate=gate_reading(views.trace.gate))


def _explained_section(views: _Views, context: Context) -> str:
    s = views.share
    lines = [
        (
            f"The LSTM makes {s.at_origin:.1%} of the next forecast's move away from the last "
            f"value and {s.held_out:.1%} over the {s.windows:,} forecasts of the held-out end; "
            "the rest is the linear (NLinear) part."
        )
    ]
    if s.nil:
        lines.append(
            "The network adds nothing here (it kept its linear start), so the model's attention "
            "and skip gate are not its reasoning and are not described in this report."
        )
    ex = context.explainer
    if ex is not None:
        h = ex.history_
        lines.append(
            f"An explanation model (the same network trained with no start margin) was trained: "
            f"validation MAE {2 * h.best_val_loss:.4g} against the linear fit's "
            f"{2 * h.initial_val_loss:.4g} (scaled units). The views below come from it."
        )
    return "<h2 id='explained'>What is explained</h2>" + _lines(lines)


WITHHELD = "Not described: the network takes no part in this model's forecasts."


def _interpret_section(views: _Views, prep: Prepared, target: str, context: Context) -> str:
    model, label = views.model, views.label
    att, scores = faithfulness.score_origin(model, prep, None, target)
    parts = [
        "<h2 id='interpret'>Attention, attributions and skip gate</h2>",
        _note(f"Every view in this section comes from {label}."),
        *_next_forecast(views, prep, target, att, scores),
    ]
    if views.trace is None:
        parts.append(_note("The whole-series views were not computed for this report."))
        return "\n".join(parts)
    tr, known = views.trace, times_at(views.trace.index, context.known)

    def over_series(view: str, text: str) -> str:
        # the whole series has no deletion test: described only where the view is a guide
        # at the next forecast, as on the Interpret page
        why = withheld(scores[view], views.narrate)
        if why == "nil":
            return WITHHELD
        if why == "unreliable":
            return (
                "Not described: this view is not a reliable guide at the next forecast "
                f"({scores[view].ratio:.2f}x random)."
            )
        return text

    title = f"Share of the skip gate's units leaning on memory ({label})"
    memory = views.gate.memory_share
    parts += [
        _figure(plots.gate_share_figure(tr.index, memory, context.detection, known, title)),
        _note(
            over_series("gate", views.gate.sentence(tr.index, model.freq_))
            + " "
            + points_sentence(context.detection, views.label)
        ),
        _figure(plots.attention_heatmap(tr.index, tr.attention_map, tr.map_starts)),
        _note(over_series("attention", attention_reading(tr.attention_map))),
    ]
    return "\n".join(parts)


def _next_forecast(views: _Views, prep: Prepared, target: str, att, scores) -> list[str]:
    """The next forecast's attention, Integrated Gradients and skip gate, each with its reading
    and deletion test (or why the reading is withheld)."""
    model, label = views.model, views.label
    ex = model.explain(prep)
    window = prep.frame[target].iloc[-model.config_.data.lookback :]

    def reading(view: str, text: str) -> str:
        measured = deletion_sentence(scores[view])
        why = withheld(scores[view], views.narrate)
        if why == "nil":
            return _note(f"{WITHHELD} {measured}")
        if why == "unreliable":
            return _note(f"Not a reliable guide for this forecast. {measured}")
        return _note(f"{text} {measured}")

    title = f"Integrated Gradients of the next forecast ({label})"
    return [
        _figure(
            plots.attention_figure(
                window, ex.attention, ex.forecast, f"Attention of the next forecast ({label})"
            )
        ),
        reading("attention", attention_reading(ex.attention, ex.times, model.freq_)),
        _figure(plots.attribution_figure(att.times, att.integrated_gradients, att.columns, title)),
        reading(
            "ig", "Blue cells raise the forecast, red cells lower it, against the window's mean."
        ),
        _figure(plots.gate_heatmap(ex.times, ex.gate, f"Skip gate in the last window ({label})")),
        reading(
            "gate",
            "Blue (1) = the unit passes on the LSTM's memory of earlier steps; red (0) = the "
            "current input's projection. " + gate_reading(ex.gate).sentence(ex.times, model.freq_),
        ),
    ]


def _point_lines(det, views: _Views, prep: Prepared) -> list[str]:
    """One line per change point: where, what changed, which detector found it, the gate there."""
    responses = {}
    if views.trace is not None:
        memory = views.gate.memory_share
        rows = [c.index for c in det.change_points]
        lag = views.trace.lookback
        responses = {r.index: r for r in gate_response.gate_response(memory, rows, lag)}
    out = []
    user = prep.user_rows([c.index for c in det.change_points])  # the file's own rows
    for n, (c, row) in enumerate(zip(det.change_points, user), start=1):
        when = fmt_times(prep.frame.index[[c.index]], prep.freq)[0]
        what = f"{c.kind} change in {', '.join(c.columns)}" if c.kind else "a change"
        r = responses.get(c.index)
        whose = f"{views.label}'s"  # the gate drawn, which detection may not have read
        gate = (
            f"; {whose} skip gate {'responds' if r.responds else 'does not respond'} there (shift "
            f"{r.shift:+.3f} in the share of units leaning on memory over ±{r.w} steps, "
            f"permutation p = {r.p:.2f} against random points)"
            if r is not None
            else ""
        )
        out.append(f"#{n}, row {row:,} ({when}): {what}, found by {found_by(c, det)}{gate}.")
    return out


def _changes_section(views: _Views, prep: Prepared, target: str, context: Context) -> str:
    det = context.detection
    if det is None:
        return "<h2 id='changes'>Change points</h2>" + _note("Change points were not detected.")
    kinds = change_point_rows(det, prep)  # in the file's own rows
    kinds["time"] = fmt_times(kinds["time"], prep.freq)
    kinds.insert(2, "found by", [found_by(c, det) for c in det.change_points])
    kinds = kinds.drop(columns="part")  # "found by" says it in words
    scored = det.metrics is not None
    return (
        "<h2 id='changes'>Change points</h2>"
        + _figure(plots.detection_figure(prep.frame[target], det, list(context.known)))
        + (_table(kinds, index=False) if len(kinds) else _note("No change points were found."))
        + (_lines(_point_lines(det, views, prep)) if len(kinds) else "")
        + (_note(gate_rate_sentence()) if len(kinds) and views.trace is not None else "")
        + _note(ABLATION)
        + (_table(detection_table(det)) if scored else "")
        + (_note(detection_caption(det)) if scored else "")
    )


def _card_section(fc: Forecaster, prep: Prepared) -> str:
    h = fc.history_
    meta = getattr(fc, "meta_", {}) or {}
    trained = meta.get("versions") or {}
    now = _versions()
    versions = pd.DataFrame({"when trained": {k: trained.get(k, MISSING) for k in now}, "now": now})
    same = data_hash(prep.frame[list(fc.inputs_)]) == fc.data_hash_
    return (
        "<h2 id='card'>Model card</h2>"
        + _lines(
            [
                f"targets: {', '.join(fc.targets_)}; inputs: {', '.join(fc.inputs_)}",
                (
                    f"lookback {fc.config_.data.lookback}, horizon {fc.config_.data.horizon}, "
                    f"frequency {frequency_words(fc.freq_)}"
                ),
                f"created: {meta.get('created') or MISSING}",
                f"training data hash (sha256): {fc.data_hash_}",
                (
                    "this report's data is the training data"
                    if same
                    else "this report's data differs from the training data (hash "
                    f"{data_hash(prep.frame[list(fc.inputs_)])})"
                ),
                *training_summary(h),
            ]
        )
        + (
            _figure(plots.loss_figure(h.train_loss, h.val_loss, h.best_epoch))
            if h.train_loss
            else ""
        )
        + "<h3>Config</h3><pre>"
        + _esc(fc.config_.to_yaml())
        + "</pre><h3>Versions</h3>"
        + versions.to_html(escape=True, border=0)
    )


def count_figures(document: str) -> int:
    """How many plotly figures a report holds (each is one ``Plotly.newPlot`` call)."""
    return document.count("Plotly.newPlot(")
