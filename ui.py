"""The only Streamlit glue shared by pages: state keys, getters, guards, actions, cached loaders."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from lstm_core import changepoints, checkpoint, data, summary, train
from lstm_core.config import Config
from lstm_core.errors import ConfigError, LstmCoreError
from lstm_core.forecaster import Forecaster
from lstm_core.jobs import Task, TrainingJob

T = TypeVar("T")

# ------------------------------------------------------- state keys (st.session_state only)
STARTED = "STARTED"  # the demo defaults were offered once; tests set it to start empty
FRAME = "FRAME"  # pd.DataFrame: the user's table as read
DATA_NAME = "DATA_NAME"  # str: where FRAME came from
DATA_TOKEN = "DATA_TOKEN"  # content hash of FRAME (keys widgets and memos)
UPLOAD_ID = "UPLOAD_ID"  # file_id of the upload now in FRAME
KNOWN_CPS = "KNOWN_CPS"  # tuple[int, ...]: a demo's known change points (rows)
CONFIG = "CONFIG"  # Config: the last valid config
FORECASTER = "FORECASTER"  # Forecaster: the model in use (trained here or loaded; never mutated)
MODEL_NAME = "MODEL_NAME"  # str: where FORECASTER came from
MODEL_TOKEN = "MODEL_TOKEN"  # fingerprint (config + weights) of FORECASTER
JOB = "JOB"  # TrainingJob of this session, if any
JOB_COLLECTED = "JOB_COLLECTED"  # its result moved into FORECASTER (or its failure shown)
SETTINGS_SYNCED = "SETTINGS_SYNCED"  # the Config the settings widgets show
SETTINGS_ERROR = "SETTINGS_ERROR"  # (message, key, source) of the last rejected settings
DETECTION = "DETECTION"  # (data token, model token, Task, known rows) of a change point run
MEMO = "MEMO"  # {(name, data token, model token): result or Task} of slow computations

DEMO_CHECKPOINT = checkpoint.CHECKPOINT_DIR / "demo.safetensors"  # shipped; loaded on a first visit
# Page scripts live in app_pages/, not pages/: a pages/ folder switches a freshly started server to
# the legacy multipage mode, where a deep link (e.g. /forecast) runs the page without app.py.
PAGES = {
    name: f"app_pages/{name}.py"
    for name in ("data", "settings", "training", "forecast", "explain", "checkpoints")
}


def get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def frame() -> pd.DataFrame | None:
    return get(FRAME)


def config() -> Config:
    return get(CONFIG) or Config()


def forecaster() -> Forecaster | None:
    return get(FORECASTER)


def job() -> TrainingJob | None:
    return get(JOB)


def training() -> bool:
    """This session has a training job running."""
    j = job()
    return j is not None and j.snapshot().status == "running"


def checkpoint_dir() -> Path:
    """Where checkpoints are listed and saved: $STUDIO_CHECKPOINTS, else the repo's checkpoints/."""
    return Path(os.environ.get("STUDIO_CHECKPOINTS") or checkpoint.CHECKPOINT_DIR)


def device(cfg: Config) -> tuple[str, str | None]:
    """The device training will use, in words, or why the configured one is unavailable."""
    try:
        return train.device_name(train.pick_device(cfg.training.device)), None
    except ConfigError as e:
        return "", str(e)


def history_points() -> int | None:
    """The sidebar's "history shown" choice: the last N observations, or None for all."""
    value = get("history_points", 500)
    return None if value == "all" else int(value)


def pick_target(fc: Forecaster, key: str) -> str:
    """A target selector when the model forecasts several; the only target otherwise."""
    return st.selectbox("Target", fc.targets_, key=key) if len(fc.targets_) > 1 else fc.targets_[0]


def require(value: T | None, message: str, page: str, label: str) -> T:
    """Stop the page with guidance and a link when a prerequisite is missing."""
    if value is None:
        st.info(message)
        st.page_link(PAGES[page], label=label, icon=":material/arrow_forward:")
        st.stop()
    return value


def fail(message: str, page: str, label: str) -> None:
    """Show an error the user can fix elsewhere, with a link there, and stop the page."""
    st.error(message)
    st.page_link(PAGES[page], label=label, icon=":material/arrow_forward:")
    st.stop()


def model_cannot(fc: Forecaster, error: Exception, verb: str) -> None:
    """Stop the page: the model in use cannot ``verb`` the current data; link to Train."""
    fail(
        f"The model in use ({get(MODEL_NAME)}, inputs {', '.join(fc.inputs_)}) cannot {verb} "
        f"this data: {error}",
        "training",
        "Train a model on this data",
    )


# ---------------------------------------------------------------- cached loaders


@st.cache_data(max_entries=8, show_spinner="Reading the file...")
def read_upload(raw: bytes, name: str) -> pd.DataFrame:
    return data.read_table(raw, name)


