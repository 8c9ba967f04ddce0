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

# ------------------------------------------------------- keys (st.session_state only)
STARTED = "STARTED"  # the demo defaults were offered once; tests set it to start empty
SESSION_ID = "SESSION_ID"  # str: this session's id in the URL (?s=...), kept across a refresh
BROWSER_KEY = "BROWSER_KEY"  # str: the browser's secret (its cookie; see ui.sessions), not kept
FRAME = "FRAME"  # pd.DataFrame: the user's table as read
DATA_NAME = "DATA_NAME"  # str: where FRAME came from
DATA_TOKEN = "DATA_TOKEN"  # content hash of FRAME (keys widgets and memos)
UPLOAD_ID = "UPLOAD_ID"  # file_id of the upload now in FRAME
KNOWN_CPS = "KNOWN_CPS"  # tuple[int, ...]: a demo's known change points (rows)
PANEL = "PANEL"  # Panel | None: FRAME read as many series (None: FRAME is one series)
PANEL_CHOICE = "PANEL_CHOICE"  # str: the layout applied (lstm_core.panel_view.ONE, "id:col"...)
SERIES = "SERIES"  # str | None: the panel's series every page shows
CONFIG = "CONFIG"  # Config: the last valid config
FORECASTER = "FORECASTER"  # Forecaster | PanelForecaster: the model in use (never mutated)
MODEL_NAME = "MODEL_NAME"  # str: where FORECASTER came from
MODEL_TOKEN = "MODEL_TOKEN"  # fingerprint (config + weights) of FORECASTER
JOB = "JOB"  # TrainingJob of this session, if any
WORK_OWNER = "WORK_OWNER"  # lstm_core.jobs.Owner: this session's work ends with it (ui.work)
JOB_COLLECTED = "JOB_COLLECTED"  # its outcome was applied (model moved into state or kept)
TASKS = "TASKS"  # {slot: (key, Task)}: this session's background tasks, one per slot
SETTINGS_SYNCED = "SETTINGS_SYNCED"  # the Config the settings widgets show
SETTINGS_ERROR = "SETTINGS_ERROR"  # (message, key, source) of the last rejected settings
DETECTION = "DETECTION"  # (data token, model token, known rows) of the detection in TASKS
MEMO = "MEMO"  # {(name, data token, model token): result} of slow computations
NOTICE = "NOTICE"  # (kind, text): a message for the next run (after a callback or a rerun)
HISTORY = "HISTORY"  # int | "all": the sidebar's "history shown" choice (its widget is not kept)

# what a browser refresh brings back (see ui.sessions); the rest is rebuilt or widget state
KEPT = (
    STARTED,
    FRAME,
    DATA_NAME,
    DATA_TOKEN,
    UPLOAD_ID,
    KNOWN_CPS,
    PANEL,
    PANEL_CHOICE,
    SERIES,
    CONFIG,
    FORECASTER,
    MODEL_NAME,
    MODEL_TOKEN,
    JOB,
    WORK_OWNER,
    JOB_COLLECTED,
    TASKS,
    DETECTION,
    MEMO,
    HISTORY,
)
MISSING = "n/a"  # how every page writes a missing value
HISTORY_DEFAULT = 500


def get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def put(values: dict[str, Any]) -> None:
    """Set state keys (``put({FRAME: df, DATA_NAME: name})``) and keep a copy for a refresh."""
    from ui import sessions  # sessions reads KEPT from here

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
