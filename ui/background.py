"""Background work of a session: the server's scheduler, this session's training run, and its
tasks (the whole-series trace, change point detection) with progress, an estimate of the time
left, Cancel, and a time limit. A session holds one task per slot: asking for a new one cancels
the older (a new detection replaces the one still running)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import streamlit as st

from lstm_core import changepoints, data, interpret
from lstm_core.background import Owner, Progress, Scheduler, Task, TrainingJob, check_trainable
from lstm_core.config import Config
from lstm_core.errors import LstmCoreError
from lstm_core.forecaster import Forecaster
from lstm_core.interpret import share
from lstm_core.panel import Panel
from ui import actions, sessions
from ui.keys import DetectionRequest, HeldTask
from ui.state import (
    DATA_NAME,
    DETECTION,
    JOB,
    JOB_COLLECTED,
    MODEL_NAME,
    MODEL_TOKEN,
    TASKS,
    WORK_OWNER,
    data_key,
    get,
    notify,
    put,
)

T = TypeVar("T")
MAX_TRAININGS = 2  # trainings at once on this server; more wait in a queue
MAX_TASKS = 4  # other background tasks at once
TASK_LIMIT_S = 600.0  # a task still running after this is stopped: it holds a slot others need
POLL_S = 1.0  # how often a page showing a running task redraws it
# a training still running after this long is stopped with its best weights (STUDIO_TRAINING_LIMIT_MIN)
TRAINING_LIMIT_S = 60.0 * float(os.environ.get("STUDIO_TRAINING_LIMIT_MIN", "30"))
HEARTBEAT_S = 20.0  # an open tab with work in the background says it is alive this often
# work of a session whose tab sent no run or heartbeat for this long is cancelled (the tab was
# closed); long enough for a refresh, and for a browser's throttling of background tabs (1/min)
ORPHAN_S = 300.0
RUNNING = ("queued", "running")


class TaskTooLong(LstmCoreError):
    """A background task ran past TASK_LIMIT_S and was stopped."""


@st.cache_resource
def scheduler() -> Scheduler:
    """The server's one scheduler (a resource of the app, shared by every session)."""
    return Scheduler(
        max_trainings=MAX_TRAININGS,
        max_tasks=MAX_TASKS,
        training_limit_s=TRAINING_LIMIT_S,
        orphan_after_s=ORPHAN_S,
    )


def owner() -> Owner:
    """This session's work owner (kept across a refresh): its work ends with the session."""
    held = get(WORK_OWNER)
    if held is None:
        held = Owner()
        put({WORK_OWNER: held})
    return held


def busy() -> bool:
    """This session has a training or a task queued or running."""
    return bool(sessions.running_work({JOB: get(JOB), TASKS: get(TASKS)}))


def heartbeat() -> None:
    """At the top of every run: this session is alive. While it has work in the background, a
    fragment repeats that every HEARTBEAT_S s (on any page), and reruns the app once when a
    training has ended, so its model is put in use and said so wherever the user is."""
    owner().touch()
    if not busy():
        return

    @st.fragment(run_every=HEARTBEAT_S)
    def beat() -> None:
        owner().touch()
        j = job()
        if j is not None and not get(JOB_COLLECTED) and not training():
            st.rerun()

    beat()


# ---------------------------------------------------------------- training


def job() -> TrainingJob | None:
    return get(JOB)


def training() -> bool:
    """This session has a training run queued or going."""
    j = job()
    return j is not None and j.snapshot().status in RUNNING


def start_training(cfg: Config, prep: data.Prepared | Panel) -> str | None:
    """Start this session's training in the background (a panel: one model over every series);
    returns why not (e.g. too short)."""
    if training():
        return "a training run is already going; cancel it first"
    try:
        check_trainable(cfg, prep)
    except LstmCoreError as e:
        return str(e)
    put({JOB: scheduler().train(cfg, prep, owner=owner()), JOB_COLLECTED: False})
    return None


def limits_text() -> str:
    """The server's rules for trainings, in a sentence for the Train page."""
    return (
        f"This server runs {MAX_TRAININGS} trainings at once and stops one after "
        f"{duration(TRAINING_LIMIT_S)}, keeping its best weights so far. Closing this tab "
        f"cancels your training within {duration(ORPHAN_S)}."
    )


def collect_training() -> None:
    """Apply a finished run once, on whatever page the user is: its model goes into use, or the
    reason the previous model is kept is noted for the next page drawn."""
    j = job()
    if j is None or get(JOB_COLLECTED) or training():
        return
    put({JOB_COLLECTED: True})
    snap = j.snapshot()
    if j.result is not None:
        name = f"trained at {time.strftime('%H:%M:%S')} on {get(DATA_NAME)}"
        actions.set_forecaster(j.result, name)
        every = f"{j.result.holds}; " if j.result.holds else ""
        limit = f" Training {training_text(snap)}." if snap.timed_out else ""
        notify("success", f"The new model is in use ({every}{j.result.history_.message}).{limit}")
        return
    kept = get(MODEL_NAME)
    keeping = f"the previous model ({kept}) is still in use." if kept else "no model is in use."
    if snap.timed_out:
        notify("warning", f"Training {training_text(snap)}; {keeping}")
    elif snap.cancelling:
        notify(
            "warning",
            f"Training was cancelled before its first epoch ended, so there is no new model; "
            f"{keeping}",
        )
    else:
        notify("error", f"Training failed: {snap.error}. {keeping[0].upper()}{keeping[1:]}")