@st.cache_resource(max_entries=8, show_spinner="Loading the checkpoint...")
def load_checkpoint(path: str, mtime: float) -> Forecaster:
    """Read-only and shared by every session: never fit, train or edit what this returns."""
    return checkpoint.load(path)


def memo(name: str, compute: Callable[[], T]) -> T:
    """This session's result of a slow computation, cached by the content hash of the data and
    the model's fingerprint (the same upload or checkpoint again reuses it)."""
    key = (name, get(DATA_TOKEN), get(MODEL_TOKEN))
    store = st.session_state.setdefault(MEMO, {})
    if key not in store:
        if len(store) > 16:
            store.clear()
        store[key] = compute()
    return store[key]


def background(name: str, compute: Callable[[], T]) -> Task[T]:
    """Like ``memo``, but the computation runs in a background thread; poll it with ``ready``."""
    return memo(name, lambda: Task.start(compute))


def running(task: Task | None) -> bool:
    return task is not None and task.status == "running"


def ready(task: Task, doing: str) -> bool:
    """Inside a fragment that polls ``task``: say what is running, or why it failed; True once
    its result can be drawn. The first time it is done, rerun the page once to stop polling."""
    if task.status == "running":
        st.info(f"{doing} in the background ({task.seconds:.0f} s)...", icon=":material/hourglass:")
        return False
    if not task.shown:
        task.shown = True
        st.rerun()
    if task.status == "failed":
        st.error(f"{doing} failed: {task.error}")
        return False
    return True


# ------------------------------------------------------- actions (button branches, callbacks)


def _set_frame(df: pd.DataFrame, name: str, cfg: Config, known: tuple[int, ...] = ()) -> None:
    st.session_state.update(
        {
            FRAME: df,
            DATA_NAME: name,
            CONFIG: cfg,
            KNOWN_CPS: known,
            DATA_TOKEN: data.content_hash(df),
        }
    )


def set_forecaster(fc: Forecaster, name: str) -> None:
    st.session_state.update({FORECASTER: fc, MODEL_NAME: name, MODEL_TOKEN: fc.fingerprint()})


def start_session() -> None:
    """First visit: the regimes demo and the shipped demo checkpoint, so results show at once."""
    if get(STARTED):
        return
    st.session_state[STARTED] = True
    use_demo("regimes")
    if DEMO_CHECKPOINT.exists():
        try:
            open_checkpoint(DEMO_CHECKPOINT)
        except LstmCoreError:
            pass  # the Train and Checkpoints pages say what to do


def use_demo(name: str) -> None:
    demo = data.load_demo(name)
    _set_frame(demo.frame, f"demo: {name}", demo.config, demo.change_points)
    # a file still sitting in the data page's uploader must not replace the demo again
    st.session_state[UPLOAD_ID] = getattr(get("data_upload"), "file_id", None)


def use_upload(upload) -> str | None:
    """Read an uploaded table into state; returns the error instead if it cannot be read."""
    try:
        df = read_upload(upload.getvalue(), upload.name)
    except LstmCoreError as e:
        return str(e)
    time_col = data.detect_time_column(df)
    numeric = data.numeric_columns(df, time_col)
    if not numeric:
        return "it has no column of numbers to forecast"
    try:
        cfg = config().replace(
            data={"time_col": time_col, "targets": numeric[:1], "covariates": []}
        )
    except ConfigError as e:
        return str(e)
    _set_frame(df, upload.name, cfg)
    st.session_state[UPLOAD_ID] = upload.file_id
    return None


def set_config(cfg: Config) -> None:
    st.session_state[CONFIG] = cfg
    st.session_state.pop(SETTINGS_ERROR, None)


def set_columns(
    time_col: str | None, targets: list[str], covariates: list[str], missing: str
) -> str | None:
    """Apply the data page's column choice if the data then prepares; else return why not."""
    try:
        cfg = config().replace(
            data={
                "time_col": time_col,
                "targets": targets,
                "covariates": covariates,
                "missing": missing,
                "frequency": None,
            }
        )
        data.prepare(frame(), cfg.data)
    except LstmCoreError as e:
        return str(e)
    set_config(cfg)
    return None


def prepared() -> tuple[data.Prepared | None, str | None]:
    """The current data cleaned with the current data config, or the reason it cannot be."""
    df = frame()
    if df is None:
        return None, None
    return memo(f"prepared:{config().data}", lambda: _prepare(df, config()))


def _prepare(df: pd.DataFrame, cfg: Config) -> tuple[data.Prepared | None, str | None]:
    try:
        return data.prepare(df, cfg.data), None
    except LstmCoreError as e:
        return None, str(e)


def save_checkpoint(fc: Forecaster, name: str) -> tuple[Path | None, str | None]:
    """Save ``fc`` under a new name in the checkpoint folder; never overwrite a saved one."""
    try:
        return checkpoint.save(fc, name, checkpoint_dir(), overwrite=False), None
    except (LstmCoreError, OSError) as e:
        return None, f"not saved: {e}"


