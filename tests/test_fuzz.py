"""Property-based tests: the table reader, prepare, config parsing and the CLI, on generated
input, end in a clean result or our own error with a short message; never another exception,
never a NaN presented as a result. CI runs the "ci" profile (conftest.py); `make fuzz` runs
HYPOTHESIS_PROFILE=fuzz with --hypothesis-show-statistics, which prints how many cases ran."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from lstm_core import checkpoint
from lstm_core.cli import main
from lstm_core.config import Config, DataConfig
from lstm_core.data import prepare, read_table
from lstm_core.errors import LstmCoreError
from tests.conftest import ROOT

N = settings.default.max_examples  # the profile's count; the CLI, which trains, runs fewer
BAD = ROOT / "tests" / "data" / "bad"
MAX_MESSAGE = 300

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
names = (
    st.sampled_from(
        [
            "time",
            "date",
            "value",
            "v",
            "load",
            "temp",
            "x1",
            "y",
            "ds",
            "year",
            "",
            " ",
            "a;b",
            'q"',
        ]
    )
    | text
)


def refused_cleanly(e: LstmCoreError) -> None:
    message = str(e)
    assert message and len(message) <= MAX_MESSAGE, message[:500]


# ---------------------------------------------------------------- tables


def numbers() -> st.SearchStrategy[str]:
    floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
        [1e308, -1e308, 1e-320, 1e150, 1e151, 0.0, -0.0]
    )
    return st.one_of(
        st.integers(-(10**6), 10**6).map(str),
        floats.map(repr),
        st.sampled_from(["inf", "-inf", "nan", "NaN", "", "NA", "1,5", "-2,25"]),
    )


def times() -> st.SearchStrategy[str]:
    moments = st.datetimes(
        min_value=pd.Timestamp("1700-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2200-01-01").to_pydatetime(),
    )
    fmt = st.sampled_from(
        [
            "%Y-%m-%d",
            "%Y-%m-%d %H:%M",
            "%d.%m.%Y",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M+01:00",
            "%Y-%m-%d %H:%M+02:00",
            "%Y",
            "%m/%d/%Y",
        ]
    )
    return st.builds(lambda t, f: t.strftime(f), moments, fmt)


cells = st.one_of(numbers(), times(), text, st.text(max_size=2000).map(lambda s: s * 3))


@st.composite
def text_tables(draw) -> tuple[bytes, str]:
    """CSV-like text: a header, rows of mixed cells, a delimiter, an encoding, an extension."""
    delim = draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(1, 5))
    header = [draw(names) for _ in range(width)]
    kind = [draw(st.sampled_from(["time", "number", "any"])) for _ in range(width)]
    pick = {"time": times(), "number": numbers(), "any": cells}
    rows = [[draw(pick[k]) for k in kind] for _ in range(draw(st.integers(0, 40)))]
    if draw(st.booleans()):  # a ragged row
        rows.append([draw(cells) for _ in range(draw(st.integers(0, 8)))])
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    body = newline.join(delim.join(r) for r in [header, *rows]) + newline
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-8-sig", "cp1252"]))
    ext = draw(st.sampled_from([".csv", ".tsv", ".txt", ""]))
    return body.encode(encoding, errors="replace"), "data" + ext


json_trees = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(text, inner, max_size=6),
    max_leaves=40,
)


def raw_inputs() -> st.SearchStrategy[tuple[bytes, str]]:
    json_docs = st.builds(lambda t: (json.dumps(t).encode(), "d.json"), json_trees)
    records = st.builds(
        lambda rows: (json.dumps(rows).encode(), "r.json"),
        st.lists(
            st.dictionaries(
                st.sampled_from(["t", "v", "w"]), st.floats() | st.integers() | times() | st.none()
            ),
            max_size=30,
        ),
    )
    junk = st.tuples(
        st.binary(max_size=3000),
        st.sampled_from(["x.csv", "x.parquet", "x.xlsx", "x.json", "x.bin", "x"]),
    )
    return st.one_of(text_tables(), json_docs, records, junk)


def check_prepared(p) -> None:
    values = p.frame.to_numpy()
    assert values.dtype == np.float64 and np.isfinite(values).all()
    assert len(p.frame) >= 3 and p.targets and set(p.columns) == set(p.frame.columns)


@given(raw_inputs(), st.sampled_from(["interpolate", "ffill", "refuse"]))
def test_reader_and_prepare_on_generated_files(source, missing):
    raw, name = source
    try:
        df = read_table(raw, name)
        assert isinstance(df, pd.DataFrame) and df.shape[0] > 0 and df.shape[1] > 0
        check_prepared(prepare(df, DataConfig(missing=missing)))
        event("prepared")
    except LstmCoreError as e:
        refused_cleanly(e)
        event(type(e).__name__)


@st.composite
def frames(draw) -> tuple[pd.DataFrame, DataConfig]:
    n = draw(st.integers(0, 60))
    columns = {}
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["float", "int", "text", "time", "bool", "zoned"]))
        name = draw(names) or f"c{i}"
        if kind == "float":
            col = draw(
                st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)
            )
        elif kind == "int":
            col = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
        elif kind == "text":
            col = draw(st.lists(cells, min_size=n, max_size=n))
        elif kind == "bool":
            col = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        else:
            start = draw(st.sampled_from(["1900-01-01", "2024-03-31", "2262-04-01"]))
            freq = draw(st.sampled_from(["h", "D", "MS", "YS", "min"]))
            col = pd.date_range(
                start, periods=n, freq=freq, tz="UTC" if kind == "zoned" else None, unit="s"
            )
        columns[name] = col
    df = pd.DataFrame(columns)
    cols = list(df.columns)
    pick = st.sampled_from(cols) | names
    cfg = DataConfig(
        time_col=draw(st.none() | pick),
        targets=tuple(draw(st.lists(pick, max_size=2, unique=True))),
        covariates=tuple(draw(st.lists(pick, max_size=2, unique=True))),
        frequency=draw(st.none() | st.sampled_from(["h", "D", "ns", "ms", "MS", "W", "15min"])),
        missing=draw(st.sampled_from(["interpolate", "ffill", "refuse"])),
    )
    return df, cfg


@given(frames())
def test_prepare_on_generated_frames(case):
    df, cfg = case
    try:
        check_prepared(prepare(df, cfg))
        event("prepared")
    except LstmCoreError as e:
        refused_cleanly(e)
        event(type(e).__name__)


# ---------------------------------------------------------------- configs

SCHEMA = {s: list(Config().to_dict()[s]) for s in ("data", "lstm", "training")}
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.integers(-100, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    st.sampled_from(["h", "D", "ns", "auto", "cpu", "interpolate", "refuse", "null", "~"]),
)
trees = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(text, st.integers(), st.booleans()), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def config_trees(draw) -> object:
    """Mostly the real schema with random values, sometimes random keys and shapes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(trees)
    out = {}
    for section, keys in SCHEMA.items():
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(keys) | text, max_size=5, unique=True))
            out[section] = {k: draw(scalars | trees) for k in chosen}
    if draw(st.integers(0, 9)) == 0:
        out[draw(text | st.integers())] = draw(trees)
    return out


