"""What the pages' buttons do to the session: data, columns, the model in use, checkpoints.

Most of these run as widget callbacks, before the script, so the sidebar and every page drawn
in that run already show the result (a button branch would leave the sidebar one step behind).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from lstm_core import checkpoint, data
from lstm_core.columns import default_columns
from lstm_core.config import Config
from lstm_core.errors import ConfigError, LstmCoreError
from lstm_core.forecaster import Forecaster
from lstm_core.panel import Panel, describe
from lstm_core.panel_forecaster import PanelForecaster
from ui import chosen_settings, loaders, panel_view
from ui.labels import checkpoint_stem
from ui.state import (
    CONFIG,
    DATA_NAME,
    DATA_TOKEN,
    FORECASTER,
    FRAME,
    JOB,
    KNOWN_CPS,
    MODEL_NAME,
    MODEL_TOKEN,
    PANEL,
    PANEL_CHOICE,
    SERIES,
    SETTINGS_ERROR,
    STARTED,
    UPLOAD_ID,
    config,
    frame,
    get,
    notify,
    owner_id,
    panel,
    put,
    series,
)

DEMO_CHECKPOINT = checkpoint.DEMO  # shipped; loaded on a first visit
UNDO = "checkpoints_undo"  # (trash id, name) of the file the Checkpoints page offers to restore
ADDED = "checkpoints_added"  # uploads added so far (keys the uploader, so adding clears it)
ADMIN_ENV = checkpoint.ADMIN_ENV  # "1": this server's users may delete any checkpoint


def checkpoint_dir() -> Path:
    """Where checkpoints are listed and saved: $STUDIO_CHECKPOINTS, else the repo's checkpoints/."""
    return Path(os.environ.get("STUDIO_CHECKPOINTS") or checkpoint.CHECKPOINT_DIR)


# ---------------------------------------------------------------- data


def _set_frame(df: pd.DataFrame, name: str, cfg: Config, known: tuple[int, ...] = ()) -> None:
    put(
        {
            FRAME: df,
            DATA_NAME: name,
            CONFIG: cfg,
            KNOWN_CPS: known,
            DATA_TOKEN: data.content_hash(df),
            PANEL: None,
            PANEL_CHOICE: panel_view.ONE,
            SERIES: None,
        }
    )
    follow_model_columns()


def _use_panel(p: Panel | None, option: str, cfg: Config) -> None:
    """Use ``p`` (None: the table as one series), its first series shown; a long panel's
    targets and covariates kept where they are its value columns, else its first one."""
    if p is not None:
        cfg = panel_view.use_config(p, cfg)
    put({PANEL: p, PANEL_CHOICE: option, SERIES: p.ids[0] if p else None, CONFIG: cfg})
    follow_model_columns()


def apply_layout(key: str) -> None:
    """Callback of the data page's "series in this table" choice (widget ``key``): read the
    table that way, or say why not and keep what was in use (the widget goes back too)."""
    option, before = get(key), get(PANEL_CHOICE, panel_view.ONE)
    try:
        p = panel_view.read_choice(frame(), option, config().data.time_col)
    except LstmCoreError as e:
        st.session_state[key] = before
        notify("error", f"Not applied: {e}. What you had is kept.")
        return
    _use_panel(p, option, config())
    if p is not None:
        notify("success", f"Read as a panel of {len(p):,} series.")


def show_series(key: str) -> None:
    """Callback of a series picker (widget ``key``): every page shows that series now."""
    put({SERIES: get(key)})


def _propose_panel(df: pd.DataFrame, cfg: Config) -> str:
    """A new upload that looks like a long panel is read as one; returns words for the notice."""
    proposed = panel_view.layout_options(df, cfg.data.time_col).proposed
    if proposed == panel_view.ONE:
        return ""
    try:
        p = panel_view.read_choice(df, proposed, cfg.data.time_col)
    except LstmCoreError:
        return ""  # the Data page still offers the choice
    _use_panel(p, proposed, cfg)
    return (
        f" It holds {len(p):,} series ({panel_view.LayoutOptions.label(proposed)}); choose "
        "another layout on the Data page if that is wrong."
    )


