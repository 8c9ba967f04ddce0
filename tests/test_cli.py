"""CLI: train/forecast/backtest end to end; user mistakes exit 2 with one `error:` line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from lstm_core import checkpoint
from lstm_core.cli import main
from lstm_core.data import read_table
from tests.conftest import ROOT

FAST = ["--epochs", "1"]


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory, series):
    p = tmp_path_factory.mktemp("cli") / "s.csv"
    series.to_csv(p, index=False)
    return p


@pytest.fixture(scope="module")
def yaml_path(tmp_path_factory, tiny_cfg):
    p = tmp_path_factory.mktemp("cfg") / "c.yaml"
    p.write_text(tiny_cfg.to_yaml())
    return p


def test_train_then_forecast(csv_path, yaml_path, series, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", str(csv_path), "--config", str(yaml_path), *FAST, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "validation loss" in text and "windows/s" in text and "CPU" in text
    assert main(["forecast", str(csv_path), "--checkpoint", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and {"time", "target", "q0.1", "q0.5", "q0.9"} <= set(rows[0])
    assert pd.Timestamp(rows[0]["time"]) > pd.Timestamp(series["time"].iloc[-1])
    csv = tmp_path / "f.csv"
    assert main(["forecast", str(csv_path), "--checkpoint", str(out), "--csv", str(csv)]) == 0
    assert csv.read_text().startswith("time,target,q0.1,q0.5,q0.9")
    # one CSV writer: the file is the app's download of the same forecast
    from lstm_core.text import forecast_csv

    model = checkpoint.load(out)
    forecast = model.predict(read_table(csv_path))
    assert csv.read_text() == forecast_csv(forecast, model.config_.data.frequency)


def test_forecast_json_keeps_the_time_column_type(series, tiny_cfg, tmp_path, capsys):
    """Timestamps come out as text (not epoch milliseconds); whole steps stay numbers."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(tiny_cfg.replace(data={"time_col": None, "covariates": []}).to_yaml())
    steps = tmp_path / "steps.csv"
    series[["y"]].to_csv(steps, index=False)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(steps), "--config", str(cfg), *FAST, "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["forecast", str(steps), "--checkpoint", str(model), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["time"] for r in rows] == [400, 401, 402, 403]


