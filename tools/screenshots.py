"""Save a PNG of every page of the app on the demo: `python tools/screenshots.py [OUT_DIR]`.

Not run in CI. Uses Debian's chromium through playwright (never `playwright install`).
"""

from __future__ import annotations

import io
import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.serve import CHROMIUM, CHROMIUM_ARGS, PAGES, ROOT, serve, wait_for_app

MAX_BYTES = 300_000


def shrink(png: bytes) -> bytes:
    """Quantise to 256 colours (and halve the size if still too big) to stay under MAX_BYTES."""
    try:
        from PIL import Image
    except ImportError:
        return png
    img = Image.open(io.BytesIO(png)).convert("RGB")
    for scale in (1.0, 0.75, 0.5):
        im = img.resize((int(img.width * scale), int(img.height * scale))) if scale < 1 else img
        buf = io.BytesIO()
        im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buf, "PNG", optimize=True)
        if buf.tell() <= MAX_BYTES:
            break
    return buf.getvalue()


def save(page, out: Path, name: str, title: str, charts: int) -> None:
    """Grow the viewport to the page's height, wait for the charts, and write a small PNG."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(900, height + 40), 6000)})
    wait_for_app(page, title, charts)
    target = out / f"{name}.png"
    target.write_bytes(shrink(page.screenshot()))
    page.set_viewport_size({"width": 1400, "height": 900})
    print(f"{target} ({target.stat().st_size // 1024} KB)")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for name, (path, title, charts) in PAGES.items():
            page.goto(f"{url}/{path}")
            wait_for_app(page, title, charts)
            save(page, out, name, title, charts)

        # the Interpret page with its change points (detection takes a while on 2 cores)
        page.goto(f"{url}/explain")
        wait_for_app(page, "Interpret", PAGES["explain"][2])
        page.get_by_role("button", name="Detect change points").click()
        wait_for_app(page, "Interpret", PAGES["explain"][2] + 1, timeout_ms=400_000)
        page.wait_for_function(  # the detection's table and ranked candidates, not its progress
            "() => document.querySelector('[data-testid=\"stMain\"]').innerText"
            ".includes('Candidates, strongest first')",
            timeout=400_000,
        )
        save(page, out, "explain", "Interpret", PAGES["explain"][2] + 1)

        # two states worth seeing: a rejected YAML edit, and training in progress
        page.goto(f"{url}/settings")
        wait_for_app(page, "Model settings")
        page.get_by_label("lstm:").fill("hidden_size: 30\nnum_heads: 7")
        page.get_by_role("button", name="Apply YAML").click()
        page.wait_for_selector('[data-testid="stAlert"]')
        save(page, out, "settings_error", "Model settings", 0)
        page.goto(f"{url}/training")
        wait_for_app(page, "Train", 1)
        page.get_by_role("button", name="Train a new model").click()
        cancel = page.get_by_role("button", name=re.compile("^Cancel"))
        cancel.wait_for()
        page.wait_for_function(  # the live loss chart appears when the first epoch ends
            "() => document.querySelectorAll('[data-testid=\"stPlotlyChart\"]').length >= 1",
            timeout=120_000,
        )
        save(page, out, "training_live", "Train", 1)
        cancel.click()

        # the HTML report of the demo, opened from disk with the network off
        report = page.context.browser.new_context(offline=True).new_page()
        report.set_viewport_size({"width": 1250, "height": 2400})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.html"
            path.write_text(demo_report())
            report.goto(path.as_uri())
            report.wait_for_timeout(3000)
            (out / "report.png").write_bytes(shrink(report.screenshot()))
        print(f"{out / 'report.png'}")
        browser.close()


def demo_report() -> str:
    """The report `python -m lstm_core report demo:regimes` writes for the shipped checkpoint."""
    from lstm_core import changepoints, checkpoint, data, interpret, report

    fc = checkpoint.load(checkpoint.CHECKPOINT_DIR / "demo.safetensors")
    demo = data.load_demo("regimes")
    prep = fc.prepare(demo.frame)
    trace = interpret.trace(fc, prep)
    found = changepoints.detect(prep, known=list(demo.change_points))  # as `report` detects
    context = report.Context("demo: regimes", "checkpoint demo", trace, found, demo.change_points)
    return report.build(fc, prep, context)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
