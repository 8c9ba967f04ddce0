"""Shared fixtures: a seeded series, a tiny config, and a model fitted on them; hypothesis
profiles (HYPOTHESIS_PROFILE=ci, the default: few examples, the same every run; fuzz: many,
random, what `make fuzz` runs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz", max_examples=3000, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# every AppTest opens a new session from this one address; the per-client limit on new
# sessions is tested on its own (tests/test_sessions.py)
os.environ.setdefault("STUDIO_NEW_SESSIONS_PER_CLIENT", "100000")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lstm_core.config import Config  # noqa: E402
from lstm_core.data import synthetic  # noqa: E402
from lstm_core.forecaster import Forecaster  # noqa: E402


@pytest.fixture(scope="session")
def series():
    df, _ = synthetic(n=400, seed=1)
    return df


@pytest.fixture(scope="session")
def tiny_cfg() -> Config:
    return Config().replace(
        data={"time_col": "time", "targets": ["y"], "covariates": ["x1", "x2"], "lookback": 16,
              "horizon": 4},
        lstm={"hidden_size": 4, "num_layers": 1, "dropout": 0.0},
        training={"epochs": 2, "batch_size": 32},
    )


@pytest.fixture(scope="session")
def fitted(series, tiny_cfg) -> Forecaster:
    return Forecaster(tiny_cfg).fit(series)
