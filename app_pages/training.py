"""Train: fit in the background with a live loss chart and a Cancel button, then save it."""

import streamlit as st

import ui
from lstm_core import checkpoint, plots, summary

st.title("Train")
cfg = ui.config()
ui.require(ui.frame(), "No data yet: pick a demo or upload a table first.", "data", "Go to Data")
prep, error = ui.prepared()
if error:
    ui.fail(f"The data cannot be used as configured: {error}", "data", "Fix the columns on Data")
device, error = ui.device(cfg)
if error:
    ui.fail(error, "settings", "Choose another device in Model settings")
st.badge(f"device: {device}", icon=":material/memory:", color="green")
st.caption(
    f"Training on {ui.get(ui.DATA_NAME)}: targets {', '.join(prep.targets)}; "
    f"inputs {', '.join(prep.columns)}; up to {cfg.training.epochs} epochs."
)
if st.button("Train a new model", type="primary", disabled=ui.training(), key="training_start"):
    error = ui.start_training(cfg, prep)
    if error:
        ui.fail(error, "settings", "Change the lookback or horizon in Model settings")
job, running = ui.job(), ui.training()


@st.fragment(run_every=0.5 if running else None)
def progress() -> None:
    job = ui.job()
    if job is None:
        return
    snap = job.snapshot()
    st.progress(snap.fraction, text=snap.text)
    if snap.status == "failed":
        st.error(snap.text)
    if snap.status == "running":
        st.button(
            "Cancel (keeps the best weights so far)", on_click=job.cancel, key="training_cancel"
        )
    elif not ui.get(ui.JOB_COLLECTED):
        ui.collect_job()
        st.rerun()  # the whole page shows the new model
    if snap.train_loss:
        best = job.result.history_.best_epoch if job.result else 0
        st.plotly_chart(
            plots.loss_figure(snap.train_loss, snap.val_loss, best, snap.epochs),
            key="training_loss",
        )
    if job.result is not None:
        st.success("\n\n".join(summary.training_summary(job.result.history_)))


progress()
fc = ui.forecaster()
if fc is not None and (job is None or fc is not job.result):
    h = fc.history_
    st.subheader(f"Model in use: {ui.get(ui.MODEL_NAME)}")
    st.plotly_chart(
        plots.loss_figure(h.train_loss, h.val_loss, h.best_epoch), key="training_history"
    )
    st.info("\n\n".join(summary.training_summary(h)))
elif fc is not None:
    with st.form("training_save"):
        name = st.text_input(
            "Save this model as a checkpoint named", value="my-model", key="training_name"
        )
        if st.form_submit_button("Save checkpoint"):
            saved, error = ui.save_checkpoint(fc, name)
            if error:
                st.error(error)
            else:
                st.success(f"Saved {saved.name}; it is listed on the Checkpoints page.")

st.divider()
infos = [c for c in checkpoint.list_checkpoints(ui.checkpoint_dir()) if c.error is None]
pick, load = st.columns([3, 1], vertical_alignment="bottom")
chosen = pick.selectbox(
    "Or load a saved checkpoint", infos, format_func=lambda c: c.name, key="training_checkpoint"
)
if load.button("Load", disabled=not infos, key="training_load"):
    ui.open_checkpoint(chosen.path)
    st.rerun()
st.page_link(ui.PAGES["forecast"], label="See the forecast", icon=":material/arrow_forward:")
