"""Session state: the keys every page shares, typed getters, one setter, and one-shot notices."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Literal

import pandas as pd
import streamlit as st

from lstm_core.config import Config
from lstm_core.forecaster import Forecaster
from lstm_core.panel import Panel
from lstm_core.panel_forecaster import PanelForecaster
from ui import sessions
from ui.keys import (  # noqa: F401 - re-exported: pages and ui read the keys from here
    BROWSER_KEY,
    CONFIG,
    DATA_NAME,
    DATA_TOKEN,
    DETECTION,
    FORECASTER,
    FRAME,
    HISTORY,
    JOB,
    JOB_COLLECTED,
    KEPT,
    KNOWN_CPS,
    MEMO,
    MODEL_NAME,
    MODEL_TOKEN,
    NOTICE,
    PANEL,
    PANEL_CHOICE,
    SERIES,
    SESSION_ID,
    SETTINGS_ERROR,
    SETTINGS_SYNCED,
    STARTED,
    TASKS,
    UPLOAD_ID,
    WORK_OWNER,
)

MISSING = "n/a"  # how every page writes a missing value
HISTORY_DEFAULT = 500


def get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def put(values: dict[str, Any]) -> None:
    """Set state keys (``put({FRAME: df, DATA_NAME: name})``) and keep a copy for a refresh."""
    st.session_state.update(values)
    sessions.keep()


def owner_id() -> str:
    """This browser's checkpoint owner id: derived from its key (ui.sessions), so the files it
    saves stay its own across a refresh and a server restart; the key itself is never stored."""
    key = get(BROWSER_KEY)
    if key is None:  # state seeded without the router's set-up (tests)
        key = st.session_state[BROWSER_KEY] = secrets.token_urlsafe(24)
    return hashlib.sha256(f"owner:{key}".encode()).hexdigest()


def frame() -> pd.DataFrame | None:
    return get(FRAME)


def config() -> Config:
    return get(CONFIG) or Config()


def forecaster() -> Forecaster | PanelForecaster | None:
    return get(FORECASTER)


def panel() -> Panel | None:
    return get(PANEL)


def series() -> str | None:
    """The panel's series shown (None without a panel)."""
    return get(SERIES) if get(PANEL) is not None else None


def data_key(per_series: bool = True) -> object:
    """What results computed on the data in use are keyed by: the content hash, and for a
    panel also its layout, time column and (``per_series``) the series shown, for results of
    one series; results over the whole panel leave the series out and survive a new pick."""
    p = panel()
    if p is None:
        return get(DATA_TOKEN)
    whole = (get(DATA_TOKEN), get(PANEL_CHOICE), p.time_col)
    return (*whole, get(SERIES)) if per_series else whole


def history_points() -> int | None:
    """The sidebar's "history shown" choice: the last N observations, or None for all."""
    value = get("history_points", get(HISTORY, HISTORY_DEFAULT))
    return None if value == "all" else int(value)


def notify(kind: Literal["success", "info", "warning", "error"], text: str) -> None:
    """A message the next run shows once (callbacks and reruns cannot draw it themselves)."""
    st.session_state[NOTICE] = (kind, text)


def show_notice() -> None:
    """Draw (and forget) the message left by ``notify``."""
    held = st.session_state.pop(NOTICE, None)
    if held is not None:
        kind, text = held
        getattr(st, kind)(text)
