"""AppTest: every page runs empty (guidance) and on the demo (charts); the flows a first-time
user tripped on (issue 9) and the app items of issue 10 behave as the issues ask."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import torch
from streamlit.testing.v1 import AppTest

from lstm_core import changepoints
from lstm_core.checkpoint import loads, save
from lstm_core.errors import DataError
from lstm_core.report_text import FOUND_BY
from tests.conftest import ROOT
from ui import actions, background, router, sessions, settings_form
from ui import state as ui
from ui.changes import OWN_GATE_LABEL

PAGES = {name: spec.file for name, spec in router.PAGES.items()}
CHARTS_ON_DEMO = {  # once the page's background tasks have ended (interpret: 4, then 7)
    "data": 1,
    "settings": 0,
    "training": 1,
    "forecast": 4,
    "interpret": 7,
    "checkpoints": 0,
}
GUIDES_WHEN_EMPTY = {"data", "training", "forecast", "interpret"}  # the others need nothing


def app(empty: bool = False, sid: str | None = None) -> AppTest:
    """The app after its first run (st.navigation registers the pages there)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if empty:
        at.session_state[ui.STARTED] = True  # skip the demo defaults of a first visit
    if sid:
        at.query_params[sessions.PARAM] = sid
    return at.run()


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def everything(at: AppTest) -> str:
    """Every message and text on the page."""
    kinds = ("error", "warning", "info", "success", "caption", "markdown")
    return " ".join(texts(getattr(at, kind)) for kind in kinds) + " ".join(progress(at))


def progress(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def held(at: AppTest, slot: str):
    """The task a session holds in ``slot`` (see ui.background.task)."""
    return (at.session_state[ui.TASKS] or {})[slot].task


def sidebar(at: AppTest) -> str:
    return texts(at.sidebar.caption)


def seed(at: AppTest, frame, forecaster, known=()) -> AppTest:
    state = {
        ui.FRAME: frame,
        ui.DATA_NAME: "test",
        ui.DATA_TOKEN: 1,
        ui.KNOWN_CPS: tuple(known),
        ui.FORECASTER: forecaster,
        ui.MODEL_NAME: "tiny",
        ui.MODEL_TOKEN: 1,
    }
    for key, value in state.items():
        at.session_state[key] = value
    return at


def wait_for_tasks(at: AppTest) -> None:
    """Let this session's background tasks finish, then rerun to draw their results."""
    tasks = at.session_state[ui.TASKS] if ui.TASKS in at.session_state else None  # noqa: SIM401
    for held in (tasks or {}).values():  # (session_state has no .get in AppTest)
        assert held.task.wait(60)
    at.run()


@pytest.mark.parametrize("page", list(PAGES))
def test_page_runs_empty_and_on_the_demo(page):
    at = app(empty=True)
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    if page in GUIDES_WHEN_EMPTY:
        assert at.info, "an empty page says what to do"
        assert at.get("page_link"), "and links to the page that does it"
    at = app()
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)
    wait_for_tasks(at)
    assert not at.exception and not at.error, texts(at.error)
    charts = at.get("plotly_chart")
    assert len(charts) == CHARTS_ON_DEMO[page]
    for chart in charts:
        assert '"data":[{' in chart.proto.spec.replace(" ", ""), "a chart with no traces"


def test_first_visit_says_what_the_demo_is_and_shows_results():
    at = app()  # the default page is the forecast
    assert at.session_state[ui.MODEL_NAME] == "checkpoint demo"
    note = texts(at.info)
    assert "built-in demo (synthetic hourly series" in note and "upload" in note
    assert at.get("plotly_chart") and len(at.get("download_button")) == 2  # CSV and report
    assert "baseline" in texts(at.success) + texts(at.warning)
    assert "compare the rows" in texts(at.caption), "MASE above 1 is not called a loss"
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Rolling-origin backtest" in c for c in charts)
    assert any("Error by horizon step" in c for c in charts)


def test_yaml_editor_rejects_bad_yaml_and_keeps_the_config():
    at = app()
    at.switch_page(PAGES["settings"]).run()
    before = at.session_state[ui.CONFIG]
    at.text_area(key="settings_yaml_lstm").set_value("hidden_size: [32\nnum_layers: 2")
    at.button(key="FormSubmitter:settings_yaml-Apply YAML").click().run()
    assert not at.exception
    assert at.session_state[ui.CONFIG] is before
    assert "lstm: invalid YAML at line" in texts(at.error)
    assert at.text_area(key="settings_yaml_lstm").value.startswith("hidden_size: [32"), "text kept"

    at.text_area(key="settings_yaml_lstm").set_value("num_heads: 3\nhidden_size: 32")
    at.button(key="FormSubmitter:settings_yaml-Apply YAML").click().run()
    assert at.session_state[ui.CONFIG] is before and "lstm.num_heads" in texts(at.error)

    yaml_text = at.text_area(key="settings_yaml_data").value.replace("lookback: 48", "lookback: 30")
    at.text_area(key="settings_yaml_lstm").set_value("hidden_size: null")
    at.text_area(key="settings_yaml_data").set_value(yaml_text)
    at.button(key="FormSubmitter:settings_yaml-Apply YAML").click().run()
    assert at.session_state[ui.CONFIG].data.lookback == 30 and not at.error
    assert at.number_input(key="settings_lookback").value == 30, "the form follows the YAML"


