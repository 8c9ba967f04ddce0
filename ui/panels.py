"""Panels on the pages: the layout and series pickers, the panel's check against the settings
(cached), and the model and table a result page shows (a panel: the chosen series)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from lstm_core.background import Task
from lstm_core.errors import LstmCoreError
from lstm_core.forecaster import Forecaster
from lstm_core.panel import Panel, gaps
from lstm_core.panel_forecaster import PanelBacktest
from ui import actions, background, loaders, panel_view
from ui.router import link
from ui.state import (
    DATA_TOKEN,
    MODEL_TOKEN,
    PANEL_CHOICE,
    SERIES,
    config,
    data_key,
    forecaster,
    frame,
    get,
    panel,
    put,
    series,
)


def layout_picker(df: pd.DataFrame) -> None:
    """ "Series in this table": one series, an id column (the likeliest first) or wide; a
    choice that does not work is refused in words by ``actions.apply_layout``."""
    choices = panel_view.layout_options(df, config().data.time_col)
    current = get(PANEL_CHOICE, panel_view.ONE)
    options = list(choices.options) if current in choices.options else [*choices.options, current]
    key = f"data_layout_{get(DATA_TOKEN)}"
    st.selectbox(
        "Series in this table",
        options,
        index=options.index(current),
        format_func=panel_view.LayoutOptions.label,
        key=key,
        on_change=actions.apply_layout,
        args=(key,),
        help="A long table names each row's series in an id column (store, sensor...); a wide "
        "table has one column per series. One model is then trained for every series."
        + (
            f" Proposed here: {panel_view.LayoutOptions.label(choices.proposed)}."
            if choices.proposed != panel_view.ONE
            else ""
        ),
    )


def check(p: Panel) -> panel_view.PanelCheck:
    """The panel against the current settings (cached per data, panel and settings)."""
    cfg = config()
    return loaders.memo(
        f"panel:check:{cfg.data}:{cfg.training.val_fraction}",
        lambda: panel_view.check(p, cfg),
        per_series=False,  # every series at once: picking another one needs no new check
    )


def series_picker(ids: list[str], page: str, labels: dict[str, str] | None = None) -> str:
    """A series selector shared by every page (picking one shows it everywhere)."""
    current = panel_view.shown(ids, series())
    if current != series():
        put({SERIES: current})
    key = f"{page}_series_{get(DATA_TOKEN)}_{get(PANEL_CHOICE)}"
    if get(key) not in ids:
        st.session_state.pop(key, None)  # the panel changed under the widget
    return st.selectbox(
        f"Series ({len(ids):,})",
        ids,
        index=ids.index(current),
        format_func=(labels or {}).get if labels else str,
        key=key,
        on_change=actions.show_series,
        args=(key,),
    )


def view(page: str) -> tuple[Forecaster, pd.DataFrame]:
    """The model and table a result page shows: the data and model in use, or, for a panel, the
    series picked here and that series' view of the panel model. Stops the page with what to
    do when the model does not fit the data (a panel model on one series, or the reverse)."""
    fc, df, p = forecaster(), frame(), panel()
    why = panel_view.mismatch(fc, p)
    if why:
        st.warning(why)
        link("data", "Go to Data")
        link("training", "Go to Train")
        st.stop()
    if p is None:
        return fc, df
    ids = panel_view.shared_ids(fc, p)
    sid = series_picker(ids, page, check(p).summary.labels())
    return panel_view.view(fc, df, p, sid)


def overview(p: Panel) -> None:
    """The Data page's panel part: how many series, their lengths, starts, ends and gaps, what
    training will leave out, and the series picker (its chart follows on the page)."""
    chk = check(p)
    st.subheader("The series in this table")
    st.markdown("\n".join(f"- {line}" for line in chk.summary.lines()))
    line = chk.training_line(config())
    if not chk.trainable:
        st.error(f"{line} Lower the lookback or horizon in Model settings.")
        link("settings", "Go to Model settings")
    elif chk.left_out:
        st.warning(line)
    else:
        st.caption(line)
    with st.expander("Every series: length, start, end, gaps"):
        st.dataframe(panel_view.summary_table(chk.summary, p.time_col is not None))
    sid = series_picker(list(p.ids), "data", chk.summary.labels())
    try:
        holes = loaders.memo(f"panel:gaps:{config().data}", lambda: gaps(p, sid, config().data))
    except LstmCoreError:
        return  # the series' own error is shown below
    line = panel_view.gaps_line(sid, holes)
    if line:
        st.caption(line)


def backtest_task(restart: bool = False) -> Task:
    """Every series the panel model learnt and the panel holds, backtested in the background
    (``PanelForecaster.backtest``: progress per series, Cancel), once per data and model."""
    model, p = forecaster(), panel()
    ids = panel_view.shared_ids(model, p)

    def score(report: Callable[[float, str], None]) -> PanelBacktest:
        return model.backtest(
            p, ids, on_series=lambda done, n: report(done / n, f"{done:,} of {n:,} series")
        )

    key = (data_key(per_series=False), get(MODEL_TOKEN))
    return background.task("panel_backtest", key, score, "backtesting every series", restart)
