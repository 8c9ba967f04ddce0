"""Renamed: the change point benchmark is ``benchmarks/changepoints.py`` (any TCPD-format
folders, the synthetic suite, out of fold over their union). This forwards to it.

    python benchmarks/tcpd.py --data ../shared/data/tcpd
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from changepoints import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