def test_form_updates_the_yaml():
    at = app()
    at.switch_page(PAGES["settings"]).run()
    at.number_input(key="settings_epochs").set_value(3)
    at.number_input(key="settings_hidden_size").set_value(16)
    at.button(key="FormSubmitter:settings_form-Apply settings").click().run()
    cfg = at.session_state[ui.CONFIG]
    assert cfg.training.epochs == 3 and cfg.lstm.hidden_size == 16
    assert "epochs: 3" in at.text_area(key="settings_yaml_training").value
    assert "parameters:" in texts(at.markdown)


@pytest.mark.parametrize(
    "key, value, said",
    [
        ("settings_num_layers", 9, "num_layers: 9 is not allowed; expected an integer from 1 to 8"),
        ("settings_dropout", 1.5, "lstm.dropout: 1.5 is not allowed"),
        ("settings_lookback", 1, "data.lookback: 1 is not allowed; expected an integer from 2 to"),
    ],
)
def test_an_out_of_range_setting_is_named_with_its_range(key, value, said):
    at = app()
    at.switch_page(PAGES["settings"]).run()
    before = at.session_state[ui.CONFIG]
    at.number_input(key=key).set_value(value)
    at.button(key="FormSubmitter:settings_form-Apply settings").click().run()
    assert not at.exception and at.session_state[ui.CONFIG] is before
    assert said in texts(at.error) and f'"{settings_form.LABELS[key]}": ' in texts(at.error)
    assert at.number_input(key=key).value == value  # the value typed stays to be fixed


def test_an_unavailable_device_is_refused_in_settings():
    import torch

    missing = "cuda" if not torch.cuda.is_available() else "mps"
    at = app()
    at.switch_page(PAGES["settings"]).run()
    before = at.session_state[ui.CONFIG]
    at.selectbox(key="settings_device").set_value(missing)
    at.button(key="FormSubmitter:settings_form-Apply settings").click().run()
    assert not at.exception and at.session_state[ui.CONFIG] is before
    assert f"{missing} is not available here" in texts(at.error)
    text = at.text_area(key="settings_yaml_training").value.replace(
        "device: auto", f"device: {missing}"
    )
    at.text_area(key="settings_yaml_training").set_value(text)
    at.button(key="FormSubmitter:settings_yaml-Apply YAML").click().run()
    assert at.session_state[ui.CONFIG] is before and "not available here" in texts(at.error)


def test_yaml_upload_is_validated():
    at = app()
    at.switch_page(PAGES["settings"]).run()
    before = at.session_state[ui.CONFIG]
    at.file_uploader(key="settings_upload").upload("bad.yaml", b"lstm:\n  hidden_size: -3\n").run()
    assert not at.exception and at.session_state[ui.CONFIG] is before
    assert "lstm.hidden_size" in texts(at.error)
    good = before.replace(training={"epochs": 7}).to_yaml().encode()
    at.file_uploader(key="settings_upload").upload("good.yaml", good).run()
    assert at.session_state[ui.CONFIG].training.epochs == 7 and not at.error
    assert at.number_input(key="settings_epochs").value == 7


def _csv(n: int = 160) -> bytes:
    t = np.arange(n)
    df = pd.DataFrame(
        {
            "date": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "promo": (t % 7 == 0).astype(float),
            "sales": 100 + 10 * np.sin(2 * np.pi * t / 7) + t * 0.1,
        }
    )
    return df.to_csv(index=False).encode()


