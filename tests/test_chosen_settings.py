"""AppTest: the settings chosen from the data (lstm_core.defaults) reach an upload, as the CLI
chooses them; the Train page says what they are and why, and offers them where they differ."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_core import defaults
from lstm_core.config import Config
from lstm_core.data import load_demo, prepare
from tests.test_pages import PAGES, app, texts
from ui import state as ui


def _hourly(n: int = 700) -> pd.DataFrame:
    t = np.arange(n)
    y = np.sin(2 * np.pi * t / 24) + 0.1 * np.random.default_rng(0).normal(size=n)
    return pd.DataFrame({"time": pd.date_range("2024-01-01", periods=n, freq="h"), "y": y})


def _upload(at, df: pd.DataFrame):
    at.switch_page(PAGES["data"]).run()
    at.file_uploader(key="data_upload").upload("hourly.csv", df.to_csv(index=False).encode(),
                                               "text/csv").run()
    return at


def test_an_upload_gets_the_settings_the_cli_would_choose():
    df = _hourly()
    at = _upload(app(empty=True), df)
    assert not at.exception and not at.error, texts(at.error)
    cfg = at.session_state[ui.CONFIG]
    choice = defaults.for_data(prepare(df, cfg.data), cfg)
    assert (cfg.data.lookback, cfg.lstm.patch_len) == (168, 6) == (choice.lookback,
                                                                   choice.patch_len)
    assert (cfg.training.epochs, cfg.training.patience) == (choice.epochs, choice.patience)
    at.switch_page(PAGES["training"]).run()
    assert not at.exception
    assert "Settings chosen from the data: lookback 168: 1 x a week" in texts(at.caption)
    assert not [b for b in at.button if b.key == "training_chosen"]


def test_the_demo_keeps_its_own_settings_and_is_offered_the_chosen_ones():
    at = app()
    demo = load_demo("regimes").config
    assert at.session_state[ui.CONFIG].data.lookback == demo.data.lookback == 48
    at.switch_page(PAGES["training"]).run()
    assert "are not those chosen from this data" in texts(at.caption)
    at.button(key="training_chosen").click().run()
    assert not at.exception
    cfg = at.session_state[ui.CONFIG]
    assert cfg.data.lookback == 168 and cfg.training.epochs != demo.training.epochs
    assert "Settings chosen from the data" in texts(at.caption)


def test_settings_of_ones_own_are_kept_on_upload():
    at = app(empty=True)
    own = Config().replace(data={"lookback": 30}, training={"epochs": 3})
    at.session_state[ui.CONFIG] = own
    at = _upload(at, _hourly())
    cfg = at.session_state[ui.CONFIG]
    assert (cfg.data.lookback, cfg.training.epochs) == (30, 3)
