"""The HTML report: every section and chart, nothing fetched from outside, the `report` command,
and a browser that opens the file from disk with the network off and sees every chart drawn."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lstm_core import changepoints, report
from lstm_core.checkpoint import save
from lstm_core.cli import main
from lstm_core.interpret import trace


@pytest.fixture(scope="module")
def document(fitted, series) -> str:
    prep = fitted.prepare(series)
    tr = trace(fitted, prep)
    det = changepoints.detect(prep, fitted, trace=tr, known=[100, 200])
    context = report.Context("series.csv", "tiny", tr, det, (100, 200))
    return report.build(fitted, prep, context)


def test_the_report_holds_every_section(document, fitted):
    for heading in (
        "Data",
        "Forecast",
        "Backtest",
        "Attention and skip gate",
        "Change points",
        "Model card",
    ):
        assert f">{heading}</h2>" in document
    assert "linear (NLinear ridge)" in document, "the backtest table with the linear baseline"
    assert "Rolling-origin backtest" in document and "Error by horizon step" in document
    assert "leaning on the LSTM" in document and "found" in document
    assert fitted.data_hash_ in document and "data is the training data" in document
    assert "hidden_size: 4" in document and ">torch<" in document
    assert report.count_figures(document) == 10


def test_the_report_loads_no_script_or_style_from_elsewhere(document):
    # plotly.js mentions URLs in its source (map tiles...); what matters is that the document
    # loads none: no script or stylesheet by address (the browser test below watches requests)
    assert not re.search(r"<script[^>]+src=", document), "plotly.js is inline"
    assert not re.search(r"<link[^>]+href=", document)
    assert document.count("<script type='text/javascript'>") == 1, "plotly.js embedded once"


def test_without_trace_or_detection_it_says_so(fitted, series):
    doc = report.build(fitted, series)
    assert "The whole-series views were not computed" in doc
    assert "Change points were not detected" in doc
    assert report.count_figures(doc) == 7


def test_the_report_command(fitted, series, tmp_path, capsys):
    ck = save(fitted, "tiny", tmp_path)
    data = tmp_path / "series.csv"
    series.to_csv(data, index=False)
    out = tmp_path / "report.html"
    assert (
        main(
            ["report", str(data), "--checkpoint", str(ck), "--out", str(out), "--known", "100;200"]
        )
        == 0
    )
    assert out.exists() and "charts; opens offline" in capsys.readouterr().out
    assert report.count_figures(out.read_text()) == 10
    assert not list(tmp_path.glob(".tmp-*")), "written atomically"
    assert (
        main(
            [
                "report",
                str(data),
                "--checkpoint",
                str(ck),
                "--out",
                str(tmp_path / "missing" / "r.html"),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err


def test_the_report_opens_offline_with_every_chart_drawn(document, tmp_path):
    from tools.serve import CHROMIUM, CHROMIUM_ARGS, DRAWN

    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(document)
    fetched: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(path.as_uri())
        charts = report.count_figures(document)
        page.wait_for_function(
            """([selector, n]) => {
                const all = [...document.querySelectorAll('.js-plotly-plot')];
                return all.length === n && all.every(c => c.querySelector(selector));
            }""",
            arg=[DRAWN, charts],
            timeout=30_000,
        )
        browser.close()
    assert [u for u in fetched if not u.startswith(("file:", "data:", "blob:"))] == []