def start_session() -> None:
    """First visit: the regimes demo and the shipped demo checkpoint, so results show at once."""
    if get(STARTED):
        return
    put({STARTED: True})
    use_demo("regimes")
    if DEMO_CHECKPOINT.exists():
        try:
            open_checkpoint(DEMO_CHECKPOINT, quiet=True)
        except LstmCoreError:
            pass  # the Train and Checkpoints pages say what to do


def use_demo(name: str | None = None) -> None:
    """Use a built-in demo: ``name``, else the one chosen in the data page's selector."""
    demo = data.load_demo(name or get("data_demo") or data.demo_names()[0])
    _set_frame(demo.frame, f"demo: {demo.name}", demo.config, demo.change_points)
    # a file still sitting in the data page's uploader must not replace the demo again
    put({UPLOAD_ID: getattr(get("data_upload"), "file_id", None)})


def use_upload() -> None:
    """Callback of the data page's uploader: read the file into state, or say why not."""
    upload = get("data_upload")
    if upload is None or upload.file_id == get(UPLOAD_ID):
        return
    put({UPLOAD_ID: upload.file_id})  # a refused file is not read again on every run
    try:
        df = loaders.read_upload(upload.getvalue(), upload.name)
        time_col, target = default_columns(df)
        cfg = config().replace(data={"time_col": time_col, "targets": [target], "covariates": []})
    except LstmCoreError as e:
        notify("error", f"{upload.name} was not loaded: {e}. The data you had is kept.")
        return
    _set_frame(df, upload.name, cfg)
    many = _propose_panel(df, config())
    chosen_settings.use_chosen(prepared()[0], set_config)  # the lookback, patch and epochs this data calls for, as the CLI chooses them
    targets = ", ".join(config().data.targets)  # the model's, if the model in use reads this data
    notify("success", f"Loaded {upload.name}: {len(df):,} rows; target {targets}.{many}")


def set_columns(
    time_col: str | None, targets: list[str], covariates: list[str], missing: str
) -> str | None:
    """Apply the data page's column choice if the data then prepares (a panel: is read again
    with that time column and keeps a usable series); else return why not."""
    p = None
    try:
        cfg = config().replace(
            data={
                "time_col": time_col,
                "targets": targets,
                "covariates": [c for c in covariates if c not in targets],
                "missing": missing,
                "frequency": None,
            }
        )
        if panel() is None:
            data.prepare(frame(), cfg.data)
        else:
            p = panel_view.read_choice(frame(), get(PANEL_CHOICE), time_col)
            if not describe(p, cfg.data).usable:  # the summary half of panel_view.check
                return "none of the panel's series can be read with these columns"
    except LstmCoreError as e:
        return str(e)
    set_config(cfg)
    if p is not None:
        put({PANEL: p, SERIES: series() if series() in p.ids else p.ids[0]})
    return None


def follow_model_columns() -> None:
    """Point the data config at the model's columns when the data has them, so the Data page
    shows what the model in use reads."""
    fc, df = get(FORECASTER), frame()
    if fc is None or df is None or not set(fc.inputs_) <= set(map(str, df.columns)):
        return
    time_col = fc.time_col_ if fc.time_col_ in df.columns else config().data.time_col
    d = fc.config_.data
    try:
        cfg = config().replace(
            data={
                "time_col": time_col,
                "targets": list(d.targets),
                "covariates": list(d.covariates),
            }
        )
    except ConfigError:
        return
    put({CONFIG: cfg})


def set_config(cfg: Config) -> None:
    put({CONFIG: cfg})
    st.session_state.pop(SETTINGS_ERROR, None)


def prepared() -> tuple[data.Prepared | None, str | None]:
    """The current data (a panel: the series shown) cleaned with the current data config, or
    the reason it cannot be."""
    df, p = frame(), panel()
    if df is None:
        return None, None
    if p is not None:
        run = lambda: p.prepared(series(), config())  # noqa: E731
    else:
        run = lambda: data.prepare(df, config().data)  # noqa: E731
    # keyed by what prepare reads: a new lookback or horizon does not prepare the table again
    d = config().data
    key = tuple(getattr(d, name) for name in data.PREPARE_FIELDS)
    return loaders.memo(f"prepared:{key}", lambda: _prepare(run))


