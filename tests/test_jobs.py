"""Background training: it finishes, reports progress, cancels cleanly and reports failures."""

from __future__ import annotations

import time

from lstm_core.data import prepare
from lstm_core.jobs import TrainingJob


def test_job_trains_and_reports_progress(series, tiny_cfg):
    job = TrainingJob.start(tiny_cfg, prepare(series, tiny_cfg.data))
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "done" and snap.fraction == 1.0 and snap.error is None
    assert len(snap.train_loss) == len(snap.val_loss) == snap.epoch == 2
    assert job.result is not None and job.result.history_.stopped == "completed"


def test_cancel_stops_within_a_batch_and_keeps_the_best_weights(series, tiny_cfg):
    cfg = tiny_cfg.replace(training={"epochs": 500, "patience": 500, "batch_size": 8})
    job = TrainingJob.start(cfg, prepare(series, cfg.data))
    deadline = time.monotonic() + 30
    while job.snapshot().epoch < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.cancel()
    assert job.snapshot().cancelling
    assert job.wait(30)
    h = job.result.history_
    assert h.stopped == "cancelled" and 1 <= len(h.train_loss) < 500 and h.best_epoch >= 1
    assert job.result.predict(series).shape[0] == cfg.data.horizon


def test_failure_is_reported_in_words(series, tiny_cfg):
    cfg = tiny_cfg.replace(data={"lookback": 390})
    job = TrainingJob.start(cfg, prepare(series, cfg.data))
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.status == "failed" and "lookback" in snap.error and job.result is None
    assert snap.text.startswith("training failed:")


def test_task_reports_result_or_failure():
    from lstm_core.errors import DataError
    from lstm_core.jobs import Task

    ok = Task.start(lambda: 41 + 1)
    assert ok.wait(10) and ok.status == "done" and ok.result == 42 and ok.seconds >= 0

    def bad():
        raise DataError("no rows")

    failed = Task.start(bad)
    assert failed.wait(10) and failed.status == "failed" and failed.error == "no rows"
    crashed = Task.start(lambda: 1 / 0)
    assert crashed.wait(10) and crashed.error.startswith("ZeroDivisionError")


def test_jobs_beyond_the_limit_wait_for_a_slot_and_can_be_cancelled_while_waiting(
    series, tiny_cfg
):
    from lstm_core.jobs import MAX_CONCURRENT

    slow = tiny_cfg.replace(training={"epochs": 500, "patience": 500, "batch_size": 8})
    prep = prepare(series, slow.data)
    busy = [TrainingJob.start(slow, prep) for _ in range(MAX_CONCURRENT)]
    waiting = TrainingJob.start(slow, prep)
    try:
        time.sleep(0.5)
        snap = waiting.snapshot()
        assert snap.queued and snap.status == "running" and "free training slot" in snap.text
        waiting.cancel()
        assert waiting.wait(5)
        assert waiting.snapshot().status == "failed" and waiting.result is None
    finally:
        for job in busy:
            job.cancel()
        for job in busy:
            assert job.wait(30)
    after = TrainingJob.start(tiny_cfg, prep)  # the slots were given back
    assert after.wait(60) and after.snapshot().status == "done"


def test_tasks_beyond_the_limit_wait_their_turn():
    import threading

    from lstm_core.jobs import MAX_CONCURRENT_TASKS, Task

    release = threading.Event()
    lock = threading.Lock()
    running, peak = [0], [0]

    def slow():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1
        return 1

    tasks = [Task.start(slow) for _ in range(MAX_CONCURRENT_TASKS + 2)]
    time.sleep(0.3)
    assert peak[0] == MAX_CONCURRENT_TASKS
    assert all(t.status == "running" for t in tasks)
    release.set()
    assert all(t.wait(10) for t in tasks) and all(t.result == 1 for t in tasks)
    assert peak[0] == MAX_CONCURRENT_TASKS
