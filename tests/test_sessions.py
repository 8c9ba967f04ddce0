"""Sessions belong to their browser and work to its session: the store (browser keys, eviction
by inactivity, never while work runs, new sessions per client), and the scheduler's owners
(a closed or orphaned session's training stops; trainings stop at their time limit)."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from lstm_core.background import Owner, Progress, Scheduler
from lstm_core.data.prepare import prepare
from ui import background, sessions
from ui.keys import HeldTask
from ui import state as ui

A, B = sessions.key_hash("browser-a"), sessions.key_hash("browser-b")
SLOW = {"epochs": 3000, "patience": 3000, "batch_size": 8}


@pytest.fixture
def blocked():
    """A scheduler and a task that runs until released: work that is really running."""
    release = threading.Event()
    scheduler = Scheduler(max_tasks=1)
    task = scheduler.run(lambda report: release.wait(60) or report(1.0, "done"), "busy")
    yield scheduler, task
    release.set()


def test_only_the_browser_that_holds_the_key_gets_its_session_back():
    store = sessions.SessionStore()
    store.save("s1", A, {"x": 1}, now=0)
    assert store.load("s1", A, now=1) == {"x": 1}
    assert store.load("s1", B, now=1) is None
    store.save("s1", B, {"x": "taken"}, now=2)  # another browser cannot overwrite it either
    assert store.load("s1", A, now=3) == {"x": 1}


def test_idle_sessions_expire_and_the_least_recently_seen_go_first_beyond_the_cap():
    store = sessions.SessionStore(idle_limit_s=10, max_sessions=2)
    store.save("a", A, {"x": 1}, now=0)
    store.save("b", A, {"x": 2}, now=5)
    assert store.load("a", A, now=9) == {"x": 1}
    assert store.load("a", A, now=11) is None and store.load("b", A, now=11) == {"x": 2}
    store.save("c", A, {}, now=12)
    store.touch("b", A, now=12.5)  # b was seen after c: c is now the least recently seen
    store.save("d", A, {}, now=13)
    assert len(store) == 2 and store.load("c", A, now=13) is None
    assert store.load("b", A, now=13) == {"x": 2}


def test_seventy_new_sessions_do_not_evict_a_session_with_running_work(blocked):
    _, task = blocked
    store = sessions.SessionStore(idle_limit_s=60, max_sessions=64)
    store.save("busy", A, {ui.TASKS: {"detection": HeldTask("key", task)}}, now=0)
    for i in range(70):
        store.save(f"new{i}", B, {}, now=1 + i)
    assert store.load("busy", A, now=100) is not None, "running work keeps its session"
    assert task.status == "running"
    assert store.load("new0", B, now=100) is None, "the oldest idle ones went instead"
    # idle past the limit, still not dropped while the work runs
    assert store.load("busy", A, now=10_000) is not None


def test_dropping_a_session_cancels_its_work(blocked):
    task = blocked[1]
    owner = Owner()
    store = sessions.SessionStore(idle_limit_s=10, busy=lambda values: False)
    store.save("gone", A, {ui.TASKS: {"trace": HeldTask("key", task)}, ui.WORK_OWNER: owner}, now=0)
    assert store.load("gone", A, now=20) is None
    assert task.status == "cancelled" and owner.closed


def test_new_sessions_are_limited_per_client():
    store = sessions.SessionStore(new_per_client=3, new_window_s=60)
    assert [store.admit("1.2.3.4", now=t) for t in range(4)] == [True, True, True, False]
    assert store.admit("5.6.7.8", now=4), "another client is not held back"
    assert store.admit("1.2.3.4", now=61), "the window moves on"


def test_a_closed_sessions_training_stops(series, tiny_cfg):
    """The owner of a 3,000-epoch training closes (its session expired or its tab went):
    the training stops at the next reap, keeping the best weights so far."""
    scheduler = Scheduler(cores=1)
    owner = Owner()
    cfg = tiny_cfg.replace(training={**SLOW, "start_margin": 0.0})
    job = scheduler.train(cfg, prepare(series, cfg.data), owner=owner)
    assert job.wait_for(lambda snap: snap.epoch >= 1, 60)  # the first epoch's end
    assert scheduler.reap() == 0, "a live owner's work runs on"
    owner.close()
    assert scheduler.reap() == 1
    assert job.wait(60)
    assert job.snapshot().epoch < 3000 and job.result.history_.stopped == "cancelled"


def test_an_orphaned_sessions_queued_and_running_work_is_cancelled(series, tiny_cfg):
    """No run or heartbeat for ``orphan_after_s`` (the tab was closed): both its running and
    its queued trainings end; another owner's work is untouched."""
    scheduler = Scheduler(max_trainings=1, cores=1, orphan_after_s=300)
    gone, other = Owner(), Owner()
    cfg = tiny_cfg.replace(training=SLOW)
    data = prepare(series, cfg.data)
    running = scheduler.train(cfg, data, owner=gone)
    queued = scheduler.train(cfg, data, owner=gone)
    theirs = scheduler.run(lambda report: None, "other", owner=other)
    other.touch(now=gone.last_seen + 1000)
    assert scheduler.reap(now=gone.last_seen + 299) == 0
    assert scheduler.reap(now=gone.last_seen + 301) == 2
    assert running.wait(60) and queued.wait(60)
    assert "cancelled while waiting" in queued.snapshot().error
    assert theirs.wait(10) and theirs.status == "done"


def test_a_training_stops_at_the_servers_time_limit(series, tiny_cfg):
    scheduler = Scheduler(cores=1, training_limit_s=1.0)
    cfg = tiny_cfg.replace(training={**SLOW, "start_margin": 0.0})
    job = scheduler.train(cfg, prepare(series, cfg.data))
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.timed_out and snap.limit_s == 1.0 and snap.epoch < 3000
    assert background.training_text(snap).startswith(
        f"stopped at this server's time limit (1 s) after {snap.epoch} epoch(s); "
    )


def test_training_text_says_how_a_run_ended():
    """The app's one progress text (the engine gives numbers) for each way a run ends."""
    run = Progress("done", 4, 10, 0, 40, (1.0,) * 4, (1.0,) * 4, 95.0, False, None)
    assert background.training_text(run) == "finished 4 epoch(s) in 95 s"
    assert background.training_text(replace(run, epoch=0, cancelling=True)) == (
        "cancelled before the first epoch finished; the previous model is kept"
    )
    stopped = replace(run, timed_out=True, limit_s=1800.0)
    assert background.training_text(stopped) == (
        "stopped at this server's time limit (30 min) after 4 epoch(s); the best weights so "
        "far are kept"
    )
    assert background.training_text(replace(stopped, epoch=0)).endswith("no model came of it")
    failed = replace(run, status="failed", error="out of memory")
    assert background.training_text(failed) == "failed: out of memory"
