"""Model settings: a form for the common settings and the YAML of the whole config, kept in sync."""

import streamlit as st

from lstm_core.config import key_section
from lstm_core.model_size import summarize
from ui import actions, router, settings_form, state
from ui.labels import model_lines

router.hand_over()
st.title("Model settings")
settings_form.sync()
error = state.get(state.SETTINGS_ERROR)  # SettingsError
at_key = error is not None and error.source == "yaml" and key_section(error.key) is not None
if error:
    st.error(
        f"Not applied; the last valid settings are kept. {'' if at_key else error.message}",
        icon=":material/error:",
    )

form_col, yaml_col = st.columns(2)
with form_col, st.form("settings_form"):  # no widget bounds: Config names a bad value's range
    st.subheader("Common settings")
    a, b = st.columns(2)
    label = settings_form.LABELS
    a.number_input(label["settings_lookback"], step=1, key="settings_lookback")
    b.number_input(label["settings_horizon"], step=1, key="settings_horizon")
    a.number_input(label["settings_hidden_size"], step=1, key="settings_hidden_size")
    b.number_input(label["settings_num_layers"], step=1, key="settings_num_layers")
    a.number_input(label["settings_dropout"], step=0.05, key="settings_dropout")
    b.number_input(label["settings_num_heads"], step=1, key="settings_num_heads")
    a.checkbox(label["settings_bidirectional"], key="settings_bidirectional")
    b.checkbox(label["settings_use_attention"], key="settings_use_attention")
    a.number_input(label["settings_epochs"], step=1, key="settings_epochs")
    b.number_input(label["settings_batch_size"], step=8, key="settings_batch_size")
    a.number_input(
        label["settings_learning_rate"], step=1e-4, format="%.5f", key="settings_learning_rate"
    )
    b.number_input(label["settings_patience"], step=1, key="settings_patience")
    a.selectbox(label["settings_device"], ["auto", "cpu", "cuda", "mps"], key="settings_device")
    st.form_submit_button("Apply settings", type="primary", on_click=settings_form.apply_form)

with yaml_col, st.form("settings_yaml"):
    st.subheader("YAML (the whole config)")
    for section, key in settings_form.YAML_KEYS.items():
        st.text_area(
            f"{section}:", key=key, height={"data": 250, "lstm": 175, "training": 270}[section]
        )
        if at_key and key_section(error.key) == section:
            st.error(error.message, icon=":material/arrow_upward:")
    st.form_submit_button("Apply YAML", type="primary", on_click=settings_form.apply_yaml)

cfg = state.config()
prep, _ = actions.prepared()
width = len(prep.columns) if prep else max(len(cfg.data.targets) + len(cfg.data.covariates), 1)
st.subheader("The model these settings build")
st.markdown("\n".join(f"- {line}" for line in model_lines(summarize(cfg, width))))
down, up = st.columns(2)
down.download_button("Download config.yaml", cfg.to_yaml(), "config.yaml", "text/yaml")
up.file_uploader("Upload a config YAML", key="settings_upload", on_change=settings_form.upload_yaml)
router.link("training", "Next: train")
