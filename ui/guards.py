"""What a page checks before it draws: prerequisites, with guidance and a link when missing."""

from __future__ import annotations

from typing import TypeVar

import streamlit as st

from lstm_core.forecaster import Forecaster
from ui.router import link
from ui.state import MODEL_NAME, get

T = TypeVar("T")


def require(value: T | None, message: str, page: str, label: str) -> T:
    """Stop the page with guidance and a link when a prerequisite is missing."""
    if value is None:
        st.info(message)
        link(page, label)
        st.stop()
    return value


def fail(message: str, page: str, label: str) -> None:
    """Show an error the user can fix elsewhere, with a link there, and stop the page."""
    st.error(message)
    link(page, label)
    st.stop()


def model_cannot(fc: Forecaster, error: Exception, verb: str) -> None:
    """Stop the page: the model in use cannot ``verb`` the current data; link to Train."""
    fail(
        f"The model in use ({get(MODEL_NAME)}, inputs {', '.join(fc.inputs_)}) cannot {verb} "
        f"this data: {error}",
        "training",
        "Train a model on this data",
    )


def pick_target(fc: Forecaster, key: str) -> str:
    """A target selector when the model forecasts several; the only target otherwise."""
    return st.selectbox("Target", fc.targets_, key=key) if len(fc.targets_) > 1 else fc.targets_[0]
