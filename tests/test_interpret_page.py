"""Issue 20 on the Interpret page: a model that kept its linear start is said to, and nothing of
its network is narrated (AppTest and a real browser); the explanation model is one click away
and labels every view; a model whose network takes part is scored view by view."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lstm_core import checkpoint
from lstm_core.data import load_demo
from lstm_core.forecaster import Forecaster
from lstm_core.interpret.share import network_share
from tests.test_pages import PAGES, app, everything, seed, texts, wait_for_tasks
from ui import interpret_text

NARRATION = (  # sentences that describe the network's views as its reasoning
    "the step it weighs most",
    "the most attended lag",
    "of the gate's units lean on the LSTM's memory",
    "of the attention goes to the latest",
    "steps IG says move it most",
)


@pytest.fixture(scope="module")
def linear_start(series, tiny_cfg) -> Forecaster:
    """No epoch can beat the start by 99%: the model keeps its linear fit."""
    fc = Forecaster(tiny_cfg.replace(training={"epochs": 1, "start_margin": 0.99})).fit(series)
    assert fc.history_.best_epoch == 0 and network_share(fc, series).nil
    return fc


def test_a_linear_start_is_said_at_the_top_and_nothing_is_narrated(series, linear_start):
    at = seed(app(empty=True), series, linear_start)
    at.switch_page(PAGES["interpret"]).run()
    wait_for_tasks(at)
    assert not at.exception, at.exception
    assert "No training epoch beat the linear fit" in texts(at.warning)
    said = everything(at)
    assert "not the model's reasoning" in said and interpret_text.NOT_NARRATED in said
    for sentence in NARRATION:
        assert sentence not in said, sentence
    assert said.count("Not narrated") >= 3 + 3, "three views here, three over the series"
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "(from the model in use)" in specs
    assert at.button(key="explain_train_explainer")


def test_one_click_trains_an_explanation_model_that_labels_every_view(series, linear_start):
    at = seed(app(empty=True), series, linear_start)
    at.switch_page(PAGES["interpret"]).run()
    at.button(key="explain_train_explainer").click().run()
    wait_for_tasks(at)
    wait_for_tasks(at)
    assert not at.exception, at.exception
    said = everything(at)
    assert "Explanation model: validation MAE" in said and "against the linear fit's" in said
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert len(charts) == 7
    assert all("(from the explanation model)" in c for c in charts[:3] + charts[4:])
    assert "No training epoch beat" in texts(at.warning), "the model in use is still linear"


def test_views_of_a_network_in_use_are_scored_and_withheld_below_random(series, fitted):
    import copy

    import torch

    fc = copy.deepcopy(fitted)
    with torch.no_grad():
        fc.model_.head.bias.fill_(0.3)  # the network takes part in every forecast
    at = seed(app(empty=True), series, fc)
    at.switch_page(PAGES["interpret"]).run()
    wait_for_tasks(at)
    assert not at.exception, at.exception
    assert "The LSTM makes" in texts(at.info) and not at.warning
    assert _narrated_views(at) == [True, True, True], "all three above random here"
    demo = app()  # the shipped demo model: attention and the gate fall short of the bar there
    demo.switch_page(PAGES["interpret"]).run()
    wait_for_tasks(demo)
    assert not demo.exception, demo.exception
    assert _narrated_views(demo) == [False, True, False]


def _narrated_views(at) -> list[bool]:
    """Per view (attention, IG, gate): whether its caption narrates it, which it does exactly
    when its deletion test does not call it unreliable."""
    captions = [str(c.value) for c in at.caption]
    scored = [c for c in captions if "Deleting its top" in c]
    assert len(scored) == 3, "attention, IG and the gate each carry their deletion test"
    narrated = [any(s in caption for s in NARRATION) for caption in scored]
    reliable = [interpret_text.UNRELIABLE not in caption for caption in scored]
    assert narrated == reliable, scored
    return narrated


def test_a_linear_start_in_the_browser(tmp_path):
    """A real browser loads a checkpoint that kept its linear start: the top of Interpret says
    so, and the page narrates nothing of the network."""
    from tools.serve import CHROMIUM, CHROMIUM_ARGS, serve, wait_for_app

    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    demo = load_demo("regimes")
    cfg = demo.config.replace(training={"epochs": 1, "start_margin": 0.99})
    fc = Forecaster(cfg).fit(demo.frame)
    assert network_share(fc, demo.frame).nil
    checkpoint.save(fc, "linear start", tmp_path)
    with serve(env={"STUDIO_CHECKPOINTS": str(tmp_path)}) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/checkpoints")
        wait_for_app(page, "Checkpoints", timeout_ms=90_000)
        page.get_by_role("button", name="Load and use").click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"stSidebar\"]').innerText"
            ".includes('linear')",
            timeout=30_000,
        )
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Interpret").click()
        wait_for_app(page, "Interpret", 7, timeout_ms=120_000)
        main = page.inner_text('[data-testid="stMain"]')
        browser.close()
    top = main.index("No training epoch beat the linear fit")
    assert top < main.index("One forecast"), "said at the top, before any view"
    assert "Train an explanation model" in main
    for sentence in NARRATION:
        assert sentence not in main, sentence
    assert main.count("Not narrated") >= 6
