"""Exports (issue 17): text cells that a spreadsheet would run as a formula are neutralised in
every CSV the CLI (`forecast --csv`) and the app (the Forecast page's download) write; numbers
keep their value."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from lstm_core import checkpoint
from lstm_core.cli import main
from lstm_core.data.demos import synthetic_panel
from lstm_core.panel import read_panel
from lstm_core.safeio import csv_text, neutralise
from lstm_core.text import forecast_csv
from tests.test_panel_forecaster import TINY

LINK, CALC = '=HYPERLINK("http://x")', "=cmd|' /C calc'!A0"
TARGET = "@SUM(1+1)"  # a column name that a spreadsheet would run too


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (LINK, "'" + LINK),
        (CALC, "'" + CALC),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-1.5", "-1.5"),  # a number written as text is no formula
        ("+2e-3", "+2e-3"),
        ("S0001", "S0001"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_prefixes_only_formulas(cell, written):
    assert neutralise(cell) == written


def test_csv_text_neutralises_text_cells_and_names_but_not_numbers():
    df = pd.DataFrame(
        {"id": [LINK, "S1"], TARGET: [-1.5, 2.0], "n": [-3, 4], "label": pd.array([CALC, None])}
    )
    back = pd.read_csv(io.StringIO(csv_text(df)))
    assert list(back.columns) == ["id", "'" + TARGET, "n", "label"]
    assert back["id"].tolist() == ["'" + LINK, "S1"]
    assert back["'" + TARGET].tolist() == [-1.5, 2.0] and back["n"].tolist() == [-3, 4]
    assert back["label"].iloc[0] == "'" + CALC and pd.isna(back["label"].iloc[1])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A long panel whose ids and target name are formulas, its values below zero, and a tiny
    model the CLI trained on it."""
    folder = tmp_path_factory.mktemp("exports")
    frame = synthetic_panel(2, length=(90, 100), seed=6).frame
    frame["id"] = frame["id"].map({"S0000": LINK, "S0001": CALC})
    frame = frame.rename(columns={"value": TARGET})
    frame[TARGET] -= 1000.0  # forecasts below zero: numbers, never text
    data = folder / "panel.csv"
    frame.to_csv(data, index=False)
    (folder / "tiny.yaml").write_text(TINY.to_yaml())
    out = folder / "m"
    args = ["train", str(data), "--id-col", "id", "--config", str(folder / "tiny.yaml")]
    assert main([*args, "--out", str(out)]) == 0
    return data, folder / "m.safetensors", frame


def _check(written: pd.DataFrame, raw: pd.DataFrame) -> None:
    """``written`` (read back from CSV) is ``raw`` with its text neutralised, numbers kept."""
    assert set(written["id"]) == {"'" + LINK, "'" + CALC}
    assert set(written["target"]) == {"'" + TARGET}
    assert written["id"].tolist() == ["'" + i for i in raw["id"]]
    for q in ("q0.1", "q0.5", "q0.9"):
        assert pd.api.types.is_float_dtype(written[q]) and (written[q] < 0).all()
        assert written[q].to_numpy() == pytest.approx(raw[q].to_numpy(), rel=1e-5)


def test_the_cli_csv_neutralises_ids_and_target_names(hostile, tmp_path, capsys):
    data, model, _ = hostile
    capsys.readouterr()
    csv = tmp_path / "f.csv"
    assert (
        main(["forecast", str(data), "--checkpoint", str(model), "--csv", str(csv), "--json"]) == 0
    )
    raw = pd.DataFrame(json.loads(capsys.readouterr().out))  # the JSON keeps the names as given
    assert set(raw["id"]) == {LINK, CALC}
    _check(pd.read_csv(csv), raw)


def test_the_apps_csv_neutralises_ids_and_target_names(hostile):
    _, model, frame = hostile
    fc = checkpoint.load(model)
    panel = read_panel(frame, "id")
    forecast, freq = fc.predict(panel), fc.for_series(CALC).freq_
    # what the Forecast page's download button serves
    text = forecast_csv(forecast, freq)
    _check(pd.read_csv(io.StringIO(text)), forecast)
    assert not any(line.startswith(("=", "+", "-", "@")) for line in text.splitlines())
    one = fc.for_series(CALC).predict(panel.select(CALC))  # the page's view of one series
    written = pd.read_csv(io.StringIO(forecast_csv(one, freq)))
    assert set(written["target"]) == {"'" + TARGET} and (written["q0.5"] < 0).all()
