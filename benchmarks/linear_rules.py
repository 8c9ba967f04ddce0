"""How the linear fit chooses between one ridge fit and the mean over nested lookbacks, checked
column by column on an ETT-format file, with leave-one-column-out.

Usage:
    python benchmarks/linear_rules.py --data ../shared/data/ett/ETTh1.csv
        [--split 8640 2880 2880] [--lookback 96 336 720] [--horizon 24 96]

Every column of the file is a target in turn (univariate, scaled with the training rows' mean
and std, standard split). Four rules, each fitted on the training rows only:

- one fit: the single ridge fit (plain NLinear);
- always mean: the mean of the ridge fits on the last L, L/2, ... (>= 48) steps;
- holdout: the mean when it beats one fit on the last 20% of the training windows;
- cv: the mean when it wins a 5-fold blocked cross-validation over the training windows (what
  ``baselines.fit_linear`` ships).

Prints each rule's validation and test MSE relative to one fit, averaged over every (column,
horizon, lookback) cell. Then, leaving out each column in turn, picks the rule with the lowest
validation MSE on the other columns and scores it on the held-out column's test rows: the
out-of-fold figure of choosing a rule on data other than the data scored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_core.data.readers import read_table
from lstm_core.data.scaling import Scaler

from etth1 import windows  # the benchmark's windows: targets inside each part

from lstm_core import baselines
from lstm_core.data import Scaler, read_table

RULES = ("one fit", "always mean", "holdout", "cv")


def rule_fits(x: np.ndarray, L: int, H: int) -> dict[str, baselines.LinearFit]:
    """Each rule's fit on the training rows x (T, 1). Uses forecast's own normal equations, so
    the penalties are exactly those ``fit_linear`` chooses."""
    early, late, every = baselines._split_equations(x, L, H)
    on_early, on_all = [], []
    for lb in baselines.nested_lookbacks(L):
        cols = np.r_[L - lb : L]
        sub = [baselines._columns(eq, cols) for eq in (early, late, every)]
        score = [baselines._sse(baselines._solve(sub[0], p), sub[1]) for p in baselines.PENALTIES]
        p = baselines.PENALTIES[int(np.argmin(score))]
        on_early.append(baselines._pad(baselines._solve(sub[0], p), cols, L))
        on_all.append(baselines._pad(baselines._solve(sub[2], p), cols, L))

    def as_fit(coef: np.ndarray) -> baselines.LinearFit:
        weight = np.zeros((H, L))
        weight[:, :-1] = coef[:-1].T
        return baselines.LinearFit(weight, coef[-1].copy(), 0.0)

    one, mean = as_fit(on_all[0]), as_fit(np.mean(on_all, axis=0))
    holdout = len(on_all) > 1 and baselines._sse(np.mean(on_early, axis=0), late) < baselines._sse(
        on_early[0], late
    )
    cv = len(baselines.fit_linear(x, L, H).lookbacks) > 1
    return {
        "one fit": one,
        "always mean": mean,
        "holdout": mean if holdout else one,
        "cv": mean if cv else one,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", type=int, nargs=3, default=[8640, 2880, 2880])
    ap.add_argument("--lookback", type=int, nargs="+", default=[96, 336, 720])
    ap.add_argument("--horizon", type=int, nargs="+", default=[24, 96])
    args = ap.parse_args()
    df = read_table(args.data)
    names = [c for c in df.columns if np.issubdtype(df[c].dtype, np.number)]
    tr, va, te = args.split
    parts = {"val": (tr, tr + va), "test": (tr + va, tr + va + te)}
    mse: dict[tuple, dict[str, tuple[float, float]]] = {}
    for name in names:
        values = df[[name]].to_numpy(np.float64)
        x = Scaler.fit(values[:tr]).transform(values)
        for H in args.horizon:
            for L in args.lookback:
                fits = rule_fits(x[:tr], L, H)
                scored = {}
                for rule, fit in fits.items():
                    out = []
                    for a, b in parts.values():
                        xw, y = windows(x, a, b, L, H)
                        out.append(float(((fit.predict(xw) - y) ** 2).mean()))
                    scored[rule] = tuple(out)
                mse[(name, H, L)] = scored

    def relative(cells, rule: str, part: int) -> float:
        return float(np.mean([mse[c][rule][part] / mse[c]["one fit"][part] for c in cells]))

    cells = list(mse)
    print(f"{Path(args.data).name}: {len(names)} columns x horizons {args.horizon} x lookbacks "
          f"{args.lookback}; MSE relative to one fit, mean over {len(cells)} cells")
    print(f"{'rule':<14}{'validation':>12}{'test':>10}")
    for rule in RULES:
        print(f"{rule:<14}{relative(cells, rule, 0):>12.4f}{relative(cells, rule, 1):>10.4f}")
    print("\nleave one column out: the rule with the lowest validation MSE on the other columns, "
          "scored on the held-out column's test rows")
    oof = []
    for name in names:
        others = [c for c in cells if c[0] != name]
        mine = [c for c in cells if c[0] == name]
        rule = min(RULES, key=lambda r: relative(others, r, 0))
        oof += [mse[c][rule][1] / mse[c]["one fit"][1] for c in mine]
        print(f"  {name:<6} chose {rule:<12} test {relative(mine, rule, 1):.4f} "
              f"(cv: {relative(mine, 'cv', 1):.4f})")
    print(f"out of fold: {np.mean(oof):.4f}; the shipped cv rule: {relative(cells, 'cv', 1):.4f}")


if __name__ == "__main__":
    main()
