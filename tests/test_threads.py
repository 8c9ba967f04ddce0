"""Per-thread CPU thread limits: one thread's limit never reaches another thread."""

from __future__ import annotations

import threading

import pytest
import torch

from lstm_core import threads


def test_limit_is_per_thread_and_restored():
    before = torch.get_num_threads()
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def limited():
        with threads.limit(1):
            seen["limited"] = torch.get_num_threads()
            inside.set()
            release.wait(10)
        seen["after"] = torch.get_num_threads()

    t = threading.Thread(target=limited)
    t.start()
    assert inside.wait(10)
    seen["other"] = torch.get_num_threads()  # this thread, while the other one is limited
    release.set()
    t.join(10)
    if threads._omp_set_num_threads is None:
        pytest.skip("this torch build has no OpenMP runtime; limit() changes nothing")
    assert seen == {"limited": 1, "after": before, "other": before}


def test_budget_shares_the_cores():
    assert threads.budget(1, 16) == 16 and threads.budget(2, 16) == 8
    assert threads.budget(3, 2) == 1 and threads.budget(0, 4) == 4
    assert threads.cores() >= 1


def test_free_cores_leave_out_the_load(monkeypatch):
    monkeypatch.setattr(threads, "load", lambda: 1.4)
    assert threads.free_cores(4) == 3  # 1.4 busy cores round to 1
    assert threads.free_cores(4, own=1.0) == 4  # our own work is not someone else's load
    monkeypatch.setattr(threads, "load", lambda: 7.0)
    assert threads.free_cores(2) == 1  # a busy machine still gets one thread
    monkeypatch.setattr(threads, "load", lambda: 0.0)
    assert threads.free_cores(2) == 2


def test_for_training_takes_a_request_or_the_free_cores(monkeypatch):
    assert threads.for_training(3) == 3
    monkeypatch.setattr(threads, "free_cores", lambda total=None, own=0.0: 1)
    assert threads.for_training() == 1
    monkeypatch.setattr(threads, "free_cores", lambda total=None, own=0.0: 10_000)
    assert threads.for_training() == torch.get_num_threads()  # never above the process's count


@pytest.mark.parametrize("requested", [None, 1])
def test_training_runs_on_the_chosen_threads(monkeypatch, series, tiny_cfg, requested):
    from lstm_core.forecaster import Forecaster

    if threads._omp_set_num_threads is None:
        pytest.skip("this torch build has no OpenMP runtime; limit() changes nothing")
    monkeypatch.setattr(threads, "free_cores", lambda total=None, own=0.0: 1)  # a busy machine
    before = torch.get_num_threads()
    seen = set()
    cfg = tiny_cfg.replace(training={"threads": requested, "device": "cpu"})
    Forecaster(cfg).fit(series, on_batch=lambda *_: seen.add(torch.get_num_threads()))
    assert seen == {1}
    assert torch.get_num_threads() == before  # the caller's count is back
