"""A detection in the user's own rows and times (``Prepared.user_rows``: the file's data rows
from 0, even when the series was re-gridded): tables for the pages, the report and the CLI, and
the CLI's JSON."""

from __future__ import annotations

import pandas as pd

from lstm_core.changepoints.results import Detection
from lstm_core.data import Prepared
from lstm_core.text import plain_time


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