@given(config_trees())
def test_config_from_generated_yaml_trees(tree):
    source = yaml.safe_dump(tree, allow_unicode=True)
    try:
        cfg = Config.from_yaml(source)
    except LstmCoreError as e:
        refused_cleanly(e)
        event("refused")
        return
    assert Config.from_yaml(cfg.to_yaml()) == cfg  # what is accepted round-trips
    event("accepted")


@given(
    st.text(max_size=400)
    | st.sampled_from(
        [
            "a: &a [1, 2]\nb: *a",
            "data: {lookback: 1e9}",
            "? [1, 2]\n: 3",
            "!!binary aGk=",
            "{{{{",
            "data: !!set {a, b}",
            "<<: {data: {}}",
            "data: {lookback: 0x10}",
            "- - - - -",
        ]
    )
)
def test_config_from_generated_yaml_text(source):
    try:
        Config.from_yaml(source)
    except LstmCoreError as e:
        refused_cleanly(e)


# ---------------------------------------------------------------- the command line


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Iterator[dict[str, list[str]]]:
    """Inputs for the CLI: good and bad tables, configs, checkpoints and output paths. `train`
    without `--out` saves to a temporary folder, never to the project's checkpoints/."""
    tmp = tmp_path_factory.mktemp("cli-fuzz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checkpoint, "CHECKPOINT_DIR", tmp / "checkpoints")
        (tmp / "checkpoints").mkdir()
        yield _cli_files(tmp)


def _cli_files(tmp: Path) -> dict[str, list[str]]:
    df = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=80, freq="h"),
            "y": np.sin(np.arange(80) / 4) + np.arange(80) / 40,
            "x1": np.cos(np.arange(80) / 5),
            "x2": np.arange(80) % 7 * 1.0,
        }
    )
    df.to_csv(tmp / "good.csv", index=False)
    df.head(10).to_csv(tmp / "short.csv", index=False)
    df.assign(y=df["y"].where(df.index % 9 > 0)).to_csv(tmp / "gaps.csv", index=False)
    (tmp / "tiny.yaml").write_text(
        "data: {lookback: 8, horizon: 2}\nlstm: {hidden_size: 4, num_layers: 1, dropout: 0}\n"
        "training: {epochs: 1, batch_size: 64}\n"
    )
    from lstm_core.forecaster import Forecaster

    cfg = Config.from_yaml((tmp / "tiny.yaml").read_text()).replace(
        data={"targets": ["y"], "covariates": ["x1", "x2"]}
    )
    ck = checkpoint.save(Forecaster(cfg).fit(df), "tiny", tmp)
    (tmp / "blocker").write_text("a file, not a folder")
    bad = sorted(str(p) for p in BAD.iterdir())
    return {
        "data": [str(tmp / n) for n in ("good.csv", "gaps.csv", "short.csv")]
        + [p for p in bad if Path(p).name.startswith("data-")]
        + ["demo:nile", "demo:nope", str(tmp / "missing.csv"), str(tmp)],
        "config": [str(tmp / "tiny.yaml"), str(tmp / "missing.yaml")]
        + [p for p in bad if Path(p).name.startswith("config-")],
        "checkpoint": [str(ck), str(ROOT / "checkpoints" / "demo.safetensors")]
        + [p for p in bad if Path(p).name.startswith("checkpoint-")],
        "out": [str(tmp / "o" / "m"), str(tmp / "blocker" / "m"), str(tmp)],
        "csv": [str(tmp / "f.csv"), str(tmp), str(tmp / "blocker" / "f.csv")],
    }


