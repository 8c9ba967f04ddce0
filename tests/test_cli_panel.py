"""CLI with --id-col/--wide: train one model for a panel, backtest every series, forecast any."""

from __future__ import annotations

import json

import pytest

from lstm_core.cli import main
from lstm_core.data.demos import synthetic_panel
from tests.test_panel_forecaster import TINY


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("panel")
    frame = synthetic_panel(4, length=(90, 120), seed=6).frame
    frame.to_csv(folder / "long.csv", index=False)
    wide = frame.pivot(index="time", columns="id", values="value").reset_index()
    wide.to_csv(folder / "wide.csv", index=False)
    (folder / "tiny.yaml").write_text(TINY.to_yaml())
    return folder


def test_train_backtest_and_forecast_a_long_panel(files, capsys):
    data, cfg, out = files / "long.csv", files / "tiny.yaml", files / "m"
    assert (
        main(["train", str(data), "--id-col", "id", "--config", str(cfg), "--out", str(out)]) == 0
    )
    assert "series: 4 of 4" in capsys.readouterr().out
    model = str(out) + ".safetensors"
    assert main(["backtest", str(data), "--checkpoint", model, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in result["series"]} == {"S0000", "S0001", "S0002", "S0003"}
    assert (
        "AttentiveLSTM" in result["summary"] and "mean MASE" in result["summary"]["AttentiveLSTM"]
    )
    assert result["best_baseline"] in result["summary"] and result["verdict"]
    assert result["schema"] == 2 and isinstance(result["beats_baselines"], bool)
    # the checkpoint knows its id column: --id-col is not needed to forecast
    assert main(["forecast", str(data), "--checkpoint", model, "--series", "S0002", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and {r["id"] for r in rows} == {"S0002"}
    assert main(["backtest", str(data), "--checkpoint", model]) == 0
    assert "mean MASE" in capsys.readouterr().out


def test_a_wide_panel_trains_and_forecasts_every_column(files, capsys):
    data, cfg, out = files / "wide.csv", files / "tiny.yaml", files / "w"
    assert main(["train", str(data), "--wide", "--config", str(cfg), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["forecast", str(data), "--checkpoint", str(out) + ".safetensors", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4 * 4


def test_panel_mistakes_are_one_error_line(files, capsys, fitted, tmp_path):
    from lstm_core import checkpoint

    data = str(files / "long.csv")
    assert main(["train", data, "--id-col", "id", "--wide"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert main(["train", data, "--id-col", "store"]) == 2
    assert "id column 'store' not found" in capsys.readouterr().err
    single = checkpoint.save(fitted, "one", tmp_path)
    assert main(["forecast", data, "--checkpoint", str(single), "--id-col", "id"]) == 2
    assert "holds one series' model" in capsys.readouterr().err


def test_a_long_panel_with_whole_number_steps_trains_and_forecasts(files, capsys):
    frame = synthetic_panel(3, length=(90, 120), seed=7).frame
    frame["t"] = frame.groupby("id").cumcount() + 10 * frame["id"].str[-1].astype(int)
    data, out = files / "steps.csv", files / "steps"
    frame.drop(columns="time").to_csv(data, index=False)
    args = ["train", str(data), "--id-col", "id", "--config", str(files / "tiny.yaml")]
    assert main([*args, "--out", str(out)]) == 0
    assert "series: 3 of 3" in capsys.readouterr().out
    model = str(out) + ".safetensors"
    assert main(["forecast", str(data), "--checkpoint", model, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    last = frame.groupby("id")["t"].max()
    for sid in ("S0000", "S0002"):  # each series continues from its own last step
        assert [r["time"] for r in rows if r["id"] == sid] == [
            int(last[sid]) + k for k in range(1, 5)
        ]
