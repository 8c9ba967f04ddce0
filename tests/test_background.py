"""Background work: trainings in processes (progress, cancel, slots, thread shares, the same
model as in-process), tasks in threads (progress, cancel, queue, owners)."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time

import numpy as np
import pytest

from lstm_core import threads
from lstm_core.background import Cancelled, Owner, Scheduler
from lstm_core.data.demos import synthetic_panel
from lstm_core.data.prepare import prepare
from lstm_core.forecaster import Forecaster
from lstm_core.panel import read_panel
from lstm_core.panel_forecaster import PanelForecaster

SLOW = {"epochs": 500, "patience": 500, "batch_size": 8}


@pytest.fixture(scope="module")
def scheduler():
    """One scheduler (and one warm process forking the trainings) for these tests."""
    return Scheduler(cores=2)


def until(condition, timeout=60.0):
    """Poll ``condition``: only for the training queue's order, which no event announces (a
    job's progress has ``TrainingJob.wait_for``, a task's steps the test's own events)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_training_process_gives_the_in_process_model(series, tiny_cfg, scheduler):
    """Same config and data: the model that comes back (as checkpoint bytes) is the one an
    in-process fit makes, weight for weight, trained on the cores the scheduler shares that
    other work leaves free (``threads.for_training``: 1 on a busy machine)."""
    job = scheduler.train(tiny_cfg, prepare(series, tiny_cfg.data))
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "done" and snap.phase == "done" and snap.fraction == 1.0
    assert len(snap.train_loss) == len(snap.val_loss) == snap.epoch == 2 and snap.error is None
    # the live curve: the epoch's loss so far, ending at each epoch's own training loss
    at, loss = zip(*snap.batch_loss)
    assert list(at) == sorted(at) and 0 < at[0] <= 1 and at[-1] == 2.0
    assert loss[-1] == pytest.approx(snap.train_loss[-1], rel=1e-6)
    h = job.result.history_
    used = int(h.device.removeprefix("CPU (").split(" ")[0])
    assert h.stopped == "completed" and 1 <= used <= threads.budget(1, scheduler.cores)
    assert job.result.fingerprint() == Forecaster(tiny_cfg).fit(series).fingerprint()
    assert scheduler.running() == (0, 0)


def test_cancel_stops_within_a_batch_and_keeps_the_best_weights(series, tiny_cfg, scheduler):
    """(The training process runs at a lower CPU priority than the server.) Margin 0: the
    first epoch's gain over the start, however small, makes it the best weights to keep."""
    cfg = tiny_cfg.replace(training={**SLOW, "start_margin": 0.0})
    job = scheduler.train(cfg, prepare(series, cfg.data))
    assert job.wait_for(lambda snap: snap.epoch >= 1, 60)
    # below the server's priority: page rendering comes first
    assert os.getpriority(os.PRIO_PROCESS, job._pid) == min(
        19, os.getpriority(os.PRIO_PROCESS, 0) + scheduler.nice
    )
    at_cancel = job.snapshot().epoch
    job.cancel()
    assert job.snapshot().cancelling
    assert job.wait(30)
    snap, h = job.snapshot(), job.result.history_
    # the cancel stopped it: not the epochs or patience (500 each), nor a time limit (none)
    assert h.stopped == "cancelled" and "cancelled" in h.message and not snap.timed_out
    assert at_cancel <= len(h.train_loss) == snap.epoch < 500 and h.best_epoch >= 1
    assert job.result.predict(series).shape[0] == cfg.data.horizon


def test_a_run_cancelled_before_one_epoch_leaves_no_model(series, tiny_cfg, scheduler):
    job = scheduler.train(tiny_cfg.replace(training=SLOW), prepare(series, tiny_cfg.data))
    job.cancel()
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.status == "done" and job.result is None and snap.epoch == 0 and not snap.timed_out


def test_failures_are_reported_in_words(series, tiny_cfg, scheduler):
    too_long = tiny_cfg.replace(data={"lookback": 390})
    job = scheduler.train(too_long, prepare(series, too_long.data))
    assert job.wait(30)  # refused before any process starts
    snap = job.snapshot()
    assert snap.status == "failed" and "lookback" in snap.error and job.result is None
    crashed = scheduler.train(tiny_cfg.replace(training=SLOW), prepare(series, tiny_cfg.data))
    assert crashed.wait_for(lambda snap: snap.batches > 0, 60)
    os.kill(crashed._pid, signal.SIGKILL)  # it dies mid-run (out of memory, killed by the system)
    assert crashed.wait(30)
    assert (
        crashed.snapshot().status == "failed" and "ended unexpectedly" in crashed.snapshot().error
    )


