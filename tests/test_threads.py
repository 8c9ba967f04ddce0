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
