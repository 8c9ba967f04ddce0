"""A large CSV uploaded through the app's Data page: the time until the page has read it.

    python benchmarks/upload.py                      # 1,000,000 rows x 8 columns (~100 MB)
    python benchmarks/upload.py --rows 100000 --repeats 3

Streamlit's AppTest runs the real page scripts (app.py's router, the Data page, ui.read_upload
with its cache) with the file's bytes handed to the uploader, as the browser's upload ends; the
HTTP transfer on loopback is not included. Each repeat is a fresh session (the cache is keyed by
the bytes, so repeats after the first read from it: the first figure is the one a user meets).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))


def main(argv: list[str] | None = None) -> list[float]:
    from ett_like import table  # same folder: the ETT-like table
    from streamlit.testing.v1 import AppTest

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        table(args.rows).to_csv(path, index=False, float_format="%.6f")
        raw = path.read_bytes()
    seconds = []
    for _ in range(args.repeats):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.run()
        at.switch_page("pages/data.py").run()
        start = time.perf_counter()
        at.file_uploader(key="data_upload").upload("table.csv", raw, "text/csv").run()
        seconds.append(time.perf_counter() - start)
        shown = at.session_state["DATA_NAME"] if "DATA_NAME" in at.session_state else None
        errors = [e.value for e in at.error] + [str(e.value) for e in at.exception]
        print(f"{args.rows:,} rows ({len(raw) / 2**20:.0f} MB): {seconds[-1]:.2f} s to the Data "
              f"page with it read; data in use: {shown}; errors: {errors or 'none'}", flush=True)
    return seconds


if __name__ == "__main__":
    main()
