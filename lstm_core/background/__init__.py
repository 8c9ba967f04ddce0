"""Background work for a server: trainings in processes of their own, other slow calls in
threads, both queued behind a few slots and cancellable.

A Streamlit script run that trains inline blocks its own session, so work runs in the
background and pages poll it. One ``Scheduler`` per server process (the app creates it and
holds it; nothing here is module-level state) owns the slots and the queues:

- ``scheduler.train(cfg, prepared) -> TrainingJob``: ``Forecaster(cfg).fit`` (given a
  ``Panel``: ``PanelForecaster(cfg).fit``, one model over every series) in a separate
  process (``background.process``), at a lower CPU priority, with its own torch thread count
  (every core for one training, a fair share for several, updated as trainings start and end)
  and its own random generator. Three trainings in server threads once slowed other sessions'
  page loads from 3 s to 68 s; in processes at a lower priority they cannot starve page
  rendering (benchmarks/load.py). Progress comes back per batch, a cancel stops training
  within one batch, and the model comes back as checkpoint bytes, never as a pickle.
- ``scheduler.run(fn, label) -> Task``: ``fn(report)`` in a thread (detection, whole-series
  traces); ``report(fraction, text)`` gives progress and raises ``Cancelled`` once the task was
  cancelled, so the thread ends at its next report.

Work of an ``Owner`` (one per browser session) is cancelled when the owner is closed (the
session expired), goes unseen for ``orphan_after_s`` (its tab was closed) or is
garbage-collected; a new task of an owner cancels that owner's unfinished task of the same
label (a new detection replaces the old one). ``training_limit_s`` stops a training that runs
too long, as a cancel does (best weights kept).
"""

from __future__ import annotations

from lstm_core.background.scheduler import Owner, Scheduler
from lstm_core.background.tasks import Cancelled, Report, Task
from lstm_core.background.training import Progress, TrainingJob, check_trainable

__all__ = [
    "Cancelled",
    "Owner",
    "Progress",
    "Report",
    "Scheduler",
    "Task",
    "TrainingJob",
    "check_trainable",
]
