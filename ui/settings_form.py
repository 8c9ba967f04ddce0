"""The settings page's widgets kept in step with the Config: a form of common fields and one
YAML text per section; either applies only if the whole config validates."""

from __future__ import annotations

import streamlit as st

from lstm_core import train
from lstm_core.config import Config, config_from_sections, config_sections
from lstm_core.errors import ConfigError
from ui.actions import set_config
from ui.keys import SettingsError
from ui.state import SETTINGS_ERROR, SETTINGS_SYNCED, config, get

FORM_FIELDS = {  # widget key -> (section, field)
    "settings_lookback": ("data", "lookback"),
    "settings_horizon": ("data", "horizon"),
    "settings_hidden_size": ("lstm", "hidden_size"),
    "settings_num_layers": ("lstm", "num_layers"),
    "settings_dropout": ("lstm", "dropout"),
    "settings_num_heads": ("lstm", "num_heads"),
    "settings_bidirectional": ("lstm", "bidirectional"),
    "settings_use_attention": ("lstm", "use_attention"),
    "settings_epochs": ("training", "epochs"),
    "settings_batch_size": ("training", "batch_size"),
    "settings_learning_rate": ("training", "learning_rate"),
    "settings_patience": ("training", "patience"),
    "settings_device": ("training", "device"),
}
# config key ("lstm.num_layers") -> widget key, to name a refused field as the form does
FIELD_KEYS = {f"{sec}.{name}": key for key, (sec, name) in FORM_FIELDS.items()}
LABELS = {  # widget key -> its label, also naming the field in a refusal
    "settings_lookback": "Lookback (steps the model reads)",
    "settings_horizon": "Horizon (steps forecast)",
    "settings_hidden_size": "Hidden size (0 = automatic)",
    "settings_num_layers": "LSTM layers",
    "settings_dropout": "Dropout",
    "settings_num_heads": "Attention heads",
    "settings_bidirectional": "Bidirectional LSTM",
    "settings_use_attention": "Attention pooling",
    "settings_epochs": "Epochs (most)",
    "settings_batch_size": "Batch size",
    "settings_learning_rate": "Learning rate",
    "settings_patience": "Early-stopping patience (epochs)",
    "settings_device": "Device",
}
YAML_KEYS = {name: f"settings_yaml_{name}" for name in ("data", "lstm", "training")}


def device(cfg: Config) -> tuple[str, str | None]:
    """The device training will use, in words, or why the configured one is unavailable."""
    try:
        return train.device_name(train.pick_device(cfg.training.device)), None
    except ConfigError as e:
        return "", str(e)


def sync() -> None:
    """Point every settings widget at the current config (when it changed elsewhere)."""
    cfg = config()
    if get(SETTINGS_SYNCED) is cfg and all(k in st.session_state for k in YAML_KEYS.values()):
        return
    raw = cfg.to_dict()
    for key, (section, name) in FORM_FIELDS.items():
        value = raw[section][name]
        st.session_state[key] = 0 if value is None else value  # hidden size 0 = automatic
    for section, text in config_sections(cfg).items():
        st.session_state[YAML_KEYS[section]] = text
    st.session_state[SETTINGS_SYNCED] = cfg
    st.session_state.pop(SETTINGS_ERROR, None)  # the text it was about is gone


def _accept(cfg: Config, source: str) -> None:
    """Apply ``cfg`` unless its device is missing on this machine (refused here, not on Train)."""
    _, error = device(cfg)
    if error:
        st.session_state[SETTINGS_ERROR] = SettingsError(error, "training.device", source)
        return
    set_config(cfg)
    sync()


def apply_form() -> None:
    changes: dict[str, dict] = {"data": {}, "lstm": {}, "training": {}}
    for key, (section, name) in FORM_FIELDS.items():
        changes[section][name] = st.session_state[key]
    changes["lstm"]["hidden_size"] = changes["lstm"]["hidden_size"] or None
    try:
        _accept(config().replace(**changes), "form")
    except ConfigError as e:
        field = FIELD_KEYS.get(e.key or "")
        said = f'"{LABELS[field]}": {e}' if field else str(e)  # the field as the form names it
        st.session_state[SETTINGS_ERROR] = SettingsError(said, e.key, "form")


def apply_yaml() -> None:
    texts = {section: st.session_state[key] for section, key in YAML_KEYS.items()}
    try:
        _accept(config_from_sections(texts), "yaml")
    except ConfigError as e:
        st.session_state[SETTINGS_ERROR] = SettingsError(str(e), e.key, "yaml")


def upload_yaml() -> None:
    up = st.session_state.get("settings_upload")
    if up is None:
        return
    try:
        cfg = Config.from_yaml(up.getvalue().decode("utf-8", errors="replace"))
    except ConfigError as e:
        st.session_state[SETTINGS_ERROR] = SettingsError(f"{up.name}: {e}", e.key, "upload")
        return
    _accept(cfg, "upload")
