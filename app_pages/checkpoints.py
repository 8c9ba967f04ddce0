"""Checkpoints: list saved models with their metadata; load, download, delete, upload."""

import streamlit as st

import ui
from lstm_core import checkpoint, summary
from lstm_core.errors import LstmCoreError

st.title("Checkpoints")
folder = ui.checkpoint_dir()
st.caption(
    f"Saved in the folder {folder.name}/. Files are safetensors with JSON metadata: "
    "nothing is ever unpickled."
)
infos = checkpoint.list_checkpoints(folder)
if not infos:
    st.info("No checkpoints saved yet: train a model and save it, or upload a checkpoint below.")
    st.page_link(ui.PAGES["training"], label="Go to Train", icon=":material/arrow_forward:")
else:
    st.dataframe(summary.checkpoint_table(infos), hide_index=True)
    info = st.selectbox("Checkpoint", infos, format_func=lambda i: i.name, key="checkpoints_name")
    name, path = info.name, info.path
    with st.expander(f"Details of {name}: config and backtest metrics"):
        st.dataframe(summary.metrics_frame(info.metrics))
        st.code(summary.config_yaml(info.config), language="yaml")
    load, download, delete = st.columns(3)
    if load.button("Load and use", type="primary", key="checkpoints_load"):
        try:
            ui.open_checkpoint(path)
            st.success(f"Loaded {name}: the Forecast and Interpret pages now use it.")
        except LstmCoreError as e:
            st.error(f"{name} cannot be loaded: {e}")
    download.download_button(
        "Download",
        path.read_bytes(),
        path.name,
        "application/octet-stream",
        key="checkpoints_download",
    )
    shipped = path == ui.DEMO_CHECKPOINT  # new visitors start with it
    with delete.popover(
        "Delete...", disabled=shipped, help="The shipped demo is kept" if shipped else None
    ):
        sure = st.checkbox(f"Yes, delete {name} for good", key="checkpoints_sure")
        if st.button("Delete", disabled=not sure, key="checkpoints_delete"):
            checkpoint.delete(name, folder)
            st.rerun()

st.subheader("Upload a checkpoint")
upload = st.file_uploader(
    "A .safetensors checkpoint made by AttentiveLSTM Studio", key="checkpoints_upload"
)
if upload is not None:
    try:
        fc = checkpoint.loads(upload.getvalue(), upload.name)
    except LstmCoreError as e:
        st.error(f"Refused: {e}")
        st.stop()
    st.success(
        f"{upload.name} is valid: targets {', '.join(fc.targets_)}, inputs {', '.join(fc.inputs_)}."
    )
    if st.button("Add it to the list and use it", key="checkpoints_add"):
        saved, error = ui.save_checkpoint(fc, upload.name)
        if error:
            st.error(error)
        else:
            ui.open_checkpoint(saved)
            st.rerun()
