"""Real-browser tests: `streamlit run app.py` in Chromium. Deep links on a fresh server (both
slug spellings), every page through the navigation with no error, nothing fetched from outside,
a refresh that keeps the session, and training progress that stays live on another page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.serve import CHROMIUM, CHROMIUM_ARGS, PAGES, outside, serve, wait_for_app

NOT_FOUND = "Page not found"


def _need(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)


@pytest.fixture(scope="module")
def playwright():
    _need(
        Path(CHROMIUM).exists(),
        f"{CHROMIUM} not installed (CI installs it: apt-get install chromium)",
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright (pip) is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser, url: str, requests: list[str]):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("request", lambda r: requests.append(r.url))
    return page


def _sidebar(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def _use_the_nile(page) -> None:
    """On the Data page: switch to the Nile demo and wait until the sidebar says so."""
    page.get_by_label("Demo dataset").click()
    page.get_by_role("option", name="nile").click()
    page.get_by_role("button", name="Use this demo").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stSidebar\"]').innerText"
        ".includes('demo: nile')"
    )


def _no_errors(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"{where}: exception box"
    assert NOT_FOUND not in page.inner_text("body"), f"{where}: {NOT_FOUND}"


def test_a_file_named_deep_link_on_a_fresh_server(playwright):
    requests: list[str] = []
    with serve() as url:
        page = _open(playwright, url, requests)
        page.goto(f"{url}/training")  # the first request: Streamlit's legacy pages/ mode
        wait_for_app(page, "Train", PAGES["training"][2], timeout_ms=90_000)
        _no_errors(page, "/training")
        assert "demo: regimes" in _sidebar(page), "the router ran: first-visit defaults"
        assert not outside(url, requests), outside(url, requests)


def test_every_page_deep_links_refresh_and_live_training(playwright):
    requests: list[str] = []
    with serve() as url:
        page = _open(playwright, url, requests)
        page.goto(f"{url}/interpret")  # the first request, by the page's title
        wait_for_app(page, "Interpret", 2, timeout_ms=90_000)
        _no_errors(page, "/interpret")
        for slug, title in (("train", "Train"), ("explain", "Interpret"), ("forecast", "Forecast")):
            page.goto(f"{url}/{slug}")
            wait_for_app(page, title)
            _no_errors(page, f"/{slug}")
        for name, (_, title, charts) in PAGES.items():
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_role("link", name=title, exact=True).click()
            wait_for_app(page, title, charts, timeout_ms=60_000)
            _no_errors(page, name)

        # training started on Train stays live in the sidebar on Forecast, and its model is
        # used there when it ends, without a click (the demo, 6 epochs: several seconds)
        sid = page.url.split("?")[1]
        page.goto(f"{url}/settings?{sid}")
        wait_for_app(page, "Model settings")
        page.get_by_label("Epochs (most)").fill("6")
        page.get_by_role("button", name="Apply settings").click()
        page.wait_for_function(  # applied: the YAML of the config in use says so
            "() => [...document.querySelectorAll('textarea')]"
            ".some(t => /(^|\\n)epochs: 6(\\n|$)/.test(t.value))"
        )
        wait_for_app(page, "Model settings")
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Train").click()
        wait_for_app(page, "Train")
        page.get_by_role("button", name="Train a new model").click()
        page.get_by_role("button", name="Cancel").wait_for(timeout=30_000)
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Forecast").click()
        page.wait_for_selector('[data-testid="stSidebar"] >> text=Training: epoch')
        before = _sidebar(page)
        page.wait_for_function(  # the progress moves while the user is on another page
            "(before) => { const now = document.querySelector('[data-testid=\"stSidebar\"]')"
            ".innerText; return now !== before; }",
            arg=before,
            timeout=60_000,
        )
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"stSidebar\"]').innerText"
            ".includes('Model: trained at')",
            timeout=120_000,
        )
        wait_for_app(page, "Forecast", 4, timeout_ms=60_000)
        # the status goes when the run ends: until the rerun that put the model in use has
        # finished, the browser may still show the last run's progress bar as a stale element
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stSidebar\"]').innerText"
            ".includes('Training:')",
            timeout=30_000,
        )
        assert "The new model is in use" in page.inner_text('[data-testid="stMain"]')
        _no_errors(page, "forecast after training")

        # a refresh keeps the session: switch to the Nile demo, reload, still there
        page.goto(f"{url}/data?{sid}")
        wait_for_app(page, "Data", 1)
        _use_the_nile(page)
        assert f"?{sid}" in page.url, "the session id stays in the URL"
        page.reload()
        wait_for_app(page, "Data", 1)
        assert "demo: nile" in _sidebar(page), "a refresh keeps the data"
        assert "Model: trained at" in _sidebar(page), "and the model"
        assert not outside(url, requests), outside(url, requests)


def test_another_browser_opening_a_session_link_does_not_see_that_session(playwright):
    """Visitor A's ?s= link, opened by visitor B (another browser: no cookie of A's), gives B
    a fresh session of B's own; A's refresh still brings A's session back."""
    requests: list[str] = []
    with serve() as url:
        a = playwright.new_context(viewport={"width": 1400, "height": 1000})
        page = a.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{url}/data")
        wait_for_app(page, "Data", 1, timeout_ms=90_000)
        _use_the_nile(page)
        link = page.url
        assert "?s=" in link

        b = playwright.new_context(viewport={"width": 1400, "height": 1000})
        other = b.new_page()
        other.goto(link)
        wait_for_app(other, "Data", 1, timeout_ms=60_000)
        assert "demo: nile" not in _sidebar(other), "B does not see A's data"
        assert "belongs to a session of another browser" in other.inner_text("body")
        assert other.url.split("s=")[1] != link.split("s=")[1], "B got a session id of its own"
        _no_errors(other, "B on A's link")

        page.reload()  # A's own browser: its cookie brings its session back
        wait_for_app(page, "Data", 1)
        assert "demo: nile" in _sidebar(page)
        a.close()
        b.close()
        assert not outside(url, requests), outside(url, requests)
