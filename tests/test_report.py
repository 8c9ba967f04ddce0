"""The HTML report: every section and chart, nothing fetched from outside, the `report` command,
and a browser that opens the file from disk with the network off and sees every chart drawn."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from lstm_core import changepoints, report
from lstm_core.checkpoint import save
from lstm_core.cli import main
from lstm_core.interpret import trace
from lstm_core.report_text import backtest_caption, data_report_lines, training_summary
from lstm_core.train import History


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
        "What is explained",
        "Attention, attributions and skip gate",
        "Change points",
        "Model card",
    ):
        assert f">{heading}</h2>" in document
    assert "linear (NLinear ridge)" in document, "the backtest table with the linear baseline"
    assert "Rolling-origin backtest" in document and "Error by horizon step" in document
    assert "leaning on memory" in document and "found" in document
    assert fitted.data_hash_ in document and "data is the training data" in document
    assert "hidden_size: 4" in document and ">torch<" in document
    assert report.count_figures(document) == 11


def test_the_report_says_how_each_point_was_found_and_what_the_gate_did(document):
    """Issue 20: per point, the detector that found it (the default "union": the part of it, on
    the raw series) and the gate's measured response; no input the report lacks, nothing
    implying the gate found the points."""
    from lstm_core.report_text import FOUND_BY

    points = re.findall(r"<li>(#\d+, row [\d,]+ \([^<]*)</li>", document)
    assert points, "one line per change point"
    parts = [FOUND_BY[k] for k in ("pelt", "gaussian", "kink", "search", "profile")]
    for line in points:
        assert any(f"found by {p}" in html.unescape(line) for p in parts)
        said = html.unescape(line)  # whose gate: the one drawn, not detection's
        assert re.search(r"the model in use's skip gate (responds|does not respond) there", said)
        assert "permutation p = " in line
    assert "found by</th>" in document, "the points' table names the detector too"
    assert "Which view finds change points, out of fold" in document, "the ablation, quoted"
    assert "not by the gate" in document
    assert "annotated changes and at" in document, "the measured rate, from the shipped JSON"
    assert "Give known change points" not in document and "above to score" not in document
    assert "The LSTM makes" in document and "held-out end" in document
    assert "Deleting its top" in document and "random draws" in document


def test_a_linear_start_is_said_and_its_views_not_described(fitted, series):
    import copy

    import torch

    fc = copy.deepcopy(fitted)  # the network's head at zero: the forecast is the linear part
    with torch.no_grad():
        fc.model_.head.weight.zero_()
        fc.model_.head.bias.zero_()
    doc = report.build(fc, series)
    assert "The network adds nothing here" in doc
    assert doc.count("Not described: the network takes no part") == 3
    assert "the step it weighs most" not in doc and "lean on the LSTM's memory" not in doc
    assert "Not a reliable guide" not in doc, "not scored as reasoning at all"


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
    assert report.count_figures(doc) == 8


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
    assert report.count_figures(out.read_text()) == 11
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


def test_the_explanation_model_labels_the_views_it_gives(fitted, series):
    from lstm_core.interpret import share

    ex = share.fit_explanation(fitted, series)
    context = report.Context("series.csv", "tiny", explainer=ex, explainer_trace=trace(ex, series))
    doc = report.build(fitted, series, context)
    assert "An explanation model (the same network trained with no start margin)" in doc
    assert "against the linear fit" in doc
    assert "Every view in this section comes from the explanation model" in doc
    assert doc.count("(the explanation model)") >= 4, "attention, IG, gate, gate share"


def test_training_summary_says_where_early_stopping_fired():
    h = History(
        (1.0, 0.9, 0.95),
        (1.0, 0.8, 0.85),
        2,
        "early_stopping",
        "early stopping at epoch 3",
        "CPU",
        1.0,
        100.0,
    )
    lines = training_summary(h)
    assert (
        lines[0] == "early stopping at epoch 3" and "best epoch 2: validation loss 0.8000" in lines
    )


def test_training_summary_when_the_linear_start_was_kept():
    h = History((1.0, 0.9), (0.7, 0.8), 0, "completed", "kept the start", "CPU", 1.0, 100.0, 0.6)
    assert "best epoch 0: validation loss 0.6000" in training_summary(h)


def test_data_report_lines_in_words(series, tiny_cfg):
    from lstm_core.data import prepare

    lines = data_report_lines(prepare(series, tiny_cfg.data))
    assert lines[0] == "400 rows from 2024-01-01 00:00 to 2024-01-17 15:00"
    assert lines[1] == "frequency: hourly"


def test_backtest_caption_does_not_call_mase_above_one_a_loss(fitted, series):
    text = backtest_caption(fitted.backtest(series), 4)
    assert "usually score above 1 even when they beat every baseline" in text
