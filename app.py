"""AttentiveLSTM Studio: the router (pages, sidebar widgets every page shares)."""

import streamlit as st

from ui import actions, background, router, sessions, sidebar, state

st.set_page_config(page_title="AttentiveLSTM Studio", page_icon=str(router.ICON), layout="wide")
sessions.restore()  # a refreshed page keeps its data and model (the session id is in the URL)
actions.start_session()  # first visit: the demo data and the demo checkpoint, so results show
background.heartbeat()  # this session is alive; its background work keeps it so
background.collect_training()  # a run that finished while the user was elsewhere
pg = router.navigate()  # titles in the sidebar, never the raw file names
sidebar.draw()
state.show_notice()
with router.routed():
    pg.run()