@pytest.fixture(scope="module")
def panel():
    """Three series of different lengths and starts."""
    return read_panel(synthetic_panel(3, length=(90, 130), seed=2).frame, "id")


def test_a_panel_trains_one_global_model_in_a_process(panel, tiny_cfg, scheduler):
    """Given a panel, the process fits a PanelForecaster: live progress and loss per batch, and
    the model back as checkpoint bytes, with its ids, equal to an in-process fit."""
    cfg = tiny_cfg.replace(data={"targets": [], "covariates": []})
    job = scheduler.train(cfg, panel)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "done" and snap.error is None and snap.epoch == 2
    at, loss = zip(*snap.batch_loss)
    assert 0 < at[0] <= 1 and at[-1] == 2.0
    assert loss[-1] == pytest.approx(snap.train_loss[-1], rel=1e-6)
    pf = job.result
    assert isinstance(pf, PanelForecaster) and pf.series_ids == panel.ids
    assert pf.fingerprint() == PanelForecaster(cfg).fit(panel).fingerprint()
    one = pf.for_series(panel.ids[1]).predict(panel.select(panel.ids[1]))
    assert len(one) == cfg.data.horizon


def test_a_panel_training_can_be_cancelled_or_refused_in_words(panel, tiny_cfg, scheduler):
    cfg = tiny_cfg.replace(data={"targets": [], "covariates": []}, training=SLOW)
    job = scheduler.train(cfg, panel)
    assert job.wait_for(lambda snap: snap.epoch >= 1, 60)
    job.cancel()
    assert job.wait(30)
    assert job.result.history_.stopped == "cancelled" and job.result.series_ids == panel.ids
    too_long = cfg.replace(data={"lookback": 200})
    refused = scheduler.train(too_long, panel)
    assert refused.wait(30) and refused._pid is None  # no process for a run that cannot start
    snap = refused.snapshot()
    assert snap.status == "failed" and "none of the panel's 3 series" in snap.error


def test_jobs_beyond_the_slots_queue_in_order_and_can_be_cancelled_there(series, tiny_cfg):
    scheduler = Scheduler(max_trainings=1)
    slow = tiny_cfg.replace(training=SLOW)
    prep = prepare(series, slow.data)
    busy = scheduler.train(slow, prep)
    second, third = scheduler.train(slow, prep), scheduler.train(slow, prep)
    try:
        until(lambda: busy.snapshot().phase != "queued" and third.snapshot().queue_position == 2)
        snap = second.snapshot()
        assert snap.queued and snap.phase == "queued" and snap.queue_position == 1
        assert snap.status == "running" and snap.slots == scheduler.max_trainings
        second.cancel()
        assert second.wait(30) and second.snapshot().status == "failed" and second.result is None
        until(lambda: third.snapshot().queue_position == 1)
        third.cancel()
        assert third.wait(30)
    finally:
        busy.cancel()
        assert busy.wait(30)
    assert scheduler.running() == (0, 0)


def test_concurrent_trainings_share_the_cores_and_stay_reproducible(series, tiny_cfg):
    """Two trainings with dropout at once: each on its share of the cores, each with the
    random generator of its own process, so both give the same model: the same epochs and
    forecasts equal to float rounding (a thread count that changes as the other run starts or
    ends changes the order of a few sums, never a random draw). A third, slow training runs
    all along, so both share the 2 cores whichever ends first."""
    scheduler = Scheduler(max_trainings=3, cores=2)
    blocker = scheduler.train(tiny_cfg.replace(training=SLOW), prepare(series, tiny_cfg.data))
    cfg = tiny_cfg.replace(lstm={"num_layers": 2, "dropout": 0.3}, training={"epochs": 3})
    prep = prepare(series, cfg.data)
    try:
        assert blocker.wait_for(lambda snap: snap.phase != "queued", 60)
        jobs = [scheduler.train(cfg, prep) for _ in range(2)]
        assert all(j.wait(90) for j in jobs)
    finally:
        blocker.cancel()
        assert blocker.wait(30)
    assert [j.snapshot().status for j in jobs] == ["done", "done"]
    a, b = (j.result for j in jobs)
    assert a.history_.best_epoch == b.history_.best_epoch
    np.testing.assert_allclose(a.history_.val_loss, b.history_.val_loss, rtol=1e-4)
    pa, pb = a.predict(prep), b.predict(prep)
    np.testing.assert_allclose(
        pa.select_dtypes("number"), pb.select_dtypes("number"), rtol=1e-4, atol=1e-5
    )
    # two or three trainings ran at once from start to end: each on its share of the 2 cores
    assert {j.result.history_.device for j in jobs} == {"CPU (1 threads)"}