def test_train_warns_when_the_lookback_leaves_few_training_windows(series, tiny_cfg, tmp_path,
                                                                  capsys):
    data, cfg = tmp_path / "short.csv", tmp_path / "c.yaml"
    series.iloc[:60].to_csv(data, index=False)  # 29 training windows for lookback 16
    cfg.write_text(tiny_cfg.to_yaml())
    out = tmp_path / "m.safetensors"
    assert main(["train", str(data), "--config", str(cfg), *FAST, "--out", str(out)]) == 0
    assert "warning: only 29 training windows for a lookback of 16 steps" in capsys.readouterr().out
    assert main(["train", str(data), "--config", str(cfg), *FAST, "--lookback", "15",
                 "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().out


def test_backtest_json(csv_path, yaml_path, capsys):
    assert main(["backtest", str(csv_path), "--config", str(yaml_path), *FAST, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["metrics"]) - {"linear at the model's lookback"} == {
        "AttentiveLSTM", "naive (last value)", "seasonal naive (m=24)", "linear (NLinear ridge)"}
    assert ("linear at the model's lookback" in result["metrics"]) == (
        result["linear_lookback"] != 16)
    assert isinstance(result["beats_baselines"], bool) and result["verdict"]
    assert result["best_baseline"] in result["metrics"]
    # schema 2: the earlier name stays for older scripts, always equal to the new one
    assert result["schema"] == 2 and result["beats_naive"] == result["beats_baselines"]


def test_backtest_scores_a_checkpoint_without_training(csv_path, yaml_path, tmp_path, capsys):
    from lstm_core import checkpoint

    out = tmp_path / "m.safetensors"
    assert main(["train", str(csv_path), "--config", str(yaml_path), *FAST, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["backtest", str(csv_path), "--checkpoint", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    expected = checkpoint.load(out).backtest(read_table(csv_path))  # as the CLI reads it
    got = pd.DataFrame.from_dict(result["metrics"], orient="index")
    # the JSON keeps 15 significant digits under pandas 2 (17 under pandas 3)
    pd.testing.assert_frame_equal(got, expected.table, check_exact=False, rtol=1e-13)
    assert result["verdict"] == expected.verdict
    assert result["scored_on"] == "test" and result["linear_lookback"] == expected.linear_lookback
    assert main(["backtest", str(csv_path), "--checkpoint", str(out), "--epochs", "3"]) == 2
    assert "--epochs cannot change a saved model" in capsys.readouterr().err
    assert main(["backtest", str(csv_path), "--checkpoint", str(out), "--lookback", "8"]) == 2
    assert "--lookback cannot change a saved model" in capsys.readouterr().err


def test_backtest_reads_the_sheet_asked_for(monkeypatch, capsys):
    from lstm_core import cli

    asked = []

    def read_data(spec, sheet=None):
        asked.append(sheet)
        raise cli.UsageError("stop here")

    monkeypatch.setattr(cli, "read_data", read_data)
    assert main(["backtest", "book.xlsx", "--sheet", "data"]) == 2
    assert asked == ["data"] and "stop here" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "missing.csv"], "not found"),
        (["train", "demo:regimes", "--epochs", "0"], "training.epochs"),
        (["train", "demo:regimes", "--target", "nope"], "column 'nope' not found"),
        (["forecast", "demo:regimes", "--checkpoint", "missing.safetensors"], "cannot read"),
        (["train", "demo:nope"], "unknown demo"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_mistakes_exit_2_with_one_error_line(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and words in err[0]


def test_broken_yaml_and_text_in_numbers(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lstm: [1\n")
    data = tmp_path / "d.csv"
    data.write_text("v\n1\n2\nx\n4\n")
    assert main(["train", str(data), "--config", str(bad)]) == 2
    assert "invalid YAML" in capsys.readouterr().err
    assert main(["train", str(data)]) == 2
    assert "text where numbers are expected" in capsys.readouterr().err


def test_module_entry_point_exit_code_without_traceback():
    r = subprocess.run([sys.executable, "-m", "lstm_core", "train", "nope.csv"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr


# ---------------------------------------------------------------- issue 10


def test_train_takes_lookback_and_horizon(csv_path, yaml_path, tmp_path, capsys):
    out = tmp_path / "lh"
    assert main(["train", str(csv_path), "--config", str(yaml_path), *FAST, "--lookback", "10",
                 "--horizon", "3", "--out", str(out)]) == 0
    fc = checkpoint.load(tmp_path / "lh.safetensors")
    assert (fc.config_.data.lookback, fc.config_.data.horizon) == (10, 3)
    assert main(["train", str(csv_path), "--lookback", "1"]) == 2
    assert "data.lookback: 1 is not allowed" in capsys.readouterr().err


def test_forecast_csv_says_what_it_wrote(csv_path, tmp_path, capsys, fitted):
    ck = checkpoint.save(fitted, "f", tmp_path)
    target = tmp_path / "sub" / "f.csv"
    assert main(["forecast", str(csv_path), "--checkpoint", str(ck), "--csv", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote 4 rows to {target}\n"
    assert len(pd.read_csv(target)) == 4
    assert main(["forecast", str(csv_path), "--checkpoint", str(ck), "--csv", str(target),
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 4 and err == f"wrote 4 rows to {target}\n"


def test_unwritable_outputs_are_refused_before_any_work(csv_path, tmp_path, capsys, monkeypatch):
    from lstm_core import cli

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    monkeypatch.setattr(cli.Forecaster, "fit", no_work)
    monkeypatch.setattr(cli.checkpoint, "load", no_work)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", str(csv_path), "--out", str(blocker / "m")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["forecast", str(csv_path), "--checkpoint", "x", "--csv", str(tmp_path)]) == 2
    assert "is a folder or device" in capsys.readouterr().err
    assert main(["forecast", str(csv_path), "--checkpoint", "x", "--csv",
                 str(blocker / "f.csv")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_disk_full_while_saving_is_one_error_line(csv_path, yaml_path, tmp_path, capsys,
                                                  monkeypatch):
    import errno
    import os

    from lstm_core import safeio

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safeio.os, "fsync", full)
    assert main(["train", str(csv_path), "--config", str(yaml_path), *FAST, "--out",
                 str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: cannot write checkpoint {tmp_path / 'm.safetensors'}: No space left on device"
    ]


def test_an_unexpected_failure_is_one_line_not_a_traceback(capsys, monkeypatch):
    from lstm_core import cli

    def bug(spec, sheet=None):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "read_data", bug)
    monkeypatch.delenv("LSTM_CORE_TRACEBACK", raising=False)
    assert main(["train", "demo:nile"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: unexpected ZeroDivisionError: division by zero (a bug")


def test_error_lines_are_one_line_of_at_most_300_characters(capsys):
    assert main(["train", "x" * 5000 + ".csv"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: data file xxx") and len(line) <= 300


def test_a_workbook_of_several_sheets_gets_a_note(tmp_path, capsys):
    from lstm_core.cli import read_data

    p = tmp_path / "w.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame().to_excel(w, sheet_name="cover")
        pd.DataFrame({"v": [1.0, 2.0]}).to_excel(w, sheet_name="data", index=False)
    df, _ = read_data(str(p))
    assert df["v"].tolist() == [1.0, 2.0]
    assert capsys.readouterr().err == "note: read sheet 'data' of 2; choose one with --sheet NAME\n"


def test_threads_option(csv_path, yaml_path, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    args = ["train", str(csv_path), "--config", str(yaml_path), *FAST, "--out", str(out)]
    assert main([*args, "--threads", "1"]) == 0
    assert "CPU (1 threads)" in capsys.readouterr().out
    assert main([*args, "--threads", "0"]) == 2
    assert "--threads must be from 1 to 1024" in capsys.readouterr().err


def test_without_a_config_the_settings_are_chosen_from_the_data(series, tmp_path, capsys):
    """The app's choice (defaults.choose) under the flags given, with its reasons on stderr."""
    from lstm_core import defaults
    from lstm_core.config import Config
    from lstm_core.data import prepare

    data = tmp_path / "y.csv"
    series[["time", "y"]].to_csv(data, index=False)  # 400 hourly rows
    out = tmp_path / "m.safetensors"
    args = ["train", str(data), "--horizon", "4", "--epochs", "1", "--out", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err
    cfg = Config().replace(data={"horizon": 4})
    choice = defaults.for_data(prepare(series[["time", "y"]], cfg.data), cfg)
    assert "settings chosen from the data" in err and choice.reasons[0] in err
    assert choice.reasons[2] not in err  # --epochs was given
    saved = checkpoint.load(out).config_
    assert (saved.data.lookback, saved.lstm.patch_len) == (choice.lookback, choice.patch_len)
    assert (saved.training.epochs, saved.training.patience) == (1, choice.patience)
    assert main([*args, "--lookback", "24"]) == 0  # a lookback given: the patch follows it
    saved = checkpoint.load(out).config_
    assert (saved.data.lookback, saved.lstm.patch_len) == (24, 1)