small_ints = st.integers(-3, 40).map(str) | st.sampled_from(["0", "1e9", "x", "10" * 12, "-1"])


@st.composite
def argvs(draw, files: dict[str, list[str]]) -> list[str]:
    """Half the time arguments that should work (so results get checked), else anything."""
    valid = draw(st.booleans())
    commands = ["train", "forecast", "backtest"] + ([] if valid else ["frobnicate"])
    command = draw(st.sampled_from(commands))
    data = files["data"][:2] if valid else files["data"]
    argv = [command, draw(st.sampled_from(data) if valid else st.sampled_from(data) | text)]
    if valid:
        options = {
            "--lookback": st.integers(2, 20).map(str),
            "--horizon": st.integers(1, 6).map(str),
            "--target": st.just("y"),
            "--covariates": st.sampled_from(["x1", "x2"]),
            "--time-col": st.just("time"),
            "--device": st.just("cpu"),
            "--out": st.just(files["out"][0]),
            "--csv": st.just(files["csv"][0]),
        }
    else:
        options = {
            "--config": st.sampled_from(files["config"]),
            "--lookback": small_ints,
            "--horizon": small_ints,
            "--target": st.sampled_from(["y", "x1", "value", "v", "nope"]),
            "--covariates": st.sampled_from(["x1", "x2", "y", "nope"]),
            "--time-col": st.sampled_from(["time", "nope", "y"]),
            "--device": st.sampled_from(["cpu", "auto", "tpu"]),
            "--sheet": st.sampled_from(["0", "data", "a"]),
            "--out": st.sampled_from(files["out"]),
            "--csv": st.sampled_from(files["csv"]),
        }
    if command == "forecast":
        checkpoints = files["checkpoint"][:2] if valid else files["checkpoint"]
        argv += ["--checkpoint", draw(st.sampled_from(checkpoints))]
        options = {k: v for k, v in options.items() if k in ("--csv", "--sheet")}
    elif valid:  # only the options the command takes
        drop = ("--csv",) if command == "train" else ("--csv", "--out")
        options = {k: v for k, v in options.items() if k not in drop}
    for flag in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        argv += [flag, draw(options[flag])]
    if command in ("train", "backtest"):  # training stays short: one epoch, a small model
        epochs = ["1"] if valid else ["1", "0", "-2", "10" * 10]
        argv += ["--epochs", draw(st.sampled_from(epochs))]
        if "--config" not in argv:
            argv += ["--config", files["config"][0]]
    if draw(st.booleans()):
        argv.append("--json")
    return argv


def check_output(argv: list[str], rc: int, out: str, err: str) -> None:
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert rc in (0, 2), (argv, err)
    assert all(line.startswith(("error: ", "note: ", "epoch ", "wrote ")) for line in lines), err
    if rc == 2:
        assert len(errors) == 1 and len(errors[0]) <= MAX_MESSAGE, (argv, err)
        return
    assert not errors
    if argv[0] == "forecast" and "--json" in argv:
        rows = json.loads(out.splitlines()[-1])
        assert rows and all(math.isfinite(r[q]) for r in rows for q in ("q0.1", "q0.5", "q0.9"))
    if argv[0] == "backtest" and "--json" in argv:
        model = json.loads(out)["metrics"]["AttentiveLSTM"]
        assert all(math.isfinite(model[k]) for k in ("MAE", "RMSE", "MASE", "sMAPE"))
    if argv[0] == "train":
        assert "nan" not in out.lower()


@settings(max_examples=max(10, N // 3))
@given(data=st.data())
def test_cli_on_generated_arguments(files, data):
    argv = data.draw(argvs(files))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    check_output(argv, rc, out.getvalue(), err.getvalue())
    event(f"{argv[0]} exit {rc}")
