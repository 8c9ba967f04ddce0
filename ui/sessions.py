"""A session that survives a browser refresh: its id in the URL (``?s=...``), its state here.

Streamlit starts a new, empty session on every page load, so a refresh used to lose the upload
and the model. Each session now gets a random id that is written into the URL; the state under
``ui.state.KEPT`` is copied into a server-side store under that id whenever it changes, and a
new session whose URL carries a known id starts from that copy. Entries are dropped after
``IDLE_LIMIT_S`` without a visit, and the oldest go first beyond ``MAX_SESSIONS``. Whoever has
the URL has the session: share a link without its ``?s=`` part to share only the app.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

import streamlit as st

from ui.state import KEPT, SESSION_ID

PARAM = "s"
IDLE_LIMIT_S = 2 * 3600.0
MAX_SESSIONS = 64


class SessionStore:
    """Kept state per session id, with an idle limit and a size cap; safe across threads."""

    def __init__(self, idle_limit_s: float = IDLE_LIMIT_S, max_sessions: int = MAX_SESSIONS):
        self.idle_limit_s, self.max_sessions = idle_limit_s, max_sessions
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def save(self, sid: str, values: dict[str, Any], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._items[sid] = (now, dict(values))
            self._items.move_to_end(sid)
            self._expire(now)

    def load(self, sid: str, now: float | None = None) -> dict[str, Any] | None:
        """The state kept under ``sid``, or None if it is unknown or has expired."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            held = self._items.get(sid)
            return None if held is None else dict(held[1])

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self, now: float) -> None:
        while self._items:
            sid, (seen, _) = next(iter(self._items.items()))
            if now - seen <= self.idle_limit_s and len(self._items) <= self.max_sessions:
                break
            del self._items[sid]


@st.cache_resource
def store() -> SessionStore:
    """The one store of this server process (shared by every session, keyed by random ids)."""
    return SessionStore()


def restore() -> None:
    """At the top of every run: bring back the state a refreshed page's id holds, or give a
    new session an id; then make sure the URL carries it (page links drop query parameters)."""
    sid = st.session_state.get(SESSION_ID)
    if sid is None:
        asked = st.query_params.get(PARAM)
        kept = store().load(asked) if asked else None
        if kept is not None:
            st.session_state.update(kept)
            sid = asked
        else:
            sid = secrets.token_urlsafe(12)
        st.session_state[SESSION_ID] = sid
        keep()
    if st.query_params.get(PARAM) != sid:
        st.query_params[PARAM] = sid


def keep() -> None:
    """Copy this session's kept keys into the store (cheap: the values are references)."""
    sid = st.session_state.get(SESSION_ID)
    if sid is not None:
        store().save(sid, {k: st.session_state[k] for k in KEPT if k in st.session_state})
