"""A panel as the app uses it: the layouts the Data page offers for a table, a choice read or
refused in words, what training will leave out, whether the model in use fits the data in use,
and one series of it as a plain Forecaster and table."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lstm_core.config import Config
from lstm_core.data import detect_time_column
from lstm_core.errors import DataError
from lstm_core.forecaster import Forecaster
from lstm_core.panel import Panel, PanelSummary, describe, read_panel
from lstm_core.panel_forecaster import MODEL, PanelBacktest, PanelForecaster, prepare_series
from lstm_core.panel_layout import guess_layout, is_text, is_whole
from lstm_core.safeio import clip, listed, quote
from lstm_core.text import MISSING, fmt_times, frequency_words

ONE = "one"  # the table is one series
WIDE = "wide"  # each numeric column is a series
ID = "id:"  # prefix of a long table's id column choice ("id:store")
MOST_IDS_SHARE = 0.5  # an id column repeats: at most this share of the rows are distinct ids


class BadPanelChoice(DataError):
    """The chosen layout does not give a usable panel (one id, ids on every row, no series)."""


@dataclass(frozen=True)
class LayoutOptions:
    """The Data page's "series in this table" choices: ONE, the id columns (likeliest first,
    then the other text or whole-number columns), WIDE; and the one proposed."""

    options: tuple[str, ...]
    proposed: str

    @staticmethod
    def label(option: str) -> str:
        """Words for an option: "one series", "id column: store", "wide: each column ..."."""
        if option == ONE:
            return "one series (no id column)"
        if option == WIDE:
            return "wide: each column is a series"
        return f"id column: {option.removeprefix(ID)}"


def layout_options(df: pd.DataFrame, time_col: str | None) -> LayoutOptions:
    """What the Data page offers for ``df``; it proposes the likeliest id column when the table
    has a time column whose times repeat across ids (a long panel), else one series. The time
    column may be steps that restart in every series (found as ``read_panel`` and the CLI's
    ``--id-col auto`` find it, by ``guess_layout``)."""
    time_col = time_col if time_col in df.columns else detect_time_column(df)
    guess = guess_layout(df, time_col)
    likely, time_col = list(guess.candidates), guess.time_col
    others = [
        str(c)
        for c in df.columns
        if c != time_col and c not in likely and (is_text(df[c]) or is_whole(df[c]))
    ]
    options = (ONE, *(ID + str(c) for c in likely), *(ID + c for c in others), WIDE)
    proposed = ID + str(likely[0]) if likely and time_col is not None else ONE
    return LayoutOptions(options, proposed)


def read_choice(df: pd.DataFrame, option: str, time_col: str | None) -> Panel | None:
    """The panel ``option`` makes of ``df`` (None for ONE).

    Raises:
        BadPanelChoice: the id column holds one id, or a different id on most rows, or the
            wide table has fewer than two series columns; DataError: ``read_panel``'s refusals.
    """
    if option == ONE:
        return None
    time_col = time_col if time_col in df.columns else None
    if option == WIDE:
        panel = read_panel(df, time_col=time_col, layout="wide")
        if len(panel) < 2:
            raise BadPanelChoice(
                f"the table has one numeric column ({quote(panel.ids[0], 40)}), so it holds one "
                "series; choose 'one series'"
            )
        return panel
    col = option.removeprefix(ID)
    if col not in map(str, df.columns):
        raise BadPanelChoice(
            f"there is no column {quote(col, 40)}; columns are {listed(df.columns)}"
        )
    col = next(c for c in df.columns if str(c) == col)
    ids = df[col].dropna()
    k = ids.nunique()
    if k < 2:
        one = f" ({quote(ids.iloc[0], 40)})" if k else ""
        raise BadPanelChoice(
            f"the column {quote(col, 40)} holds one id{one}, so the table is one series; choose "
            "'one series', or another id column"
        )
    if k > MOST_IDS_SHARE * len(df):
        raise BadPanelChoice(
            f"the column {quote(col, 40)} has {k:,} different values in {len(df):,} rows, so "
            "each series would have about one row; an id column repeats its ids (one row per "
            "series and time). Choose another column, or 'one series'"
        )
    return read_panel(df, col, time_col=time_col, layout="long")


@dataclass(frozen=True)
class PanelCheck:
    """A panel against the settings: its summary, and the series training will use or leave
    out (too short for lookback + horizon, constant, empty), in words."""

    summary: PanelSummary
    trainable: tuple[str, ...]
    left_out: dict[str, str]  # id -> why training leaves it out

    def training_line(self, cfg: Config) -> str:
        """One sentence: how many series training will use, and why the others are left out."""
        d = cfg.data
        n, used = len(self.summary.table), len(self.trainable)
        if not self.left_out:
            return f"Training will use all {n} series (lookback {d.lookback}, horizon {d.horizon})."
        sid, why = next(iter(self.left_out.items()))
        return (
            f"Training will use {used} of {n} series; {len(self.left_out)} are left out with "
            f"lookback {d.lookback} and horizon {d.horizon} (e.g. {clip(sid, 40)}: "
            f"{clip(why, 140)})."
        )


def use_config(panel: Panel, cfg: Config) -> Config:
    """The app's config once ``panel`` is in use: its time column, and for a long panel the
    configured targets and covariates kept where they are its value columns (targets else its
    first value column). Unlike ``Panel.config``, names the panel lacks are dropped, so a
    config made for another table does not block it."""
    if panel.layout == "long":
        targets = [c for c in cfg.data.targets if c in panel.columns] or list(panel.columns[:1])
        covariates = [c for c in cfg.data.covariates if c in panel.columns and c not in targets]
        cfg = cfg.replace(data={"targets": targets, "covariates": covariates})
    return cfg.replace(data={"time_col": panel.time_col})


def check(panel: Panel, cfg: Config) -> PanelCheck:
    """Each series described, and the ones ``PanelForecaster(cfg).fit`` will train on."""
    usable, left_out = prepare_series(panel, panel.config(cfg))
    return PanelCheck(describe(panel, cfg.data), tuple(usable), left_out)


# ---------------------------------------------------------------- the model in use and the data


def mismatch(model: Forecaster | PanelForecaster | None, panel: Panel | None) -> str | None:
    """Why the model in use cannot forecast the data in use, in words (a panel model on one
    series, a one-series model on a panel, a panel model that knows none of these ids); None
    when it can."""
    if model is None:
        return None
    if model.per_series:
        if panel is None:
            return (
                f"The model in use was trained on a panel of {model.n_series} series, and the "
                "data in use is one series. On the Data page, choose the id column of a panel "
                "(or load the panel it learnt from), or train a model on this data."
            )
        if not shared_ids(model, panel):
            return (
                f"The model in use learnt {model.n_series} series ({listed(model.series_ids, 3)}), "
                f"and none of them is in the data in use ({listed(panel.ids, 3)}). Load the panel "
                "it learnt from, or train a model on this panel."
            )
        return None
    if panel is not None:
        return (
            f"The model in use forecasts one series, and the data in use is a panel of "
            f"{len(panel)} series. Train one model for every series on the Train page, load a "
            "panel checkpoint, or read the table as one series on the Data page."
        )
    return None


def shared_ids(model: PanelForecaster, panel: Panel) -> list[str]:
    """The series the model learnt that the panel holds, in the panel's order."""
    known = set(model.series_ids)
    return [sid for sid in panel.ids if sid in known]


