"""The settings chosen from the data (``lstm_core.defaults``, as the CLI chooses them): applied
to a new upload unless the user set their own, and shown on the Train page with their reasons,
one click away when the settings in use differ (a demo keeps its own, which its shipped
checkpoint was trained with)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lstm_core import data, defaults
from lstm_core.config import Config
from lstm_core.data import Prepared
from lstm_core.errors import LstmCoreError
from lstm_core.panel import Panel
from ui.state import config, get, panel, put

Apply = Callable[[Config], None]  # puts a config in use (ui.actions.set_config)

CHOSEN = "CHOSEN_SETTINGS"  # Config: the last one the chosen settings were applied to


def _fields(cfg: Config) -> tuple:
    """What a choice sets: lookback, patch, epochs, patience, held-out share."""
    t = cfg.training
    return cfg.data.lookback, cfg.lstm.patch_len, t.epochs, t.patience, t.val_fraction


def _automatic(cfg: Config) -> bool:
    """Whether ``cfg``'s chosen fields are nobody's own: the defaults, a demo's, or chosen."""
    known = [Config(), *(data.load_demo(name).config for name in data.demo_names())]
    if get(CHOSEN) is not None:
        known.append(get(CHOSEN))
    return _fields(cfg) in {_fields(c) for c in known}


def choice(cfg: Config, prep: Prepared, many: Panel | None) -> defaults.Choice | None:
    """The settings the data calls for with ``cfg``'s horizon, or None when it has none
    (too short: the page says so elsewhere)."""
    try:
        return defaults.for_any(many if many is not None else prep, cfg)
    except LstmCoreError:
        return None


def use_chosen(prep: Prepared | None, apply: Apply) -> None:
    """Put the settings chosen from the current data (``prep``) into the config with ``apply``
    (after an upload), unless the settings in use are the user's own (set on Settings)."""
    if not _automatic(config()):
        return
    picked = choice(config(), prep, panel()) if prep is not None else None
    if picked is not None:
        _use(picked.apply(config()), apply)


def show(cfg: Config, prep: Prepared, many: Panel | None, apply: Apply) -> None:
    """A caption with the chosen settings and why; a button to use them where ``cfg`` differs."""
    picked = choice(cfg, prep, many)
    if picked is None:
        return
    why = "; ".join(picked.reasons)
    if picked.apply(cfg) == cfg:
        st.caption(f"Settings chosen from the data: {why}.")
        return
    d, t = cfg.data, cfg.training
    st.caption(
        f"The settings in use (lookback {d.lookback}, up to {t.epochs} epochs, patience "
        f"{t.patience}) are not those chosen from this data: {why}."
    )
    st.button(
        "Use the settings chosen from the data",
        on_click=_use,
        args=(picked.apply(cfg), apply),
        key="training_chosen",
    )


def _use(cfg: Config, apply: Apply) -> None:
    apply(cfg)
    put({CHOSEN: cfg})
