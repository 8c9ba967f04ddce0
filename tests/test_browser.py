"""One real-browser test: `streamlit run app.py`, every page through the navigation, no errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.serve import CHROMIUM, CHROMIUM_ARGS, PAGES, serve, wait_for_app


def _need(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)


def test_every_page_in_a_real_browser():
    _need(
        Path(CHROMIUM).exists(),
        f"{CHROMIUM} not installed (CI installs it: apt-get install chromium)",
    )
    try:
        from playwright.sync_api import TimeoutError as Timeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright (pip) is not installed")
    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/training")  # a deep link on a fresh server still runs the router,
        wait_for_app(page, "Train", PAGES["training"][2])  # which loads the demo checkpoint
        assert "demo: regimes" in page.locator('[data-testid="stSidebar"]').inner_text()
        page.goto(url)
        wait_for_app(page, "Forecast", PAGES["forecast"][2])  # the demo's results on a first visit
        for name, (_, title, charts) in PAGES.items():
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_role("link", name=title, exact=True).click()
            try:
                wait_for_app(page, title, charts)
            except Timeout:
                blank = page.locator('[data-testid="stPlotlyChart"]').count()
                pytest.fail(
                    f"{name}: expected {charts} drawn chart(s), found {blank} (some blank?)"
                )
            assert page.locator('[data-testid="stException"]').count() == 0, (
                f"{name}: exception box"
            )
        browser.close()
