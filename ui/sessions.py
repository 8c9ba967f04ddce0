"""Sessions that survive a browser refresh and belong to their browser alone.

Who can see what:
- Streamlit starts a new, empty session on every page load, so each session gets a random id,
  written into the URL (``?s=...``), and the state under ``ui.keys.KEPT`` is copied into a
  server-side store under that id whenever it changes.
- The browser also holds a random secret, the *browser key*, in a cookie (``studio_key``,
  ``SameSite=Strict``, set by this app's page). The store keeps only a hash of it beside each
  session. A new page load brings a stored session back only when its URL names the id **and**
  its cookie holds that session's key: a refresh or a second tab of the same browser.
- Anyone else who opens a ``?s=`` link (a shared link, a guessed id) gets a fresh session of
  their own and a note saying so; they never see or touch the session the link came from.
  Share a link without ``?s=`` to share the app, or a saved checkpoint to share a model.
- The browser key also makes this browser's checkpoint owner id (``owner_id``), so the files a
  browser saved stay its own across a server restart (``ui.state.owner_id``).

Lifetime: entries go after ``IDLE_LIMIT_S`` without a visit, and beyond ``MAX_SESSIONS`` the
least recently seen go first; a session with work queued or running is never dropped (its open
tab keeps it seen; ``ui.background`` cancels the work of a closed tab). Dropping a session cancels
whatever it still had running. Each client address may open ``NEW_PER_CLIENT`` new sessions per
``NEW_WINDOW_S``, so nobody can flood the store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from lstm_core.background import Task, TrainingJob
from ui.keys import BROWSER_KEY, JOB, KEPT, NOTICE, SESSION_ID, TASKS, WORK_OWNER

PARAM = "s"
COOKIE = "studio_key"
COOKIE_DAYS = 30
IDLE_LIMIT_S = 2 * 3600.0
MAX_SESSIONS = 64
NEW_PER_CLIENT = int(os.environ.get("STUDIO_NEW_SESSIONS_PER_CLIENT", "30"))
NEW_WINDOW_S = 600.0
RUNNING = ("queued", "running")
FOREIGN_LINK = (
    "The link you opened belongs to a session of another browser, so you have a new session of "
    "your own. To share data or a model, share the file or a saved checkpoint."
)


def key_hash(key: str) -> str:
    """What the store keeps of a browser key (never the key itself)."""
    return hashlib.sha256(f"session:{key}".encode()).hexdigest()


def running_work(values: dict[str, Any]) -> list[TrainingJob | Task]:
    """The session's training and tasks (``values[JOB]``, ``values[TASKS]``) that are queued
    or running."""
    tasks = [held.task for held in (values.get(TASKS) or {}).values()]
    job = values.get(JOB)
    running = [t for t in tasks if t.status in RUNNING]
    if job is not None and job.snapshot().status == "running":  # "running" includes queued
        running.append(job)
    return running


def _end(values: dict[str, Any]) -> None:
    """A dropped session's work stops (its owner closes; queued work leaves the queue)."""
    for item in running_work(values):
        item.cancel()
    owner = values.get(WORK_OWNER)
    if owner is not None:
        owner.close()


@dataclass
class _Entry:
    seen: float
    values: dict[str, Any]
    key: str  # key_hash of the browser key that may bring it back


