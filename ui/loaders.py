"""Cached loaders (shared by every session) and a per-session memo of slow results."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pandas as pd
import streamlit as st

from lstm_core import checkpoint, data
from lstm_core.forecaster import Forecaster
from lstm_core.panel_forecaster import PanelForecaster
from ui.state import MEMO, MODEL_TOKEN, data_key, get

T = TypeVar("T")
MEMO_ENTRIES = 16  # a session's memo is cleared beyond this many results


@st.cache_data(max_entries=8, show_spinner="Reading the file...")
def read_upload(raw: bytes, name: str) -> pd.DataFrame:
    return data.read_table(raw, name)


@st.cache_resource(max_entries=8, show_spinner="Loading the checkpoint...")
def load_checkpoint(path: str, mtime: float) -> Forecaster | PanelForecaster:
    """Read-only and shared by every session: never fit, train or edit what this returns."""
    return checkpoint.load(path)


def memo(name: str, compute: Callable[[], T], per_series: bool = True) -> T:
    """This session's result of a slow computation, cached by the data in use (its content
    hash; for a panel also the series shown, unless the result is the whole panel's:
    ``state.data_key``) and the model's fingerprint (the same upload or checkpoint again
    reuses it)."""
    key = (name, data_key(per_series), get(MODEL_TOKEN))
    store = st.session_state.setdefault(MEMO, {})
    if key not in store:
        if len(store) > MEMO_ENTRIES:
            store.clear()
        store[key] = compute()
    return store[key]
