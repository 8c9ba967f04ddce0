"""Faithfulness of the Interpret page's views, and the skip gate at change points.

    python benchmarks/faithfulness.py --data-dir ../shared/data [--json FILE]
    python benchmarks/faithfulness.py --data-dir ../shared/data --dev-sets lstm_core/interpret/gate_rates.json

What it prints:
1. For the regimes demo, ETTh1 and two TSSB series: the deletion test of attention, Integrated
   Gradients and the gate's change. At each of ``--origins`` forecast origins the top 10% of the
   window's steps by the view are set to the window's mean, and the median forecast's mean
   absolute move is divided by that of random 10% (``faithfulness.DRAWS`` draws): mean +- sd of
   that ratio over the origins (and the ``--seeds`` training seeds). IG's steps are its signed
   step totals taken one way (``faithfulness.one_way``); two references use the same random
   draws: "|IG|" ranks steps by |IG| summed over columns (the ranking before issue 20's fix),
   "occlusion" by what deleting each step alone does (mean |move|). Then the gate's response
   rate at the annotated change points and at as many random points (``gate_response``,
   p < 0.05 against 200 random points of the same series).
2. With ``--dev-sets FILE``: the same response rates over every TCPD and TSSB development series
   (a small model trained on each), written to FILE, the small JSON the app quotes.

Each data set's model is trained as the app trains it (torch's generator, which draws dropout's
masks, seeded with ``training.seed`` as the app's training process does); where it keeps its linear start (the
network adds nothing), the explanation model (start margin 0) is used instead, and the table
says so. ``--json FILE`` writes {"<data set>": {"attention": {"ratio": x, "sd": s, "seed_means":
[...]}, "ig": ..., "gate": ..., "model": ...}}, the demo under "regimes".
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_core.config import Config
from lstm_core.data.demos import load_demo
from lstm_core.data.readers import read_table
from lstm_core.errors import LstmCoreError
from lstm_core.forecaster import Forecaster
from lstm_core.interpret import faithfulness, gate_response, share, trace
from lstm_core.interpret.readings import gate_reading

TSSB_PAIR = ("Beef", "GunPoint")  # two short TSSB series (1,410 and 1,875 steps)
VIEWS = faithfulness.VIEWS
COLUMNS = (*VIEWS, "|IG|", "occlusion")  # the page's views, then the two references


def fitted(cfg: Config, frame: pd.DataFrame) -> tuple[Forecaster, str]:
    """The app's model, or the explanation model when the app's kept its linear start."""
    torch.manual_seed(cfg.training.seed)  # dropout's masks, as the app's training process
    fc = Forecaster(cfg).fit(frame)
    if share.network_share(fc, frame).nil:
        torch.manual_seed(cfg.training.seed)
        ex = share.fit_explanation(fc, frame)
        # no epoch of its own beat the linear fit either: its views explain a linear model
        kept = ", its own too" if ex.history_.best_epoch == 0 else ""
        return ex, f"explanation model (linear start kept{kept})"
    return fc, "model as trained"


def small_config(n: int, time_col: str | None, targets: list[str], covs: list[str]) -> Config:
    lookback = int(max(8, min(48, n // 8)))
    return Config().replace(
        data={
            "time_col": time_col,
            "targets": targets,
            "covariates": covs,
            "lookback": lookback,
            "horizon": max(1, min(12, lookback // 2)),
        },
        lstm={"hidden_size": 16, "num_layers": 1, "dropout": 0.0},
        training={"epochs": 8, "patience": 3},
    )


def occlusion(fc: Forecaster, window: torch.Tensor) -> np.ndarray:
    """(L,) the first target's mean |move| when each step of ``window`` (L, F) alone is deleted."""
    one_each = [np.array([t]) for t in range(len(window))]
    return faithfulness.moves(fc.model_, window, faithfulness.deleted(window, one_each), 0)


def deletion_ratios(fc: Forecaster, frame: pd.DataFrame, n_origins: int) -> dict[str, list[float]]:
    """Each view's and reference's deletion ratio at ``n_origins`` origins spread over the
    series (the first target's forecast; the references use the views' random draws)."""
    prep = fc.prepare(frame)
    L, T = fc.config_.data.lookback, len(prep.frame)
    out: dict[str, list[float]] = {v: [] for v in COLUMNS}
    for origin in np.linspace(L, T, n_origins).round().astype(int):
        att, scores = faithfulness.score_origin(fc, prep, int(origin))
        window = faithfulness.window_at(fc, prep, int(origin))
        refs = {"|IG|": att.ig_steps, "occlusion": occlusion(fc, window)}
        scores |= faithfulness.deletion_test(fc.model_, window, refs, target=0)
        for v in COLUMNS:
            out[v].append(scores[v].ratio)
    return out


def responses(fc: Forecaster, frame: pd.DataFrame, points: list[int], seed: int = 0):
    """Gate responses at ``points`` and at as many random points of the same series."""
    tr = trace(fc, frame)
    memory = gate_reading(tr.gate).memory_share
    w = fc.config_.data.lookback
    at = gate_response.gate_response(memory, points, w, seed=seed)
    rng = np.random.default_rng(seed + 1)
    T = len(memory)
    rand = rng.integers(w, T - w + 1, len(at)).tolist() if at else []
    return at, gate_response.gate_response(memory, rand, w, seed=seed)


def annotated(annotations: dict) -> list[int]:
    """Every annotator's points, merged (TCPD's format: {annotator: [rows]})."""
    return sorted({int(p) for rows in annotations.values() for p in rows if int(p) > 0})