def test_task_reports_result_progress_or_failure():
    from lstm_core.errors import DataError

    scheduler = Scheduler()
    release = threading.Event()

    halfway = threading.Event()

    def work(report):
        report(0.5, "halfway")
        halfway.set()
        release.wait(10)
        return 42

    ok = scheduler.run(work, "work")
    assert halfway.wait(30) and ok.progress == (0.5, "halfway")
    assert ok.status == "running" and ok.eta is not None and ok.eta >= 0
    release.set()
    assert ok.wait(10) and ok.status == "done" and ok.result == 42 and ok.progress[0] == 1.0

    def bad(report):
        raise DataError("no rows")

    failed = scheduler.run(bad)
    assert failed.wait(10) and failed.status == "failed" and failed.error == "no rows"
    crashed = scheduler.run(lambda report: 1 / 0)
    assert crashed.wait(10) and crashed.error.startswith("ZeroDivisionError")


def test_a_cancelled_task_stops_at_its_next_report():
    """No sleeps: the task pauses after step 2 until the cancel is made; its very next report
    raises Cancelled, and the thread ends there."""
    scheduler = Scheduler()
    steps, raised = [], []
    reached, go = threading.Event(), threading.Event()

    def long(report):
        for i in range(1000):
            try:
                report(i / 1000, f"step {i}")
            except Cancelled:
                raised.append(i)
                raise
            steps.append(i)
            if i == 2:
                reached.set()
                go.wait(30)

    task = scheduler.run(long, "long")
    assert reached.wait(30)
    task.cancel()
    go.set()
    assert task.wait(30) and task.status == "cancelled" and task.result is None
    assert steps == [0, 1, 2] and raised == [3], "the first report after the cancel raised"
    assert scheduler.running() == (0, 0)


def test_tasks_beyond_the_slots_wait_their_turn():
    scheduler = Scheduler(max_tasks=2)
    release = threading.Event()
    lock = threading.Lock()
    running, peak = [0], [0]

    entered = threading.Semaphore(0)

    def slow(report):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        entered.release()
        release.wait(10)
        with lock:
            running[0] -= 1
        return 1

    tasks = [scheduler.run(slow) for _ in range(4)]
    assert entered.acquire(timeout=30) and entered.acquire(timeout=30)  # two in their slots
    assert sum(t.status == "running" for t in tasks) == 2
    assert [t.status for t in tasks].count("queued") == 2
    tasks[3].cancel()  # a queued task leaves the queue at once
    assert tasks[3].wait(30) and tasks[3].status == "cancelled"
    release.set()
    assert all(t.wait(10) for t in tasks[:3]) and [t.result for t in tasks[:3]] == [1, 1, 1]
    assert peak[0] == 2


def test_an_owner_replaces_its_task_and_its_end_cancels_its_work():
    """No sleeps: each task reports, then waits for the test's next step and reports again;
    the report after its cancel raises Cancelled, so it never reaches the step after."""
    scheduler = Scheduler()
    replaced, closed = threading.Event(), threading.Event()
    labels = ("detect", "trace", "detect again")
    started, past_replaced = ({label: threading.Event() for label in labels} for _ in range(2))
    passed = []

    def waiting(label):
        def work(report):
            report(0.0, "started")
            started[label].set()
            for step in (replaced, closed):
                step.wait(30)
                report(0.0, "waiting")  # raises Cancelled once this task was cancelled
                passed.append((label, step is replaced))
                if step is replaced:
                    past_replaced[label].set()
        return work

    owner = Owner()
    first = scheduler.run(waiting("detect"), "detect", owner=owner)
    other = scheduler.run(waiting("trace"), "trace", owner=owner)
    assert started["detect"].wait(30) and started["trace"].wait(30)
    second = scheduler.run(waiting("detect again"), "detect", owner=owner)  # replaces the first
    assert started["detect again"].wait(30)
    replaced.set()
    assert first.wait(30) and first.status == "cancelled"
    assert past_replaced["detect again"].wait(30) and past_replaced["trace"].wait(30)
    assert second.status == other.status == "running"
    del owner  # the session closed
    gc.collect()
    closed.set()
    assert second.wait(30) and other.wait(30)
    assert second.status == other.status == "cancelled" and scheduler.running() == (0, 0)
    # the first stopped at its report after the replacement, the others at the one after the close
    assert sorted(passed) == [("detect again", True), ("trace", True)]
    with pytest.raises(TypeError):
        scheduler.run(waiting("detect"), owner=object())  # needs weak references
