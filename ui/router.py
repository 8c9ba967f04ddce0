"""The pages, their URLs (each title's slug, plus the older spellings), and deep links that work
on the first request to a freshly started server.

Why ``hand_over``: with a top-level ``pages/`` folder, Streamlit starts in its legacy multipage
mode, and until some script calls ``st.navigation`` a deep link such as ``/forecast`` runs
``pages/forecast.py`` alone, without ``app.py``'s set-up, sidebar and first-visit defaults. Every
page therefore checks that the router is running it; if not, it runs ``app.py`` in its place,
within the same script run (so no click is lost), and stops. ``app.py``'s ``st.navigation``
ends the legacy mode for the whole server and runs the page the URL names. (AppTest starts
every run in the legacy mode, so its runs take this path too.)
"""

from __future__ import annotations

import runpy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

ROOT = Path(__file__).resolve().parent.parent
ICON = ROOT / "assets" / "icon.png"  # the tab icon, shipped: nothing is fetched from outside


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to app.py
    title: str
    icon: str
    slug: str  # the URL path shown in the navigation ("" for the default page)
    aliases: tuple[str, ...] = ()  # other URL paths that open the same page


SECTIONS = {
    "Prepare": ("data", "settings", "training"),
    "Results": ("forecast", "interpret"),
    "Manage": ("checkpoints",),
}
PAGES = {
    "data": PageSpec("pages/data.py", "Data", ":material/table_chart:", "data"),
    "settings": PageSpec("pages/settings.py", "Model settings", ":material/tune:", "settings"),
    "training": PageSpec(
        "pages/training.py", "Train", ":material/model_training:", "train", ("training",)
    ),
    "forecast": PageSpec(
        "pages/forecast.py", "Forecast", ":material/show_chart:", "", ("forecast",)
    ),
    "interpret": PageSpec(
        "pages/interpret.py", "Interpret", ":material/visibility:", "interpret", ("explain",)
    ),
    "checkpoints": PageSpec(
        "pages/checkpoints.py", "Checkpoints", ":material/save:", "checkpoints"
    ),
}
DEFAULT = "forecast"

_run = threading.local()  # is the router running the page in this script thread?
# client.showSidebarNavigation is a server-wide option: lifting it for one session's
# st.navigation must not interleave with another session setting it back
_NAV_OPTION = threading.Lock()


def navigation() -> dict[str, list]:
    """The pages by section for ``st.navigation``; each alias is a hidden page on the same
    script, so both spellings of a URL open it."""
    sections: dict[str, list] = {}
    for section, names in SECTIONS.items():
        entries = []
        for name in names:
            spec = PAGES[name]
            entries.append(
                st.Page(
                    spec.file,
                    title=spec.title,
                    icon=spec.icon,
                    default=name == DEFAULT,
                    url_path=spec.slug or f"{name}-home",  # the default page's URL is "/" anyway
                )
            )
            entries += [
                st.Page(spec.file, title=spec.title, url_path=alias, visibility="hidden")
                for alias in spec.aliases
            ]
        sections[section] = entries
    return sections


def navigate() -> StreamlitPage:
    """``st.navigation`` over ``navigation()``, shown in the sidebar.

    ``.streamlit/config.toml`` sets ``client.showSidebarNavigation = false`` so that the legacy
    ``pages/`` mode of a freshly started server never lists the raw file names (``explain``,
    ``training``...) before the router runs; the option is lifted only while the router's own
    navigation (with titles) is declared, and set back for the next legacy run.
    """
    with _NAV_OPTION:
        st.set_option("client.showSidebarNavigation", True)
        try:
            return st.navigation(navigation())
        finally:
            st.set_option("client.showSidebarNavigation", False)


@contextmanager
def routed() -> Iterator[None]:
    """Mark the page run inside this block as run by the router (app.py)."""
    _run.active = True
    try:
        yield
    finally:
        _run.active = False


def hand_over() -> None:
    """Called first by every page: when Streamlit's legacy mode ran the page without the router,
    run ``app.py`` instead, which runs the page, then stop (see the module docstring)."""
    if getattr(_run, "active", False):
        return
    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
    st.stop()


def link(page: str, label: str) -> None:
    """A link to one of the app's pages (a markdown link would start a new session)."""
    st.page_link(PAGES[page].file, label=label, icon=":material/arrow_forward:")