def data_sets(root: Path) -> list[tuple[str, Config, pd.DataFrame, list[int]]]:
    demo = load_demo("regimes")
    out = [("regimes", demo.config, demo.frame, list(demo.change_points))]
    ett = pd.read_csv(root / "ett" / "ETTh1.csv")
    covs = [c for c in ett.columns if c not in ("date", "OT")]
    cfg = Config().replace(
        data={
            "time_col": "date",
            "targets": ["OT"],
            "covariates": covs,
            "lookback": 48,
            "horizon": 24,
        },
        training={"epochs": 8, "patience": 3},
    )
    out.append(("etth1", cfg, ett, []))
    notes = json.loads((root / "tssb" / "annotations.json").read_text())
    for name in TSSB_PAIR:
        frame = read_table(root / "tssb" / f"{name}.json")
        col = str(frame.columns[0])
        out.append(
            (
                f"tssb_{name}",
                small_config(len(frame), None, [col], []),
                frame,
                annotated(notes[name]),
            )
        )
    return out


def rate(rs) -> str:
    r = gate_response.response_rate(rs)
    return "n/a" if math.isnan(r) else f"{sum(x.responds for x in rs)}/{len(rs)} ({r:.0%})"


def summary(per_seed: list[dict[str, list[float]]]) -> dict[str, dict]:
    """Each column's ratio: mean and sd over every origin of every seed, and each seed's mean."""
    out = {}
    for v in COLUMNS:
        pooled = np.concatenate([r[v] for r in per_seed])
        out[v] = {
            "ratio": float(np.nanmean(pooled)),
            "sd": float(np.nanstd(pooled)),
            "seed_means": [float(np.nanmean(r[v])) for r in per_seed],
        }
    return out


def main_views(args: argparse.Namespace) -> None:
    root = Path(args.data_dir)
    result: dict[str, dict] = {}
    print(
        f"deletion test: top {faithfulness.SHARE:.0%} of steps vs {faithfulness.DRAWS} random "
        f"draws, {args.origins} origins x {args.seeds} training seed(s); ratio = view's move / "
        "random's (mean +- sd)"
    )
    print(
        f"{'data set':16} {'model (seed 0)':52} "
        + " ".join(f"{v:>12}" for v in COLUMNS)
        + "   gate at annotated / random points (seed 0)"
    )
    for name, cfg, frame, points in data_sets(root):
        start = time.perf_counter()
        per_seed, models = [], []
        for seed in range(args.seeds):  # seed 0 is the app's (training.seed's default)
            fc, which = fitted(cfg.replace(training={"seed": seed}), frame)
            per_seed.append(deletion_ratios(fc, frame, args.origins))
            models.append(which)
            if seed == 0:
                at, rand = responses(fc, frame, points) if points else ([], [])
        result[name] = summary(per_seed) | {
            "model": models[0],
            "models": models,
            "origins": args.origins,
            "gate_response": {
                "annotated": gate_response.response_rate(at) if at else None,
                "random": gate_response.response_rate(rand) if rand else None,
                "points": len(at),
            },
        }
        cells = " ".join(
            f"{result[name][v]['ratio']:6.2f}±{result[name][v]['sd']:<5.2f}" for v in COLUMNS
        )
        print(
            f"{name:16} {models[0]:52} {cells}   {rate(at)} / {rate(rand)}"
            f"   ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
        if args.seeds > 1:
            means = " ".join(
                f"{v}: " + " ".join(f"{m:.2f}" for m in result[name][v]["seed_means"])
                for v in COLUMNS
            )
            print(f"{'':16} per-seed means: {means}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, allow_nan=False, default=str))
        print(f"wrote {args.json}")


def main_dev_sets(args: argparse.Namespace) -> None:
    """Gate response rates over every TCPD and TSSB development series."""
    root = Path(args.data_dir)
    totals = {"annotated": [], "random": []}
    per_set: dict[str, dict] = {}
    skipped = []
    for group in ("tcpd", "tssb"):
        notes = json.loads((root / group / "annotations.json").read_text())
        at_all, rand_all = [], []
        for path in sorted((root / group).glob("*.json")):
            if path.stem == "annotations":
                continue
            frame = read_table(path)
            time_col = "time" if "time" in frame.columns else None
            cols = [c for c in frame.columns if c != time_col]
            try:
                cfg = small_config(len(frame), time_col, cols[:1], cols[1:])
                fc, _ = fitted(cfg, frame)
                at, rand = responses(fc, frame, annotated(notes.get(path.stem, {})))
            except LstmCoreError as e:
                skipped.append(f"{group}/{path.stem}: {e}")
                continue
            at_all += at
            rand_all += rand
            print(
                f"{group}/{path.stem:30} annotated {rate(at):>14}   random {rate(rand):>14}",
                flush=True,
            )
        per_set[group] = {
            "annotated": rate(at_all),
            "random": rate(rand_all),
            "points": len(at_all),
        }
        totals["annotated"] += at_all
        totals["random"] += rand_all
    out = {
        "annotated": gate_response.response_rate(totals["annotated"]),
        "random": gate_response.response_rate(totals["random"]),
        "points": len(totals["annotated"]),
        "per_set": per_set,
        "skipped": skipped,
        "alpha": gate_response.ALPHA,
        "command": "python benchmarks/faithfulness.py --data-dir ../shared/data --dev-sets "
        + args.dev_sets,
    }
    print(json.dumps(out, indent=2))
    Path(args.dev_sets).write_text(json.dumps(out, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--json", help="write each data set's ratios here")
    # 50 origins: the ratio's sd over origins is about 1, so its mean is known to about +-0.14
    parser.add_argument("--origins", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=1, help="training seeds 0..N-1 per data set")
    parser.add_argument("--dev-sets", help="run the TCPD + TSSB gate rates; write them here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    main_dev_sets(args) if args.dev_sets else main_views(args)


if __name__ == "__main__":
    main()