def _prepare(run) -> tuple[data.Prepared | None, str | None]:
    try:
        return run(), None
    except LstmCoreError as e:
        return None, str(e)


# ---------------------------------------------------------------- the model in use


def set_forecaster(fc: Forecaster | PanelForecaster, name: str) -> None:
    put({FORECASTER: fc, MODEL_NAME: name, MODEL_TOKEN: fc.fingerprint()})
    follow_model_columns()


def open_checkpoint(path: Path, quiet: bool = False) -> None:
    """Use a saved checkpoint; a finished training's status no longer applies then."""
    fc = loaders.load_checkpoint(str(path), path.stat().st_mtime)
    set_forecaster(fc, f"checkpoint {path.stem}")
    job = get(JOB)
    if job is not None and job.snapshot().status not in ("running", "queued"):
        put({JOB: None})
    if quiet:
        return
    holds = f" ({fc.holds})" if fc.holds else ""
    why = panel_view.mismatch(fc, panel())
    if why:
        notify("warning", f"Loaded {path.stem}{holds}. {why}")
    else:
        notify(
            "success", f"Loaded {path.stem}{holds}: the Forecast and Interpret pages now use it."
        )


def load_checkpoint_callback(key: str) -> None:
    """Callback of a "Load" button: use the checkpoint named in the selectbox ``key``."""
    name = get(key)
    if not name:
        return
    path = checkpoint_dir() / f"{name}{checkpoint.SUFFIX}"
    try:
        open_checkpoint(path)
    except (LstmCoreError, OSError) as e:
        notify("error", f"{name} cannot be loaded: {e}")
    except Exception as e:  # noqa: BLE001 - a file on disk is untrusted: say why, never a traceback
        notify("error", f"{name} cannot be loaded ({type(e).__name__}: {e}).")


# ---------------------------------------------------------------- checkpoints on disk


def save_checkpoint(fc: Forecaster | PanelForecaster, name: str) -> tuple[Path | None, str | None]:
    """Save ``fc`` under a new name in the checkpoint folder; never overwrite a saved one. The
    file records this session's owner id (as a token), so its owner may delete it later."""
    try:
        path = checkpoint.save(
            fc, checkpoint_stem(name), checkpoint_dir(), overwrite=False, owner=owner_id()
        )
    except (LstmCoreError, OSError) as e:
        return None, f"not saved: {e}"
    return path, None


def add_checkpoint(fc: Forecaster | PanelForecaster, name: str) -> None:
    """Callback of "Add it to the list": save a validated upload, use it, select it, and clear
    the uploader."""
    saved, error = save_checkpoint(fc, name)
    if error:
        notify("error", error)
        return
    open_checkpoint(saved)
    st.session_state["checkpoints_name"] = saved.stem
    st.session_state[ADDED] = get(ADDED, 0) + 1


def delete_refusal(path: Path) -> str | None:
    """Why this session may not delete the checkpoint at ``path`` (None: it may)."""
    return checkpoint.delete_refusal(path, owner_id())


def delete_checkpoint(path: Path, popover_key: str) -> None:
    """Callback of the Delete button: move the file to the trash (undo brings it back), close
    the popover and say so."""
    try:
        trash_id = checkpoint.trash(path, owner_id())
    except LstmCoreError as e:
        notify("error", f"Not deleted: {e}")
        return
    st.session_state[popover_key] = False
    notify("success", f"Deleted {path.stem}.")
    st.session_state[UNDO] = (trash_id, path.stem)


def undo_delete() -> None:
    """Callback of Undo: bring back the file this session deleted last, and select it."""
    trash_id, stem = st.session_state.pop(UNDO, (None, None))
    if trash_id is None:
        return
    try:
        path = checkpoint.restore(trash_id, owner_id(), checkpoint_dir())
    except LstmCoreError as e:
        notify("error", f"Not restored: {e}")
        return
    st.session_state["checkpoints_name"] = path.stem
    renamed = "" if path.stem == stem else f" as {path.stem}, since {stem} is taken now"
    notify("success", f"Restored {stem}{renamed}.")