def test_csv_upload_flows_through_to_a_forecast(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    at = app(empty=True)
    at.switch_page(PAGES["data"]).run()
    at.file_uploader(key="data_upload").upload("sales.csv", _csv(), "text/csv").run()
    assert not at.exception and not at.error, texts(at.error)
    assert "sales.csv" in sidebar(at), "the sidebar shows the upload in the same run"
    cfg = at.session_state[ui.CONFIG]
    assert cfg.data.time_col == "date" and cfg.data.targets == ("sales",), "the likeliest target"
    assert at.get("plotly_chart")
    assert "frequency: daily" in texts(at.markdown) and "00:00:00" not in texts(at.markdown)
    at.session_state[ui.CONFIG] = cfg.replace(
        data={"lookback": 14, "horizon": 7},
        lstm={"hidden_size": 4, "num_layers": 1},
        training={"epochs": 2, "batch_size": 32},
    )
    at.switch_page(PAGES["training"]).run()
    at.button(key="training_start").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert at.session_state[ui.JOB].wait(60)
    at.run()  # the finished job is collected on the next run
    assert at.session_state[ui.MODEL_NAME].startswith("trained at")
    assert "The new model is in use" in texts(at.success)
    at.text_input(key="training_name").set_value("sales/ daily 14→7")
    at.run()
    assert "sales_daily_14_7.safetensors" in texts(at.caption), "the saved name is shown first"
    at.button(key="training_save").click().run()
    assert (tmp_path / "sales_daily_14_7.safetensors").exists() and not at.error
    at.button(key="training_save").click().run()
    assert "exists" in texts(at.error), "a saved checkpoint is never overwritten"
    at.switch_page(PAGES["forecast"]).run()
    assert not at.exception and not at.error, texts(at.error)
    spec = at.get("plotly_chart")[0].proto.spec
    assert "forecast (median)" in spec and "2023-06" in spec  # real timestamps after the data
    csv = at.get("download_button")[0].proto
    assert csv.label.startswith("Download the forecast")
    at.switch_page(PAGES["data"]).run()
    at.button(key="data_use_demo").click().run()  # the file still in the uploader stays unused
    assert at.session_state[ui.DATA_NAME] == "demo: regimes"
    assert "demo: regimes" in sidebar(at)


def test_forecast_csv_is_rounded_and_dated():
    from lstm_core.text import forecast_csv

    forecast = pd.DataFrame(
        {
            "time": pd.date_range("1960-01-01", periods=2, freq="MS"),
            "target": ["passengers"] * 2,
            "q0.5": [432.123456789012, 0.1 + 0.2],
        }
    )
    text = forecast_csv(forecast, "MS")
    assert text.splitlines()[1:] == ["1960-01,passengers,432.123", "1960-02,passengers,0.3"]


def _ett_like(n: int = 300) -> bytes:
    rng = np.random.default_rng(0)
    cols = {c: rng.normal(size=n) for c in ("HUFL", "HULL", "MUFL", "OT")}
    df = pd.DataFrame({"date": pd.date_range("2016-07-01", periods=n, freq="h"), **cols})
    return df.to_csv(index=False).encode()


def test_upload_targets_the_likeliest_column_and_never_offers_it_as_a_covariate():
    at = app(empty=True)
    at.switch_page(PAGES["data"]).run()
    at.file_uploader(key="data_upload").upload("etth2.csv", _ett_like(), "text/csv").run()
    assert at.session_state[ui.CONFIG].data.targets == ("OT",), "not the first column (HUFL)"
    covariates = next(m for m in at.multiselect if m.label.startswith("Covariates"))
    assert "OT" not in covariates.options
    targets = next(m for m in at.multiselect if m.label.startswith("Target"))
    targets.set_value(["HUFL"]).run()
    covariates = next(m for m in at.multiselect if m.label.startswith("Covariates"))
    assert "HUFL" not in covariates.options and "OT" in covariates.options


def test_a_time_value_table_with_no_values_is_refused():
    at = app()
    at.switch_page(PAGES["data"]).run()
    before = at.session_state[ui.FRAME]
    raw = b"time,value\n" + b"".join(f"{i},\n".encode() for i in range(50))
    at.file_uploader(key="data_upload").upload("empty.csv", raw, "text/csv").run()
    assert not at.exception and at.session_state[ui.FRAME] is before
    assert "no column of numbers to forecast (value is empty)" in texts(at.error)


def test_bad_upload_keeps_the_data():
    at = app()
    at.switch_page(PAGES["data"]).run()
    before = at.session_state[ui.FRAME]
    at.file_uploader(key="data_upload").upload("notes.csv", b"a,b\nx,y\n", "text/csv").run()
    assert not at.exception
    assert "no column of numbers" in texts(at.error)
    assert "The data you had is kept" in texts(at.error)
    assert at.session_state[ui.FRAME] is before
    at.file_uploader(key="data_upload").upload("image.png", b"\x89PNG....", "image/png").run()
    assert not at.exception and at.session_state[ui.FRAME] is before


def test_too_short_for_the_lookback_says_what_to_do():
    at = app()
    at.session_state[ui.CONFIG] = at.session_state[ui.CONFIG].replace(data={"lookback": 1000})
    at.switch_page(PAGES["training"]).run()
    at.button(key="training_start").click().run()
    assert not at.exception
    assert "try data.lookback" in texts(at.error) and at.get("page_link")
    assert at.session_state[ui.MODEL_NAME] == "checkpoint demo", "the model in use is kept"


def test_a_lookback_with_few_training_windows_is_warned_before_training():
    at = app()
    at.switch_page(PAGES["training"]).run()
    assert "training window" not in texts(at.warning)  # the demo: 889 windows for lookback 48
    at.session_state[ui.CONFIG] = at.session_state[ui.CONFIG].replace(data={"lookback": 400})
    at.run()
    assert not at.exception
    assert "Only 537 training windows for a lookback of 400 steps" in texts(at.warning)
    assert "try data.lookback: 312" in texts(at.warning)
    assert at.button(key="training_start").disabled is False  # a warning, not a refusal
    at.button(key="training_lookback").click().run()
    assert at.session_state[ui.CONFIG].data.lookback == 312
    assert "training window" not in texts(at.warning)


def test_cancel_before_the_first_epoch_keeps_the_previous_model():
    at = app()
    at.session_state[ui.CONFIG] = at.session_state[ui.CONFIG].replace(
        training={"batch_size": 8, "epochs": 50}
    )
    at.switch_page(PAGES["training"]).run()
    at.button(key="training_start").click().run()
    assert "Model in use" not in texts(at.subheader), "no previous model's curve during a run"
    at.button(key="training_cancel").click().run()
    shown = texts(at.warning)  # a run that stops at once is collected by the cancel's own rerun
    assert at.session_state[ui.JOB].wait(60)
    at.run()
    assert at.session_state[ui.MODEL_NAME] == "checkpoint demo"
    warning = shown + texts(at.warning)
    assert "cancelled before its first epoch ended" in warning and "checkpoint demo" in warning
    at.run()
    assert "cancelled" not in texts(at.warning), "said once"
    at.button(key="training_load").click().run()  # a checkpoint load clears the stale status
    assert at.session_state[ui.JOB] is None and "cancelled" not in everything(at)


def test_training_text_says_validating_and_queued():
    from lstm_core.background import Progress

    base = {
        "status": "running",
        "epoch": 2,
        "epochs": 10,
        "batch": 40,
        "batches": 40,
        "train_loss": (1.0,),
        "val_loss": (1.0,),
        "seconds": 12.0,
        "cancelling": False,
        "error": None,
        "queued": False,
    }
    text = background.training_text(Progress(**base, phase="validating"))
    assert "epoch 3/10: validating" in text
    queued = Progress(**base | {"queued": True}, phase="queued", queue_position=2)
    text = background.training_text(queued)
    assert "waiting for a free training slot (number 2 in the queue)" in text
    assert Progress(**base, phase="training").fraction == pytest.approx(0.3)
    # a panel's refit after validation: its own epochs, said in words
    refit = Progress(**base | {"batch": 10}, phase="refitting", refit=(2, 4))
    assert "training again on every row for the 4 epochs validation chose: epoch 2/4, " \
        "batch 10/40" in background.training_text(refit)
    assert refit.fraction == pytest.approx((1 + 10 / 40) / 4)
    limit = {"status": "done", "timed_out": True, "limit_s": 1800.0, "refit": (2, 4)}
    text = background.training_text(Progress(**base | limit, phase="done"))
    assert "while training again on every row (epoch 2 of 4); the validated network" in text


def test_loading_a_checkpoint_updates_the_sidebar_and_the_data_columns(
    fitted, series, tmp_path, monkeypatch
):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    save(fitted, "tiny", tmp_path)
    at = app(empty=True)
    at.session_state[ui.FRAME] = series[["time", "x2", "x1", "y"]]  # the model's columns, reordered
    at.session_state[ui.DATA_TOKEN] = 7
    at.session_state[ui.DATA_NAME] = "series"
    at.switch_page(PAGES["checkpoints"]).run()
    assert at.selectbox(key="checkpoints_name").value == "tiny"
    at.button(key="checkpoints_load").click().run()
    assert not at.exception
    assert at.session_state[ui.MODEL_NAME] == "checkpoint tiny"
    assert "checkpoint tiny" in sidebar(at), "the sidebar shows the model in the same run"
    assert "Loaded tiny" in texts(at.success)
    cfg = at.session_state[ui.CONFIG].data
    assert cfg.targets == ("y",) and cfg.covariates == ("x1", "x2"), "Data follows the model"
    at.switch_page(PAGES["data"]).run()
    targets = next(m for m in at.multiselect if m.label.startswith("Target"))
    assert targets.value == ["y"]


def _null_hidden_size(fitted, tmp_path) -> bytes:
    """A checkpoint whose config says ``hidden_size: null`` (issue 10, item 7)."""
    path = save(fitted, "src", tmp_path)
    with safetensors.safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = safetensors.torch.load_file(str(path))
    meta["config"] = meta["config"].replace("hidden_size: 4", "hidden_size: null")
    assert "hidden_size: null" in meta["config"]
    safetensors.torch.save_file(tensors, str(path), metadata=meta)
    return path.read_bytes()


def test_a_checkpoint_with_a_null_hidden_size_gets_a_message(fitted, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path / "list"))
    at = app(empty=True)
    at.switch_page(PAGES["checkpoints"]).run()
    bad = _null_hidden_size(fitted, tmp_path)
    at.file_uploader(key="checkpoints_upload").upload("hidden-null.safetensors", bad).run()
    assert not at.exception, "never an exception box"
    assert "Refused" in texts(at.error) and "hidden-null.safetensors" in texts(at.error)


