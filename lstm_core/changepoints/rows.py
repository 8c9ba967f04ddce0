"""Known change points as the user gives them (typed rows, a flag column), and a detection in
the user's own rows and times (``Prepared.user_rows``: the file's data rows
from 0, even when the series was re-gridded): tables for the pages, the report and the CLI, and
the CLI's JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_core.changepoints.results import Detection
from lstm_core.data import Prepared
from lstm_core.errors import DataError
from lstm_core.text import plain_time


def known_from_column(frame: pd.DataFrame, column: str) -> list[int]:
    """Rows (0-based, in the frame's order) where ``column`` is set (non-zero, true)."""
    if column not in frame.columns:
        raise DataError(f"known change point column {column!r} not found")
    flags = pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy() != 0
    return [int(i) for i in np.flatnonzero(flags)]


def parse_rows(text: str) -> list[int]:
    """Row numbers typed by a user ("100, 250 400", "100; 250") -> sorted unique ints.

    Raises:
        DataError: something that is not a non-negative whole number (in ASCII digits), named.
    """
    rows = []
    for part in text.replace(",", " ").replace(";", " ").split():
        if not (part.isascii() and part.isdigit()) or len(part) > 12:
            shown = part if len(part) <= 20 else part[:20] + "..."
            raise DataError(f"{shown!r} is not a row number; type whole numbers like 100, 250")
        rows.append(int(part))
    return sorted(set(rows))


def change_point_rows(detection: Detection, prep: Prepared) -> pd.DataFrame:
    """A ``changepoints.Detection``'s change points in the user's own rows (``Prepared.
    user_rows``: the file's data rows from 0, even when the series was re-gridded) and times:
    # (the chart's number), row, time, kind, columns, evidence, and the classical detector's
    point that matched it, or "none within N rows"."""
    table = detection.table().drop(columns=["score"])
    rows = prep.user_rows(table["index"].tolist())
    matched = table.pop("classical match")
    table.insert(0, "row", rows)
    table.insert(0, "#", range(1, len(rows) + 1))  # the numbers on the change point chart
    table["time"] = prep.user_times(rows) if rows else table["time"]
    table[f"classical point (row, within {detection.agreement.margin})"] = [
        f"none within {detection.agreement.margin} rows"
        if pd.isna(m)
        else f"{prep.user_rows([int(m)])[0]:,}"
        for m in matched
    ]
    return table.drop(columns=["index"])


def candidate_rows(detection: Detection, prep: Prepared) -> pd.DataFrame:
    """A ``changepoints.Detection``'s ranked candidates in the user's own rows and times (see
    ``change_point_rows``), strongest first."""
    table = detection.candidate_table().drop(columns=["score"])
    rows = prep.user_rows(table.pop("index").tolist())
    table.insert(0, "row", rows)
    table["time"] = prep.user_times(rows) if rows else table["time"]
    return table


def detection_json(detection: Detection, prep: Prepared) -> dict:
    """``Detection.to_dict`` with every change point's ``index`` and ``time`` in the user's rows
    (``grid_index``: the row of the re-gridded series the detector ran on), agreement pairs
    likewise."""
    out = detection.to_dict()
    for point in (*out["change_points"], *out["classical"]["change_points"]):
        row = prep.user_rows([point["index"]])[0]
        point["grid_index"] = point["index"]
        point["index"] = row
        point["time"] = plain_time(prep.user_times([row])[0])
    out["agreement"]["pairs"] = [prep.user_rows(p) for p in out["agreement"]["pairs"]]
    out["n_rows"] = prep.n_user
    return out