# ---------------------------------------------------------------- tasks


def _limited(fn: Callable[[Callable[[float, str], None]], T]) -> Callable[..., T]:
    """``fn`` whose progress reports also stop it once it has run TASK_LIMIT_S."""
    start = time.monotonic()

    def run(report: Callable[[float, str], None]) -> T:
        def checked(fraction: float, text: str) -> None:
            if time.monotonic() - start > TASK_LIMIT_S:
                raise TaskTooLong(f"stopped at the time limit ({duration(TASK_LIMIT_S)})")
            report(fraction, text)

        return fn(checked)

    return run


def task(
    slot: str,
    key: Any,
    fn: Callable[[Callable[[float, str], None]], T],
    label: str,
    restart: bool = False,
) -> Task:
    """This session's task in ``slot`` for ``key``: the one already started for that key (even
    if cancelled), unless ``restart``; else a new one, and the slot's older task is cancelled."""
    tasks = dict(get(TASKS) or {})
    held = tasks.get(slot)
    if held is not None and held.key == key and not restart:
        return held.task
    if held is not None:
        held.task.cancel()
    tasks[slot] = HeldTask(key, scheduler().run(_limited(fn), label, owner=owner()))
    put({TASKS: tasks})
    return tasks[slot].task


def current(slot: str, key: Any = None) -> Task | None:
    """The task held in ``slot`` (for ``key`` when given), if any."""
    held = (get(TASKS) or {}).get(slot)
    if held is None or (key is not None and held.key != key):
        return None
    return held.task


def cancel(slot: str, why: str = "cancelled") -> None:
    """Cancel the slot's task; ``why`` is what the page says about it afterwards."""
    tasks = dict(get(TASKS) or {})
    if slot in tasks:
        tasks[slot].task.cancel()
        tasks[slot] = replace(tasks[slot], why=why)
        put({TASKS: tasks})


def trace_task(fc: Forecaster, prep: data.Prepared, restart: bool = False) -> Task:
    """The whole-series trace of the model in use over the data in use, in the background."""

    def fn(report: Callable[[float, str], None]):
        return interpret.trace(
            fc,
            prep,
            on_chunk=lambda done, total: report(
                done / max(total, 1), f"{done:,} of {total:,} windows"
            ),
        )

    key = (data_key(), get(MODEL_TOKEN))
    return task("trace", key, fn, "running the model over every window", restart)


def explainer_task(fc: Forecaster, prep: data.Prepared, start: bool = False) -> Task | None:
    """The explanation model of the model in use on the data in use (``share.fit_explanation``)
    with its whole-series trace, as (Forecaster, Trace): the one held, or a new one if ``start``."""
    key = (data_key(), get(MODEL_TOKEN))
    if not start:
        return current("explainer", key)
    epochs = fc.config_.training.epochs

    def fn(report: Callable[[float, str], None]):
        def on_epoch(epoch: int, train_loss: float, val_loss: float) -> None:
            report(0.9 * epoch / epochs, f"epoch {epoch} of at most {epochs}")

        ex = share.fit_explanation(fc, prep, on_epoch=on_epoch)
        report(0.9, "running it over every window")
        return ex, interpret.trace(ex, prep)

    return task("explainer", key, fn, "training an explanation model", restart=True)


def explainer() -> tuple[Forecaster, interpret.Trace] | None:
    """The finished explanation model (and its trace) of the model and data in use, if any."""
    return finished(current("explainer", (data_key(), get(MODEL_TOKEN))))


def finished(t: Task | None) -> Any:
    """A task's result once it is done, else None."""
    return t.result if t is not None and t.status == "done" else None


def start_detection(
    fc: Forecaster, prep: data.Prepared, known_text: str, own_gate: bool = False, **options: Any
) -> str | None:
    """Start change point detection in the background (a running one for this session is
    cancelled); returns why not (bad known points). The gate is a small detection model's,
    trained for the series (the validated default), or with ``own_gate`` the model in use's,
    from its finished trace if any. Known points are typed in the file's own rows; they are
    scored in the series' (re-gridded) rows."""
    try:
        known = prep.grid_rows(changepoints.parse_rows(known_text))
    except LstmCoreError as e:
        return str(e)
    tokens = (data_key(), get(MODEL_TOKEN))
    trace = finished(current("trace", tokens))  # no second pass over the series
    if own_gate and options.get("features") is None:  # asked for: its gate is read
        options = {**options, "features": "combined"}
    key = (*tokens, own_gate, tuple(sorted(options.items())), tuple(known))
    # the model in use's gate, or a detection model: the one this series' last detection
    # trained, if any, is read again rather than trained twice
    model = {"forecaster": fc, "trace": trace} if own_gate else {"reuse": last_detection(tokens)}

    def fn(report: Callable[[float, str], None]):
        report(0.0, "segmenting the series")
        return changepoints.detect(
            prep, known=known or None, on_progress=report, **model, **options
        )

    task("detection", key, fn, "detecting change points", restart=True)
    put({DETECTION: DetectionRequest(*tokens, tuple(known))})
    return None


