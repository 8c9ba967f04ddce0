"""/explain (the Interpret page's older name) on a freshly started server: Streamlit's legacy
pages/ mode knows pages by file name, so this name hands over to the router, which runs
interpret.py (see ui.router)."""

from ui import router

router.hand_over()
