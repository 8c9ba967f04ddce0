"""Start `streamlit run app.py` on a free port for the browser test and the screenshot script."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# page -> (URL path, title in the navigation and on the page, plotly charts on the demo)
PAGES = {
    "forecast": ("", "Forecast", 4),
    "data": ("data", "Data", 1),
    "settings": ("settings", "Model settings", 0),
    "training": ("train", "Train", 1),
    "explain": ("interpret", "Interpret", 5),
    "checkpoints": ("checkpoints", "Checkpoints", 0),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(port: int) -> list[str]:
    """``streamlit run app.py`` headless on 127.0.0.1:``port`` (run it in the app's folder)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]


@contextlib.contextmanager
def serve(timeout: float = 60, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the app headless; yields its base URL and stops it afterwards."""
    port = free_port()
    cmd = streamlit_command(port)
    # a pipe nobody reads would block the server once full: the log goes to a file
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        out = log.read().decode(errors="replace")
                        raise RuntimeError(f"streamlit did not start:\n{out[-2000:]}") from None
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


DRAWN = "g.trace, g.hm image, .heatmaplayer image"  # a plotly chart that drew some data


def outside(url: str, requests: list[str]) -> list[str]:
    """The requests a page made to anywhere but the app itself (must be none: offline)."""
    return [r for r in requests if not r.startswith((url, "data:", "blob:", "about:"))]


def wait_for_app(page, title: str | None = None, charts: int = 0, timeout_ms: int = 30_000) -> None:
    """Wait until the page titled ``title`` shows at least ``charts`` plotly charts, its script
    run has finished, and every chart has drawn data (a blank chart times out here)."""
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)
    page.wait_for_function(
        """([title, drawnSelector, least]) => {
            const s = document.querySelector('[data-testid="stStatusWidget"]');
            const running = s && /running/i.test(s.innerText);
            const h1 = document.querySelector('[data-testid="stMain"] h1');
            const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
            const drawn = charts.every(c => c.querySelector(drawnSelector));
            return h1 && (!title || h1.innerText.trim() === title) && !running
                && charts.length >= least && drawn;
        }""",
        arg=[title, DRAWN, charts],
        timeout=timeout_ms,
    )
    page.wait_for_timeout(700)  # let the last chart finish its layout
