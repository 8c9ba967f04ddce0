"""Train: fit in the background with live progress and a Cancel button, then save the model."""

import streamlit as st

from lstm_core import checkpoint, data, plots
from lstm_core.errors import LstmCoreError
from lstm_core.report_text import training_summary
from ui import actions, background, chosen_settings, guards, panels, router, settings_form, state
from ui.labels import checkpoint_stem, device_label

router.hand_over()
st.title("Train")
cfg = state.config()
guards.require(
    state.frame(), "No data yet: pick a demo or upload a table first.", "data", "Go to Data"
)
prep, error = actions.prepared()
if error:
    guards.fail(
        f"The data cannot be used as configured: {error}", "data", "Fix the columns on Data"
    )
device, error = settings_form.device(cfg)
if error:
    guards.fail(error, "settings", "Choose another device in Model settings")
st.badge(f"device: {device_label(device)}", icon=":material/memory:", color="green")
panel = state.panel()
chosen_settings.show(cfg, prep, panel, actions.set_config)
if panel is None:
    st.caption(
        f"Training on {state.get(state.DATA_NAME)}: targets {', '.join(prep.targets)}; "
        f"inputs {', '.join(prep.columns)}; up to {cfg.training.epochs} epochs."
    )
    d = cfg.data
    loose = data.few_windows(len(prep.frame), d.lookback, d.horizon, cfg.training.val_fraction)
    if loose:
        st.warning(f"{loose[0].upper()}{loose[1:]}.")
        better = data.reliable_lookback(len(prep.frame), d.horizon, cfg.training.val_fraction)
        if better:
            st.button(
                f"Use lookback {better}",
                on_click=actions.set_config,
                args=(cfg.replace(data={"lookback": better}),),
                key="training_lookback",
            )
        router.link("settings", "Change the lookback or horizon in Model settings")
else:  # one model over every series
    check = panels.check(panel)
    st.caption(
        f"Training one model for every series of {state.get(state.DATA_NAME)} "
        f"({len(panel):,} series; each scaled on its own, windows drawn in equal shares): "
        f"targets {', '.join(prep.targets)}; inputs {', '.join(prep.columns)}; up to "
        f"{cfg.training.epochs} epochs. {check.training_line(cfg)}"
    )
    if not check.trainable:
        guards.fail(
            "No series of this panel is long enough for these settings.",
            "settings",
            "Lower the lookback or horizon in Model settings",
        )
busy = background.training()
if st.button("Train a new model", type="primary", disabled=busy, key="training_start"):
    error = background.start_training(cfg, prep if panel is None else panel)
    if error:
        guards.fail(error, "settings", "Change the lookback or horizon in Model settings")
    st.rerun()  # the sidebar and this page follow the new run
st.caption(background.limits_text())
running = background.training()


@st.fragment(run_every=0.5 if running else None)
def live() -> None:
    job = background.job()
    if job is None or not background.training():
        if running:  # it ended while shown: its model goes into use, the page is redrawn
            background.collect_training()
            st.rerun()
        return
    snap = job.snapshot()
    st.progress(snap.fraction, text=background.training_text(snap))
    st.button(
        "Cancel",
        help="Stops after the current batch and keeps the best weights so far; cancelled "
        "before the first epoch ends, the previous model stays in use.",
        on_click=job.cancel,
        disabled=snap.cancelling,
        key="training_cancel",
    )
    batch_loss = snap.batch_loss  # the epoch's loss so far, a few times a second
    if snap.train_loss or batch_loss:
        figure = plots.loss_figure(
            snap.train_loss,
            snap.val_loss,
            0,
            snap.epochs,
            title=plots.LIVE_LOSS_TITLE,
            batch_loss=batch_loss,
        )
        st.plotly_chart(figure, key="training_loss")
    else:
        st.caption("The loss curve of this run starts with its first batches.")


live()
fc = state.forecaster()
if fc is not None and not running:
    h = fc.history_
    st.subheader(f"Model in use: {state.get(state.MODEL_NAME)}")
    st.plotly_chart(
        plots.loss_figure(h.train_loss, h.val_loss, h.best_epoch), key="training_history"
    )
    st.info("\n\n".join(training_summary(h)))
    job = background.job()
    if job is not None and fc is job.result:  # trained here: offer to save it
        default = f"{state.get(state.DATA_NAME)} {' '.join(fc.targets_)} "
        default += f"{fc.config_.data.lookback}-{fc.config_.data.horizon}"
        name = st.text_input("Save this model as a checkpoint named", default, key="training_name")
        try:
            stem = checkpoint_stem(name)
            st.caption(
                f"It will be saved as **{stem}{checkpoint.SUFFIX}** in the checkpoint folder."
            )
        except LstmCoreError as e:  # an unusable name is said, not raised
            stem = None
            st.caption(f":red[{e}]")
        if st.button("Save checkpoint", disabled=stem is None, key="training_save"):
            saved, error = actions.save_checkpoint(fc, name)
            if error:
                st.error(error)
            else:
                st.success(f"Saved {saved.name}; it is listed on the Checkpoints page.")

st.divider()
names = [c.name for c in checkpoint.list_checkpoints(actions.checkpoint_dir()) if c.error is None]
pick, load = st.columns([3, 1], vertical_alignment="bottom")
pick.selectbox("Or load a saved checkpoint", names, key="training_checkpoint")
load.button(
    "Load",
    disabled=not names,
    key="training_load",
    on_click=actions.load_checkpoint_callback,
    args=("training_checkpoint",),
)
router.link("forecast", "See the forecast")
