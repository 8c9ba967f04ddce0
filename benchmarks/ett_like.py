"""An ETT-like table of random walks, which scale.py, throughput.py and upload.py share (kept
apart so that scale.py, which reads throughput.py's provenance helpers, and throughput.py do
not import each other)."""

from __future__ import annotations


def table(n: int):
    """An ETT-like table: a date column and 7 random walks (HUFL ... OT), hourly."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    names = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    df = pd.DataFrame(rng.normal(size=(n, 7)).cumsum(axis=0), columns=names)
    df.insert(0, "date", pd.date_range("2000-01-01", periods=n, freq="h"))
    return df