def open_checkpoint(path: Path) -> None:
    set_forecaster(load_checkpoint(str(path), path.stat().st_mtime), f"checkpoint {path.stem}")


def start_training(cfg: Config, prep: data.Prepared) -> str | None:
    """Start this session's background training; returns why not if the data is too short."""
    if training():
        return "a training run is already going; cancel it first"
    try:
        data.check_length(
            len(prep.frame), cfg.data.lookback, cfg.data.horizon, cfg.training.val_fraction
        )
    except LstmCoreError as e:
        return str(e)
    st.session_state.update({JOB: TrainingJob.start(cfg, prep), JOB_COLLECTED: False})
    return None


def collect_job() -> None:
    """Move a finished job's model into state, on whatever page the user is."""
    j = job()
    if j is None or get(JOB_COLLECTED) or j.snapshot().status == "running":
        return
    st.session_state[JOB_COLLECTED] = True
    if j.result is not None:
        set_forecaster(j.result, f"trained at {time.strftime('%H:%M:%S')} on {get(DATA_NAME)}")


def detection() -> tuple[Task, list[int]] | None:
    """This session's change point task for the current data and model, with the known change
    points (rows) it was given, if there is one."""
    held = get(DETECTION)
    if held is None or held[:2] != (get(DATA_TOKEN), get(MODEL_TOKEN)):
        return None
    return held[2], held[3]


def start_detection(fc: Forecaster, prep: data.Prepared, known_text: str, **options) -> str | None:
    """Start change point detection in the background; returns why not (bad known points)."""
    try:
        known = summary.parse_rows(known_text) or None
    except LstmCoreError as e:
        return str(e)
    task = Task.start(lambda: changepoints.detect(prep, fc, known=known, **options))
    st.session_state[DETECTION] = (get(DATA_TOKEN), get(MODEL_TOKEN), task, known or [])
    return None


# ---------------------------------------------------------------- settings widgets <-> Config

FORM_FIELDS = {  # widget key -> (section, field)
    "settings_lookback": ("data", "lookback"),
    "settings_horizon": ("data", "horizon"),
    "settings_hidden_size": ("lstm", "hidden_size"),
    "settings_num_layers": ("lstm", "num_layers"),
    "settings_dropout": ("lstm", "dropout"),
    "settings_num_heads": ("lstm", "num_heads"),
    "settings_bidirectional": ("lstm", "bidirectional"),
    "settings_use_attention": ("lstm", "use_attention"),
    "settings_epochs": ("training", "epochs"),
    "settings_batch_size": ("training", "batch_size"),
    "settings_learning_rate": ("training", "learning_rate"),
    "settings_patience": ("training", "patience"),
    "settings_device": ("training", "device"),
}
YAML_KEYS = {name: f"settings_yaml_{name}" for name in ("data", "lstm", "training")}


def sync_settings() -> None:
    """Point every settings widget at the current config (when it changed elsewhere)."""
    cfg = config()
    if get(SETTINGS_SYNCED) is cfg and all(k in st.session_state for k in YAML_KEYS.values()):
        return
    raw = cfg.to_dict()
    for key, (section, name) in FORM_FIELDS.items():
        value = raw[section][name]
        st.session_state[key] = 0 if value is None else value  # hidden size 0 = automatic
    for section, text in summary.config_sections(cfg).items():
        st.session_state[YAML_KEYS[section]] = text
    st.session_state[SETTINGS_SYNCED] = cfg
    st.session_state.pop(SETTINGS_ERROR, None)  # the text it was about is gone


def _accept(cfg: Config) -> None:
    set_config(cfg)
    sync_settings()


def apply_form() -> None:
    changes: dict[str, dict] = {"data": {}, "lstm": {}, "training": {}}
    for key, (section, name) in FORM_FIELDS.items():
        changes[section][name] = st.session_state[key]
    changes["lstm"]["hidden_size"] = changes["lstm"]["hidden_size"] or None
    try:
        _accept(config().replace(**changes))
    except ConfigError as e:
        st.session_state[SETTINGS_ERROR] = (str(e), e.key, "form")


def apply_yaml() -> None:
    texts = {section: st.session_state[key] for section, key in YAML_KEYS.items()}
    try:
        _accept(summary.config_from_sections(texts))
    except ConfigError as e:
        st.session_state[SETTINGS_ERROR] = (str(e), e.key, "yaml")


def upload_yaml() -> None:
    up = st.session_state.get("settings_upload")
    if up is None:
        return
    try:
        cfg = Config.from_yaml(up.getvalue().decode("utf-8", errors="replace"))
    except ConfigError as e:
        st.session_state[SETTINGS_ERROR] = (f"{up.name}: {e}", e.key, "upload")
        return
    _accept(cfg)