def last_detection(tokens: tuple) -> changepoints.Detection | None:
    """This session's last finished detection, if it was of the same data and model."""
    held = (get(TASKS) or {}).get("detection")
    return finished(held.task) if held is not None and held.key[:2] == tokens else None


@dataclass(frozen=True)
class DetectionRun:
    """This session's detection task and the known rows it scores."""

    task: Task
    known: list[int]  # in the series' (grid) rows


def detection() -> DetectionRun | None:
    """This session's detection for the data and model in use, with the known rows it scored."""
    held = get(DETECTION)
    if held is None or (held.data_token, held.model_token) != (data_key(), get(MODEL_TOKEN)):
        return None
    t = current("detection")
    return None if t is None else DetectionRun(t, list(held.known))


def status_text(t: Task, doing: str) -> str:
    """``doing`` with the task's own progress text, time so far and time left."""
    text = t.progress[1]
    eta = f", about {duration(t.eta)} left" if t.eta else ""
    waiting = "waiting for a free slot; " if t.status == "queued" else ""
    return f"{doing}: {waiting}{text or 'running'} ({duration(t.seconds)}{eta})"


def follow(
    slot: str,
    t: Task | None,
    doing: str,
    draw: Callable[[Any], None],
    again: Callable[[], None] | None = None,
) -> None:
    """Draw ``t`` where it is: progress and Cancel while it runs (redrawn every POLL_S), then
    ``draw(result)``, or why there is none (with a "Run again" button calling ``again``). The
    page reruns once when it ends."""
    polling = t is not None and t.status in RUNNING

    @st.fragment(run_every=POLL_S if polling else None)
    def body() -> None:
        if t is None:
            return
        if t.status in RUNNING and t.seconds > TASK_LIMIT_S:  # one that never reports
            cancel(slot, f"stopped at the time limit ({duration(TASK_LIMIT_S)})")
        if t.status in RUNNING:
            st.progress(t.progress[0], text=status_text(t, doing))
            st.button("Cancel", key=f"{slot}_cancel", on_click=cancel, args=(slot,))
            return
        if polling:
            st.rerun()  # redraw the whole page once, without polling
        if t.status == "cancelled":
            held = (get(TASKS) or {}).get(slot)
            why = (held.why if held is not None else "") or "cancelled"
            st.info(f"{doing}: {why}.", icon=":material/cancel:")
            if again is not None:
                st.button("Run again", key=f"{slot}_again", on_click=again)
        elif t.status == "failed":
            st.error(f"{doing} failed: {t.error}")
        else:
            draw(t.result)

    body()


def duration(seconds: float | None) -> str:
    """A span of time in words: seconds below two minutes, else minutes ("none" for None)."""
    if seconds is None:
        return "none"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def training_text(snap: Progress) -> str:
    """Where a run is, in words: queued, the epoch and batch, validating, cancelling; and how it
    ended: failed, stopped at the time limit, cancelled before its first epoch, finished."""
    if snap.status == "failed":
        return f"failed: {snap.error}"
    if snap.status not in RUNNING:
        return _ended_text(snap)
    if snap.cancelling:
        return "cancelling: finishing the current batch"
    if snap.phase == "queued":
        place = f" (number {snap.queue_position} in the queue)" if snap.queue_position else ""
        return f"waiting for a free training slot{place}; {snap.slots} run at once here"
    if snap.phase == "refitting":
        e, n = snap.refit
        return (
            f"training again on every row for the {n} epochs validation chose: epoch {e}/{n}, "
            f"batch {snap.batch}/{snap.batches or '?'} ({duration(snap.seconds)})"
        )
    epoch = min(snap.epoch + 1, snap.epochs)
    if snap.phase == "validating":
        return f"epoch {epoch}/{snap.epochs}: validating ({duration(snap.seconds)})"
    return (
        f"epoch {epoch}/{snap.epochs}, batch {snap.batch}/{snap.batches or '?'} "
        f"({duration(snap.seconds)})"
    )


def _ended_text(snap: Progress) -> str:
    """How a run that did not fail ended."""
    if snap.timed_out and snap.refit[1]:  # validation had ended: its network is kept
        return (
            f"stopped at this server's time limit ({duration(snap.limit_s)}) while training "
            f"again on every row (epoch {snap.refit[0]} of {snap.refit[1]}); the validated "
            "network is kept"
        )
    if snap.timed_out:
        kept = "the best weights so far are kept" if snap.epoch else "no model came of it"
        return (
            f"stopped at this server's time limit ({duration(snap.limit_s)}) after "
            f"{snap.epoch} epoch(s); {kept}"
        )
    if snap.epoch == 0:
        return "cancelled before the first epoch finished; the previous model is kept"
    return f"finished {snap.epoch} epoch(s) in {duration(snap.seconds)}"