@dataclass
class SessionStore:
    """Kept state per session id, bound to a browser key; dropped by inactivity, never while
    it has work running; new sessions limited per client. Safe across threads."""

    idle_limit_s: float = IDLE_LIMIT_S
    max_sessions: int = MAX_SESSIONS
    new_per_client: int = NEW_PER_CLIENT
    new_window_s: float = NEW_WINDOW_S
    busy: Callable[[dict[str, Any]], bool] = lambda values: bool(running_work(values))
    on_drop: Callable[[dict[str, Any]], None] = _end
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _items: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)
    _opened: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, client: str, now: float | None = None) -> bool:
        """May ``client`` (an address) open one more new session now? Counts it if so."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._opened.setdefault(client, deque())
            while times and now - times[0] > self.new_window_s:
                times.popleft()
            if len(times) >= self.new_per_client:
                return False
            times.append(now)
            return True

    def save(self, sid: str, key: str, values: dict[str, Any], now: float | None = None) -> None:
        """Keep ``values`` under ``sid`` for the browser whose key hashes to ``key``; an id
        another browser holds is never overwritten."""
        now = time.monotonic() if now is None else now
        dropped = []
        with self._lock:
            held = self._items.get(sid)
            if held is not None and not hmac.compare_digest(held.key, key):
                return
            self._items[sid] = _Entry(now, dict(values), key)
            self._items.move_to_end(sid)
            dropped = self._expire(now)
        for gone in dropped:
            self.on_drop(gone)

    def touch(self, sid: str, key: str, now: float | None = None) -> None:
        """The session was seen (a script run) without a change to its state."""
        now = time.monotonic() if now is None else now
        with self._lock:
            held = self._items.get(sid)
            if held is not None and hmac.compare_digest(held.key, key):
                held.seen = now
                self._items.move_to_end(sid)

    def load(self, sid: str, key: str, now: float | None = None) -> dict[str, Any] | None:
        """The state kept under ``sid`` if ``key`` is the hash of its browser's key; None if
        unknown, expired, or another browser's."""
        now = time.monotonic() if now is None else now
        with self._lock:
            dropped = self._expire(now)
            held = self._items.get(sid)
            found = held is not None and hmac.compare_digest(held.key, key)
        for gone in dropped:
            self.on_drop(gone)
        return dict(held.values) if found else None

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self, now: float) -> list[dict[str, Any]]:
        """Drop idle entries, then the least recently seen beyond the cap; entries with work
        running stay (a cap full of them is exceeded rather than cancel someone's work)."""
        dropped = []
        for sid, entry in list(self._items.items()):  # least recently seen first
            over = len(self._items) > self.max_sessions
            if (now - entry.seen > self.idle_limit_s or over) and not self.busy(entry.values):
                dropped.append(self._items.pop(sid).values)
        return dropped


@st.cache_resource
def store() -> SessionStore:
    """The one store of this server process (shared by every session, keyed by random ids)."""
    return SessionStore()


def _cookies() -> dict[str, str]:
    """The cookies of the page load that started this session (empty in AppTest)."""
    return dict(st.context.cookies)


def _client() -> str:
    """The visitor's address, for the per-client limit ("local" on this machine)."""
    return st.context.ip_address or "local"


def restore() -> None:
    """At the top of every run: bring back the state a refreshed page's id holds (this
    browser's sessions only), or start a new session; then make sure the URL carries its id
    (page links drop query parameters) and the browser holds its key."""
    sid = st.session_state.get(SESSION_ID)
    if sid is None:
        cookie = _cookies().get(COOKIE)
        asked = st.query_params.get(PARAM)
        kept = store().load(asked, key_hash(cookie)) if asked and cookie else None
        if kept is not None:
            st.session_state.update(kept)
            sid = asked
        else:
            if not store().admit(_client()):
                st.error(
                    "Too many new sessions were opened from your address in the last "
                    f"{NEW_WINDOW_S / 60:.0f} minutes. Go back to a tab you already have open, "
                    "or try again in a few minutes."
                )
                st.stop()
            sid = secrets.token_urlsafe(12)
            if asked:
                st.session_state[NOTICE] = ("info", FOREIGN_LINK)
        st.session_state[BROWSER_KEY] = cookie or secrets.token_urlsafe(24)
        st.session_state[SESSION_ID] = sid
        keep()
    else:
        store().touch(sid, key_hash(st.session_state[BROWSER_KEY]))
    if _cookies().get(COOKIE) != st.session_state[BROWSER_KEY]:
        _set_cookie(st.session_state[BROWSER_KEY])
    if st.query_params.get(PARAM) != sid:
        st.query_params[PARAM] = sid


def _set_cookie(key: str) -> None:
    """Give the browser its key (the key is URL-safe base64: nothing to escape)."""
    st.html(
        f"<script>document.cookie = '{COOKIE}={key}; path=/; max-age={COOKIE_DAYS * 86400}; "
        "SameSite=Strict';</script>",
        unsafe_allow_javascript=True,
    )


def keep() -> None:
    """Copy this session's kept keys into the store (cheap: the values are references)."""
    sid = st.session_state.get(SESSION_ID)
    key = st.session_state.get(BROWSER_KEY)
    if sid is not None and key is not None:
        values = {k: st.session_state[k] for k in KEPT if k in st.session_state}
        store().save(sid, key_hash(key), values)
