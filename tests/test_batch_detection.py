"""Batch change point detection: every series of a panel, serially, on local processes and on
a local Ray of 2 CPUs, with identical results."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from lstm_core import changepoints
from lstm_core.changepoints.batch import detect_panel, synthetic_changes
from lstm_core.cli import main
from lstm_core.panel import read_panel


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    frame, _ = synthetic_changes(5, n=160, seed=1)
    tiny = pd.DataFrame(
        {
            "id": "tiny",
            "time": pd.date_range("2024-01-01", periods=5, freq="h"),
            "value": np.arange(5.0),
        }
    )
    return pd.concat([frame, tiny], ignore_index=True)


@pytest.fixture(scope="module")
def serial(table):
    return detect_panel(read_panel(table, "id"), workers=1)


def as_json(result) -> str:
    return json.dumps(result.to_dict(), sort_keys=True)


def test_each_series_gets_what_detect_gives_it_alone(table, serial):
    """... on the series' columns: a panel trains no detection model unless asked."""
    assert serial.mode == "serial" and serial.ids[-1] == "tiny"
    for sid in serial.ids[:-1]:
        frame = table[table["id"] == sid].drop(columns="id")
        alone = changepoints.detect(frame, time_col="time", columns=["value"], features="raw")
        assert serial.detections[sid].to_dict() == alone.to_dict()
        assert serial.detections[sid].features == "raw" and not serial.detections[sid].notes
    asked = detect_panel(read_panel(table[table["id"] == sid], "id"), features="combined")
    gated = changepoints.detect(frame, time_col="time", columns=["value"])
    assert gated.features == "combined" and asked.detections[sid].to_dict() == gated.to_dict()
    assert "at least 8" in serial.failed["tiny"]  # a bad series does not stop the others
    assert [s["id"] for s in serial.to_dict()["series"]] == list(serial.ids[:-1])
    counts = serial.counts().set_index("id")
    assert counts.loc["tiny", "problem"] and counts.loc["C0002", "rows"] == 160
    table_ = serial.table()
    assert len(table_) == sum(len(d.change_points) for d in serial.detections.values())


def test_local_processes_give_the_serial_result(table, serial):
    parallel = detect_panel(read_panel(table, "id"), workers=2)
    assert parallel.mode == "2 local processes"
    assert as_json(parallel) == as_json(serial)


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray of 2 CPUs for the module (it takes seconds to start)."""
    try:
        import ray
    except ImportError:
        why = "ray is not installed (pip install -r requirements-dev.txt installs it)"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)
    from lstm_core.changepoints.batch import init_ray

    # Ray starts its workers at nice 15: on a machine other jobs keep busy they wait their
    # turn (imports 30-40 s instead of 5 s), so the test's workers run at the usual priority
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_worker_niceness", "0")  # read by the raylet ray.init starts
        init_ray(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


def test_a_ray_cluster_gives_the_serial_result(local_ray, table, serial):
    on_ray = detect_panel(read_panel(table, "id"), ray_address="auto")
    assert on_ray.mode == "ray (2 CPUs)"
    assert as_json(on_ray) == as_json(serial)


def test_the_cli_detects_every_series(table, tmp_path, capsys):
    path = tmp_path / "panel.csv"
    table.to_csv(path, index=False)
    assert main(["detect", str(path), "--id-col", "id", "--workers", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in out["series"]] == [f"C{i:04d}" for i in range(5)]
    assert set(out["failed"]) == {"tiny"}
    assert main(["detect", str(path), "--id-col", "id", "--workers", "1"]) == 0
    assert "change points in 5 series (serial" in capsys.readouterr().out
    assert main(["detect", str(path), "--id-col", "id", "--known", "40"]) == 2
    assert "--known applies to one series" in capsys.readouterr().err
    assert main(["detect", str(path), "--ray", "auto"]) == 2
    assert "give --id-col or --wide" in capsys.readouterr().err