def shown(choices: list[str], wanted: str | None) -> str:
    """The series to show: ``wanted`` if it is one of ``choices``, else the first."""
    return wanted if wanted in choices else choices[0]


def view(
    model: Forecaster | PanelForecaster, data: pd.DataFrame, panel: Panel | None, series: str | None
) -> tuple[Forecaster, pd.DataFrame]:
    """The model and the table every single-series view takes: for a panel, ``series``'s own
    rows and that series' Forecaster (the shared network with its scaling).

    Raises:
        DataError: the model does not fit the data (see ``mismatch``), or knows no such series.
    """
    why = mismatch(model, panel)
    if why:
        raise DataError(why)
    if panel is None:
        return model, data
    return model.for_series(series), panel.select(series)


def series_table(bt: PanelBacktest) -> pd.DataFrame:
    """Per series: the MASE of the model and of each baseline, and whether the model beat the
    best of them on that series (one row per series, in the panel's order)."""
    wide = bt.by_series("MASE")
    baselines = wide.drop(columns=[MODEL])
    table = wide.rename(columns=lambda m: f"MASE {m}")
    table["model beats the best baseline"] = (wide[MODEL] < baselines.min(axis=1)).map(
        {True: "yes", False: "no"}
    )
    return table


def summary_table(panel_summary: PanelSummary, timed: bool = True) -> pd.DataFrame:
    """The per-series summary as people read it (indexed by id): starts and ends in one format
    (``text.fmt_times``; row numbers when not ``timed``), frequencies in words, problems
    in short."""
    t = panel_summary.table.set_index("id")
    # steps, not times (refused series have no start: they say nothing either way)
    timed = timed and not t["start"].dropna().astype(str).str.fullmatch(r"-?\d+").all()
    out = pd.DataFrame(index=t.index)
    out["steps"] = t["steps"]
    freqs = t["frequency"].dropna()
    freq = freqs.mode().iloc[0] if len(freqs) else None
    for col in ("start", "end"):
        values = pd.to_datetime(t[col], errors="coerce") if timed else t[col]
        out[col] = [MISSING if pd.isna(v) else s for v, s in zip(values, fmt_times(values, freq))]
    out["frequency"] = [
        frequency_words(f) if isinstance(f, str) else MISSING for f in t["frequency"]
    ]
    out["gaps"] = t["gaps"]
    out["missing values"] = t["missing"]
    out["problem"] = [clip(p, 80) for p in t["problem"]]
    return out


def series_label(panel: Panel, series: str | None) -> str:
    """The sidebar's line: "panel: 12 series, series S3 shown"."""
    shown_part = f", series {clip(series, 40)} shown" if series is not None else ""
    return f"panel: {len(panel)} series{shown_part}"


def gaps_line(series_id: str, holes: pd.DataFrame, most: int = 10) -> str | None:
    """Where a series' values are missing, for the Data page: its first ``most`` runs from
    ``panel.gaps`` (columns start, end) and how many more; None when there are none."""
    if not len(holes):
        return None
    shown = holes.iloc[:most]
    text = fmt_times(pd.concat([shown["start"], shown["end"]]))  # one format for both ends
    runs = ", ".join(f"{a} to {b}" for a, b in zip(text[: len(shown)], text[len(shown) :]))
    more = f" and {len(holes) - most} more" if len(holes) > most else ""
    return (
        f"Where {series_id}'s values are missing ({len(holes)} run(s), filled as Missing values "
        f"says): {runs}{more}."
    )