def test_checkpoint_upload_delete_undo_and_ownership(fitted, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    monkeypatch.delenv(actions.ADMIN_ENV, raising=False)
    good = save(fitted, "good", tmp_path / "src").read_bytes()
    save(fitted, "older", tmp_path)  # saved by someone else
    at = app(empty=True)
    at.switch_page(PAGES["checkpoints"]).run()
    at.file_uploader(key="checkpoints_upload").upload(
        "evil.pt", b"\x80\x04pickle", "application/octet-stream"
    ).run()
    assert not at.exception and "pickle" in texts(at.error)
    at.file_uploader(key="checkpoints_upload").upload("good.safetensors", good).run()
    at.button(key="checkpoints_add").click().run()
    assert (tmp_path / "good.safetensors").exists()
    assert at.session_state[ui.MODEL_NAME] == "checkpoint good"
    assert at.selectbox(key="checkpoints_name").options[0] == "good", "newest first"
    assert at.selectbox(key="checkpoints_name").value == "good", "the one just added"
    assert not at.get("file_uploader")[0].value, "the uploader is cleared for the next one"
    assert at.button(key="checkpoints_delete").disabled, "not without the confirmation"
    assert not delete_popover(at).disabled, "this session saved it"
    at.checkbox(key="checkpoints_sure_good").check().run()
    at.button(key="checkpoints_delete").click().run()
    assert not (tmp_path / "good.safetensors").exists()
    assert "Deleted good" in texts(at.success)
    assert at.selectbox(key="checkpoints_name").value == "older"
    assert not at.checkbox(key="checkpoints_sure_older").value, "no confirmation carries over"
    assert at.session_state["checkpoints_delete_popover_good"] is False, "the popover closed"
    assert delete_popover(at).disabled, "older was saved without an owner: admin only"
    assert "only an administrator" in delete_popover(at).help
    at.button(key="checkpoints_undo_button").click().run()
    assert (tmp_path / "good.safetensors").exists() and "Restored good" in texts(at.success)
    assert at.selectbox(key="checkpoints_name").value == "good", "the restored one (issue 20)"
    assert not delete_popover(at).disabled
    other = app(empty=True)  # another session may not delete this session's checkpoint
    other.switch_page(PAGES["checkpoints"]).run()
    assert other.selectbox(key="checkpoints_name").value == "good"
    assert delete_popover(other).disabled and "someone else" in delete_popover(other).help


def delete_popover(at: AppTest):
    """The Checkpoints page's "Delete..." popover, as its proto (label, help, disabled)."""
    blocks = list(at.main.children.values())
    while blocks:
        block = blocks.pop()
        if getattr(block, "type", None) == "popover":
            return block.proto.popover
        blocks.extend(getattr(block, "children", {}).values())
    raise AssertionError("no Delete popover on the page")


def add_upload(at: AppTest, name: str, data: bytes) -> None:
    """Upload a checkpoint on the Checkpoints page and add it to the list."""
    added = at.session_state[actions.ADDED] if actions.ADDED in at.session_state else 0
    key = "checkpoints_upload" + (f"_{added}" if added else "")
    at.file_uploader(key=key).upload(name, data).run()
    at.button(key="checkpoints_add").click().run()


def test_checkpoint_ownership_goes_by_identity_not_by_name(fitted, tmp_path, monkeypatch):
    """Issue 17, item 6 through the page: A saves and deletes "shared"; B saves another
    "shared"; A may not delete it (not even by sending the click), A's Undo brings back A's own
    file under a free name and selects it, and after a restart A's owner id still deletes it."""
    monkeypatch.setenv("STUDIO_CHECKPOINTS", str(tmp_path))
    monkeypatch.delenv(actions.ADMIN_ENV, raising=False)
    upload = save(fitted, "shared", tmp_path / "src").read_bytes()
    other = loads(upload)
    with torch.no_grad():
        next(other.model_.parameters()).add_(0.5)  # B's model is another one of the same name
    other_upload = save(other, "shared", tmp_path / "other").read_bytes()
    shared = tmp_path / "shared.safetensors"
    a = app(empty=True)
    a.switch_page(PAGES["checkpoints"]).run()
    add_upload(a, "shared.safetensors", upload)
    a_bytes = shared.read_bytes()
    a.checkbox(key="checkpoints_sure_shared").check().run()
    a.button(key="checkpoints_delete").click().run()
    assert not shared.exists() and "Deleted shared" in texts(a.success)
    b = app(empty=True)
    b.switch_page(PAGES["checkpoints"]).run()
    add_upload(b, "shared.safetensors", other_upload)
    b_bytes = shared.read_bytes()
    a.run()
    assert a.selectbox(key="checkpoints_name").value == "shared"
    assert delete_popover(a).disabled and "someone else" in delete_popover(a).help
    a.checkbox(key="checkpoints_sure_shared").check().run()  # a forged click is refused too
    a.button(key="checkpoints_delete").click().run()
    assert "Not deleted" in texts(a.error) and shared.read_bytes() == b_bytes
    a.button(key="checkpoints_undo_button").click().run()
    restored = tmp_path / "shared-restored.safetensors"
    assert restored.read_bytes() == a_bytes, "A's own file, byte for byte"
    assert loads(a_bytes).fingerprint() == fitted.fingerprint() != other.fingerprint()
    assert shared.read_bytes() == b_bytes, "B's file is untouched"
    assert "Restored shared as shared-restored" in texts(a.success)
    assert a.selectbox(key="checkpoints_name").value == "shared-restored"
    assert not delete_popover(a).disabled
    # the server restarts (no session kept); A's browser comes back with its cookie alone
    sessions.store.clear()
    key = a.session_state[ui.BROWSER_KEY]
    monkeypatch.setattr(sessions, "_cookies", lambda: {sessions.COOKIE: key})
    restarted = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    restarted.session_state[ui.STARTED] = True
    restarted.run().switch_page(PAGES["checkpoints"]).run()
    restarted.selectbox(key="checkpoints_name").set_value("shared-restored").run()
    assert not delete_popover(restarted).disabled, "the file alone says who owns it"
    restarted.checkbox(key="checkpoints_sure_shared-restored").check().run()
    restarted.button(key="checkpoints_delete").click().run()
    assert not restored.exists() and shared.read_bytes() == b_bytes


def test_interpret_whole_series_readings_and_change_points(series, fitted, monkeypatch):
    at = seed(app(empty=True), series, fitted, known=(100, 200))
    at.switch_page(PAGES["interpret"]).run()
    assert not at.exception
    wait_for_tasks(at)
    assert not at.exception and len(at.get("plotly_chart")) == 7
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert "leaning on memory" in specs[4] and "window x lag" in specs[6]
    readings = texts(at.caption)
    assert "units leaning on memory" in specs[4] and "Deletion test" in specs[3]
    assert "random draws" in readings
    assert at.text_input[0].value == "100 200"
    at.text_input[0].set_value("100, oops")
    at.button(key="FormSubmitter:explain_detect_1-Detect change points").click().run()
    assert "'oops' is not a row number" in texts(at.error) and ui.DETECTION not in at.session_state
    at.text_input[0].set_value("100; 200 300")  # semicolons and spaces separate too
    at.button(key="FormSubmitter:explain_detect_1-Detect change points").click().run()
    assert not at.exception
    assert at.session_state[ui.DETECTION].known == (100, 200, 300)
    wait_for_tasks(at)
    assert not at.exception and not at.error, texts(at.error)
    spec = at.get("plotly_chart")[-1].proto.spec
    assert "change score" in spec and "known change point" in spec
    assert "found" in str(at.dataframe[0].value["known change points"].iloc[0])
    assert "counts the series' start" in texts(at.caption)
    assert "kind" in at.dataframe[1].value.columns
    gate = at.table[0].value  # issue 20: per point, who found it and the gate's response
    points = held(at, "detection").result.change_points
    assert list(gate.index) == list(range(1, len(points) + 1)), "numbered as on the chart"
    assert list(gate["row"]) == [f"{c.index:,}" for c in points], "a regular series: grid rows"
    kinds = ("pelt", "gaussian", "kink", "search", "profile", "profile gate")  # "union"'s parts
    assert set(gate["found by"]) <= {FOUND_BY[k] for k in kinds} and len(gate) > 0
    assert set(gate["gate responds"]) <= {"yes", "no", "n/a"}
    assert "The gate responds at" in texts(at.caption)
    assert len(at.get("download_button")) == 1
    found = held(at, "detection").result  # the default: a detection model's gate, not fitted's
    assert found.features == "combined" and found.trace.lookback != fitted.config_.data.lookback
    assert any(n.startswith("trained a detection model") for n in found.notes)
    first = found  # pressed again, the detection model trained for this series is reused
    with monkeypatch.context() as m:
        m.setattr(changepoints.pipeline.Forecaster, "fit", lambda *a, **k: pytest.fail("trained"))
        at.button(key="FormSubmitter:explain_detect_1-Detect change points").click().run()
        wait_for_tasks(at)
    assert not at.exception and not at.error, texts(at.error)
    found = held(at, "detection").result
    assert found is not first and found.trace is first.trace and found.features == "combined"
    assert any(n.startswith("trained a detection model") and "reused" in n for n in found.notes)
    assert found.change_points == first.change_points
    own = next(c for c in at.checkbox if c.label == OWN_GATE_LABEL)
    assert own.value is False
    own.check()
    at.button(key="FormSubmitter:explain_detect_1-Detect change points").click().run()
    wait_for_tasks(at)
    assert not at.exception and not at.error, texts(at.error)
    found = held(at, "detection").result  # asked: the model in use's gate, no training
    assert found.features == "combined" and found.trace.lookback == fitted.config_.data.lookback
    assert not any(n.startswith("trained a detection model") for n in found.notes)


def test_history_shown_applies_to_interpret(series, fitted):
    at = seed(app(empty=True), series, fitted)
    at.session_state["history_points"] = 200
    at.switch_page(PAGES["interpret"]).run()
    wait_for_tasks(at)
    share = json.loads(at.get("plotly_chart")[4].proto.spec)["data"][0]
    assert len(share["x"]) == 200, "the last 200 observations, not all 400"


class SlowTrace:
    """A whole-series trace that reports 1 of 600 windows, then waits for the test before its
    next report (which raises once the task was cancelled): no sleeps, no clock."""

    def __init__(self):
        self.reported = threading.Event()  # some run has made its first report
        self.releases: list[threading.Event] = []  # one per run, set by the test

    def __call__(self, fc, data, on_chunk):
        release = threading.Event()
        self.releases.append(release)
        on_chunk(1, 600)
        self.reported.set()
        release.wait(60)
        on_chunk(2, 600)

    def release(self):
        for event in self.releases:
            event.set()


def test_a_whole_series_trace_can_be_cancelled_and_run_again(series, fitted, monkeypatch):
    slow = SlowTrace()
    monkeypatch.setattr(background.interpret, "trace", slow)
    at = seed(app(empty=True), series, fitted)
    at.switch_page(PAGES["interpret"]).run()
    assert slow.reported.wait(30)
    at.run()
    bar = " ".join(progress(at))
    assert "1 of 600 windows" in bar and "left" in bar, "progress and a time estimate"
    at.button(key="trace_cancel").click().run()
    assert "cancelled" in texts(at.info) and at.button(key="trace_again")
    first = held(at, "trace")
    assert first.status == "cancelled"
    slow.release()  # its next report raises: the thread ends
    assert first.wait(30) and first.status == "cancelled" and first.result is None
    at.button(key="trace_again").click().run()
    assert held(at, "trace") is not first, "a new run"
    assert held(at, "trace").status in ("queued", "running")
    held(at, "trace").cancel()
    slow.release()


@pytest.mark.parametrize("reports", [True, False])
def test_a_task_is_stopped_at_the_time_limit(series, fitted, monkeypatch, reports):
    """A task that reports is stopped by its own report (it fails with the limit's words);
    one that never reports, by the page (cancelled, with the same words). A limit of 0 s:
    any time at all is past it, so nothing waits on the clock."""
    never = threading.Event()
    monkeypatch.setattr(background, "TASK_LIMIT_S", 0.0)

    def silent(fc, data, on_chunk):  # never reports
        return never.wait(60)

    monkeypatch.setattr(background.interpret, "trace", SlowTrace() if reports else silent)
    at = seed(app(empty=True), series, fitted)
    at.switch_page(PAGES["interpret"]).run()
    trace = held(at, "trace")
    if reports:
        assert trace.wait(30) and trace.status == "failed"
        assert trace.error == "stopped at the time limit (0 s)"
    else:
        assert trace.status == "cancelled" and not trace.wait(0), "the page stopped it"
    at.run()
    assert not at.exception
    assert "stopped at the time limit (0 s)" in everything(at)
    never.set()


def test_a_new_detection_cancels_the_older(series, fitted, monkeypatch):
    release = threading.Event()

    def slow_detect(*args, **kwargs):
        release.wait(30)
        raise DataError("released")

    monkeypatch.setattr(changepoints, "detect", slow_detect)
    at = seed(app(empty=True), series, fitted)
    at.switch_page(PAGES["interpret"]).run()
    submit = "FormSubmitter:explain_detect_1-Detect change points"
    at.button(key=submit).click().run()
    first = held(at, "detection")
    assert first.status in ("queued", "running")
    at.select_slider[0].set_value(2.0)
    at.button(key=submit).click().run()
    assert first.status == "cancelled" and held(at, "detection") is not first
    release.set()


def test_a_refresh_keeps_the_session(monkeypatch):
    at = app(empty=True)
    at.switch_page(PAGES["data"]).run()
    at.file_uploader(key="data_upload").upload("sales.csv", _csv(), "text/csv").run()
    sid, key = at.session_state[ui.SESSION_ID], at.session_state[ui.BROWSER_KEY]
    assert at.query_params[sessions.PARAM] == [sid] or at.query_params[sessions.PARAM] == sid
    # the same browser (its cookie holds the key the page set) with the same URL: a refresh
    monkeypatch.setattr(sessions, "_cookies", lambda: {sessions.COOKIE: key})
    again = app(sid=sid)
    assert again.session_state[ui.DATA_NAME] == "sales.csv"
    assert again.session_state[ui.FRAME] is at.session_state[ui.FRAME]
    assert again.session_state[ui.SESSION_ID] == sid
    fresh = app(sid="not-a-known-id")
    assert fresh.session_state[ui.DATA_NAME] == "demo: regimes"
    assert fresh.session_state[ui.SESSION_ID] != "not-a-known-id"


def test_another_browser_opening_a_session_link_gets_a_fresh_session(monkeypatch):
    """Session fixation: a link with ?s= never hands over the live session to a browser that
    lacks its key (no cookie, or another browser's)."""
    at = app(empty=True)
    at.switch_page(PAGES["data"]).run()
    at.file_uploader(key="data_upload").upload("secret.csv", _csv(), "text/csv").run()
    sid = at.session_state[ui.SESSION_ID]
    for cookies in ({}, {sessions.COOKIE: "another-browser"}):
        monkeypatch.setattr(sessions, "_cookies", lambda cookies=cookies: cookies)
        other = app(sid=sid)
        assert other.session_state[ui.SESSION_ID] != sid
        assert other.session_state[ui.DATA_NAME] != "secret.csv"
        assert "belongs to a session of another browser" in everything(other)
        # and what the other browser does next does not reach the first session's store entry
        other.switch_page(PAGES["data"]).run()
        other.file_uploader(key="data_upload").upload("mine.csv", _csv(), "text/csv").run()
    key = at.session_state[ui.BROWSER_KEY]
    assert sessions.store().load(sid, sessions.key_hash(key))[ui.DATA_NAME] == "secret.csv"


class _FinishesMidRun:
    """A detection that is still running when the page starts and done by the time its
    results are drawn (what a fast detection does), to pin the gate chart's points."""

    def __init__(self, result):
        self.result, self.reads = result, 0

    @property
    def status(self) -> str:
        self.reads += 1
        return "running" if self.reads == 1 else "done"


def test_detected_points_reach_the_gate_chart_in_the_same_run(series, fitted, monkeypatch):
    at = seed(app(empty=True), series, fitted)
    at.switch_page(PAGES["interpret"]).run()
    wait_for_tasks(at)  # the whole-series trace: the gate chart is drawn
    det = changepoints.detect(series, fitted)
    assert det.change_points
    task = _FinishesMidRun(det)
    monkeypatch.setattr(background, "detection", lambda: background.DetectionRun(task, []))
    at.run()
    assert not at.exception
    share = next(c.proto.spec for c in at.get("plotly_chart") if "leaning on" in c.proto.spec)
    assert '"change point"' in share


def test_the_legacy_navigation_of_raw_file_names_stays_hidden():
    # a fresh server's first request runs in Streamlit's legacy pages/ mode, whose navigation
    # lists file names (explain, training...); config hides it, and ui.router.navigate shows
    # only the router's own navigation (titles)
    import streamlit as st
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showSidebarNavigation"] is False
    at = app()
    assert not at.exception
    assert st.get_option("client.showSidebarNavigation") is False, "set back after navigate"


def test_the_data_page_says_up_front_how_many_rows_were_inserted():
    from tests.test_data import _irregular

    at = app(empty=True)
    at.switch_page(PAGES["data"]).run()
    raw = _irregular().to_csv(index=False).encode()
    at.file_uploader(key="data_upload").upload("brent.csv", raw, "text/csv").run()
    assert not at.exception and not at.error, texts(at.error)
    warning = texts(at.warning)
    assert "rows were inserted" in warning and "your table has 300 rows" in warning
    assert "use your table's own rows" in warning


def test_a_refresh_keeps_the_history_shown(monkeypatch):
    at = app(empty=True)
    at.select_slider(key="history_points").set_value("all").run()
    assert ui.HISTORY in at.session_state and at.session_state[ui.HISTORY] == "all"
    key = at.session_state[ui.BROWSER_KEY]
    monkeypatch.setattr(sessions, "_cookies", lambda: {sessions.COOKIE: key})  # same browser
    again = app(empty=True, sid=at.session_state[ui.SESSION_ID])  # the same URL, reloaded
    assert again.select_slider(key="history_points").value == "all"
    assert app(empty=True).select_slider(key="history_points").value == 500  # a new visit
