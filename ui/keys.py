"""The keys of ``st.session_state`` every page shares, which of them a refresh keeps, and the
small records some of them hold (read by name, never by position).

A module of constants and records alone, so that ``ui.state`` (getters and the setter) and
``ui.sessions`` (the store a refresh comes back from) both read them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lstm_core.background import Task

STARTED = "STARTED"  # the demo defaults were offered once; tests set it to start empty
SESSION_ID = "SESSION_ID"  # str: this session's id in the URL (?s=...), kept across a refresh
BROWSER_KEY = "BROWSER_KEY"  # str: the browser's secret (its cookie; see ui.sessions), not kept
FRAME = "FRAME"  # pd.DataFrame: the user's table as read
DATA_NAME = "DATA_NAME"  # str: where FRAME came from
DATA_TOKEN = "DATA_TOKEN"  # content hash of FRAME (keys widgets and memos)
UPLOAD_ID = "UPLOAD_ID"  # file_id of the upload now in FRAME
KNOWN_CPS = "KNOWN_CPS"  # tuple[int, ...]: a demo's known change points (rows)
PANEL = "PANEL"  # Panel | None: FRAME read as many series (None: FRAME is one series)
PANEL_CHOICE = "PANEL_CHOICE"  # str: the layout applied (ui.panel_view.ONE, "id:col"...)
SERIES = "SERIES"  # str | None: the panel's series every page shows
CONFIG = "CONFIG"  # Config: the last valid config
FORECASTER = "FORECASTER"  # Forecaster | PanelForecaster: the model in use (never mutated)
MODEL_NAME = "MODEL_NAME"  # str: where FORECASTER came from
MODEL_TOKEN = "MODEL_TOKEN"  # fingerprint (config + weights) of FORECASTER
JOB = "JOB"  # TrainingJob of this session, if any
WORK_OWNER = "WORK_OWNER"  # background.Owner: this session's work ends with it (ui.background)
JOB_COLLECTED = "JOB_COLLECTED"  # its outcome was applied (model moved into state or kept)
TASKS = "TASKS"  # {slot: HeldTask}: this session's background tasks, one per slot
SETTINGS_SYNCED = "SETTINGS_SYNCED"  # the Config the settings widgets show
SETTINGS_ERROR = "SETTINGS_ERROR"  # SettingsError: why the last settings were rejected
DETECTION = "DETECTION"  # DetectionRequest: what the detection in TASKS was started for
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


@dataclass(frozen=True)
class HeldTask:
    """A session's task in one slot of TASKS."""

    key: Any  # what it was started for (data and model tokens, options): a new key, a new task
    task: Task
    why: str = ""  # what the page says of it once cancelled


@dataclass(frozen=True)
class DetectionRequest:
    """What the detection held in TASKS was started for (DETECTION)."""

    data_token: Any
    model_token: Any
    known: tuple[int, ...]  # the known change points it scores, in the series' (grid) rows


@dataclass(frozen=True)
class SettingsError:
    """Why the last settings were rejected (SETTINGS_ERROR)."""

    message: str
    key: str | None  # the config key at fault ("training.device"), when known
    source: Literal["form", "yaml", "upload"]
