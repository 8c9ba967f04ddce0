"""Checkpoints: list saved models with their metadata; load, download, delete (with undo),
upload."""

import streamlit as st

from lstm_core import checkpoint
from lstm_core.config import config_yaml
from lstm_core.errors import LstmCoreError
from lstm_core.text import format_metrics
from ui import actions, router
from ui.labels import checkpoint_table, metrics_frame

router.hand_over()
st.title("Checkpoints")
folder = actions.checkpoint_dir()
st.caption(
    f"Saved in the folder {folder.name}/. Files are safetensors with JSON metadata: nothing is "
    "ever unpickled. A file saved here records (as a hash) the browser that saved it: only it "
    "may delete the file. Files without an owner (saved by the CLI or an older version) only a "
    "server run with STUDIO_ADMIN=1 may delete; the demo is kept."
)
if st.session_state.get(actions.UNDO):
    st.button("Undo the delete", key="checkpoints_undo_button", on_click=actions.undo_delete)
infos = checkpoint.list_checkpoints(folder)
if not infos:
    st.info("No checkpoints saved yet: train a model and save it, or upload a checkpoint below.")
    router.link("training", "Go to Train")
else:
    st.dataframe(checkpoint_table(infos), hide_index=True)
    by_name = {i.name: i for i in infos}
    if st.session_state.get("checkpoints_name") not in by_name:  # deleted, or none chosen yet
        st.session_state["checkpoints_name"] = infos[0].name
    info = by_name[st.selectbox("Checkpoint", list(by_name), key="checkpoints_name")]
    if info.series > 1:
        st.caption(
            f"{info.name} is one model for a panel of {info.series:,} series: it forecasts "
            "those series (by id) of a panel read on the Data page."
        )
    with st.expander(f"Details of {info.name}: config and backtest metrics"):
        st.dataframe(format_metrics(metrics_frame(info.metrics)))
        st.code(config_yaml(info.config), language="yaml")
    load, download, delete = st.columns(3)
    load.button(
        "Load and use",
        type="primary",
        key="checkpoints_load",
        on_click=actions.load_checkpoint_callback,
        args=("checkpoints_name",),
    )
    download.download_button(
        "Download",
        info.path.read_bytes(),
        info.path.name,
        "application/octet-stream",
        key="checkpoints_download",
    )
    why = actions.delete_refusal(info.path)  # None: this visitor may delete it
    popover = (
        f"checkpoints_delete_popover_{info.name}"  # keyed by name: no confirmation carries over
    )
    with delete.popover(
        "Delete...", disabled=why is not None, help=why, key=popover, on_change="rerun"
    ):
        sure = st.checkbox(f"Yes, delete {info.name}", key=f"checkpoints_sure_{info.name}")
        st.button(
            "Delete",
            disabled=not sure,
            key="checkpoints_delete",
            on_click=actions.delete_checkpoint,
            args=(info.path, popover),
        )
        st.caption("It goes to the trash for a day; Undo brings it back.")

st.subheader("Upload a checkpoint")
added = st.session_state.get(actions.ADDED, 0)  # a new key clears the uploader
upload = st.file_uploader(
    "A .safetensors checkpoint made by AttentiveLSTM Studio",
    key="checkpoints_upload" + (f"_{added}" if added else ""),
)
if upload is not None:
    try:
        fc = checkpoint.loads(upload.getvalue(), upload.name)
    except LstmCoreError as e:
        st.error(f"Refused: {e}")
        st.stop()
    except Exception as e:  # noqa: BLE001 - an untrusted upload: say why, never a traceback
        st.error(f"Refused: {upload.name} could not be read as a checkpoint ({type(e).__name__}).")
        st.stop()
    holds = f"{fc.holds}; " if fc.holds else ""
    st.success(
        f"{upload.name} is valid: {holds}targets {', '.join(fc.targets_)}, inputs "
        f"{', '.join(fc.inputs_)}."
    )
    st.button(
        "Add it to the list and use it",
        key="checkpoints_add",
        on_click=actions.add_checkpoint,
        args=(fc, upload.name),
    )
