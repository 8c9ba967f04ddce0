"""Changes of slope ("kinks"): the series as a straight line plus hinges max(0, t - tau) (a
change of slope, the line staying continuous) and steps (a level shift, so that a shift is
not read as two kinks), terms chosen by forward selection at a BIC-style penalty in units of
the noise's long-run spread (AR(1) noise wanders like a slow trend, and its long-run variance
says how much)."""

from __future__ import annotations

import math

import numpy as np

from lstm_core.changepoints.classical import blocked

MAX_TERMS = 20  # forward selection stops here at the latest
MAX_WIDENINGS = 5  # the noise's spread read again from the fit's leftovers at most this often
PHI_MAX = 0.999  # the noise's AR(1) coefficient is read at most this close to a random walk
Term = tuple[int, bool]  # (row tau, a hinge max(0, t - t[tau]) or else a step t > t[tau])


def long_run_variance(z: np.ndarray) -> np.ndarray:
    """(T, K) -> (K,) each column's long-run noise variance under AR(1) noise, read from its
    first differences, so a trend or a change of slope barely moves it: for AR(1) noise of
    variance s2 and coefficient phi, the steps have variance 2 s2 (1 - phi) and lag-one
    correlation -(1 - phi) / 2, and the long-run variance is s2 (1 + phi) / (1 - phi)."""
    d = np.diff(z, axis=0)
    v, rho = _lag_one(d - d.mean(axis=0))
    phi = np.clip(1.0 + 2.0 * rho, 0.0, PHI_MAX)
    floor = 1e-12 * np.maximum((z * z).mean(axis=0), 1e-300)  # relative: any units
    return np.maximum(v * (1 + phi) / (2 * (1 - phi) ** 2), floor)


def residual_variance(z: np.ndarray, design: np.ndarray) -> np.ndarray:
    """(T, K), (T, m) -> (K,) the long-run variance of what a least-squares fit on ``design``
    leaves of each column, read as AR(1): its variance times (1 + phi) / (1 - phi), phi its
    lag-one correlation (a cycle the broken line cannot follow reads as slow noise)."""
    v, rho = _lag_one(z - design @ np.linalg.lstsq(design, z, rcond=None)[0])
    phi = np.clip(rho, 0.0, PHI_MAX)
    return v * (1 + phi) / (1 - phi)


def _lag_one(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) -> (K,) twice: each column's mean square and its lag-one correlation."""
    v = (r * r).mean(axis=0)
    return v, (r[1:] * r[:-1]).mean(axis=0) / np.where(v > 1e-300, v, 1.0)


def _tail(v: np.ndarray) -> np.ndarray:
    """Sums over the rows after each row: out[tau] = v[tau + 1:].sum(axis=0)."""
    c = np.cumsum(v[::-1], axis=0)[::-1]
    return np.concatenate([c[1:], np.zeros((1, *v.shape[1:]))])


def _gains(r: np.ndarray, q: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T,) twice: the drop of the residual sum of squares (summed over columns) from one hinge
    at each row tau, and from one step there, given residuals ``r`` (T, K) orthogonal to the
    basis ``q`` (T, m, orthonormal): (r . h)^2 / |h less its projection on q|^2."""
    tt = t[:, None]
    ones = np.ones_like(t)
    tail_r, tail_q = _tail(r), _tail(q)
    out = []
    for num, hh, qh in (
        (  # hinges: r . h, |h|^2, q_j . h
            _tail(r * tt) - tt * tail_r,
            _tail(t * t) - 2 * t * _tail(t) + t * t * _tail(ones),
            _tail(q * tt) - tt * tail_q,
        ),
        (tail_r, _tail(ones), tail_q),  # steps
    ):
        den = hh - (qh * qh).sum(axis=1)
        ok = den > 1e-9 * max(float(hh.max()), 1e-300)
        out.append(np.where(ok, (num * num).sum(axis=1) / np.where(ok, den, 1.0), 0.0))
    return out[0], out[1]


def _design(t: np.ndarray, at: np.ndarray, terms: list[Term]) -> np.ndarray:
    """(len(at), 2 + terms) a line and each term, read at times ``at`` (knots at ``t[tau]``)."""
    cols = [np.ones_like(at), at]
    for tau, hinge in terms:
        cols.append(np.maximum(0.0, at - t[tau]) if hinge else (at > t[tau]).astype(float))
    return np.column_stack(cols)


def _select(z: np.ndarray, size: int, sensitivity: float) -> list[Term]:
    """Terms of the fit of ``z`` ((n, K) in long-run noise units): forward selection while the
    best hinge's or step's drop exceeds (1 + K) log n / sensitivity, each term then moved to
    its best row between its neighbours with the others held, and the weakest dropped while it
    does not pay."""
    n, k = z.shape
    t = np.linspace(0.0, 1.0, n)
    penalty = (1 + k) * math.log(n) / sensitivity

    def gains(terms: list[Term]) -> tuple[np.ndarray, np.ndarray]:
        q, _ = np.linalg.qr(_design(t, t, terms))
        return _gains(z - q @ (q.T @ z), q, t)

    def free(terms: list[Term], lo: int = 0, hi: int = n) -> np.ndarray:  # rows a term may take
        ok = np.zeros(n, dtype=bool)
        ok[max(size, lo) : min(n - size, hi)] = True
        for j, _ in terms:
            ok[max(0, j - size + 1) : j + size] = False
        return ok

    terms: list[Term] = []
    while len(terms) < MAX_TERMS:
        ok = free(terms)
        h, s = (np.where(ok, g, -np.inf) for g in gains(terms))
        i, hinge = (int(np.argmax(h)), True) if h.max() >= s.max() else (int(np.argmax(s)), False)
        if max(h.max(), s.max()) <= penalty:
            break
        terms.append((i, hinge))
    for _ in range(2):  # each term to its best row between its neighbours, the others held
        for j, (tau, hinge) in enumerate(terms):
            others = terms[:j] + terms[j + 1 :]
            lo = max([-1, *(x for x, _ in others if x < tau)]) + size
            hi = min([n, *(x for x, _ in others if x > tau)]) - size + 1
            g = np.where(free(others, lo, hi), gains(others)[0 if hinge else 1], -np.inf)
            if np.isfinite(g.max()):
                terms[j] = (int(np.argmax(g)), hinge)
    while terms:  # the weakest term goes while it does not pay the penalty
        worth = [
            float(gains(terms[:j] + terms[j + 1 :])[0 if h else 1][x])
            for j, (x, h) in enumerate(terms)
        ]
        j = int(np.argmin(worth))
        if worth[j] > penalty:
            break
        terms.pop(j)
    return sorted(terms)


def _fitted(z: np.ndarray, size: int, sensitivity: float) -> tuple[np.ndarray, list[Term]]:
    """(K,) the noise's long-run spread per column and the terms ``_select`` keeps in those
    units: read from the steps, then from what the fit leaves where that wanders more (a
    cycle the broken line cannot follow), and the terms chosen again until the spread stops
    growing (a random walk's wander, which the first terms absorbed, shows once they go)."""
    scale = np.sqrt(long_run_variance(z))
    terms = _select(z / scale, size, sensitivity)
    t = np.linspace(0.0, 1.0, len(z))
    for _ in range(MAX_WIDENINGS):
        wider = np.sqrt(residual_variance(z, _design(t, t, terms)))
        if not np.any(wider > scale * (1 + 1e-9)):
            break
        scale = np.maximum(scale, wider)
        terms = _select(z / scale, size, sensitivity)
    return scale, terms


def trend(
    raw: np.ndarray, sensitivity: float = 1.0, min_size: int = 3
) -> tuple[list[int], np.ndarray]:
    """Changes of slope, and the broken line through the series without its steps.

    Terms are added one at a time where a hinge or a step drops the residual sum of squares
    most (each column in units of its long-run noise variance, ``long_run_variance``), while
    the drop exceeds the penalty (1 + K) log n / sensitivity (a location and one slope change
    or level per column: BIC); each term is then moved to its best row with the others held,
    and the weakest dropped while it no longer pays the penalty.

    Args:
        raw: (T, K) the series.
        sensitivity: the penalty is divided by it.
        min_size: fewest rows between terms and from the ends.

    Series longer than ``seg.MAX_POINTS`` rows are fitted on block means, as ``classical``.

    Returns:
        The first row of each new slope (the hinges' knots), in time order, and (T, K) the
        fitted line and hinges without the steps, in the series' units: zeros when there is no
        hinge and the line's slope does not pay K log n / sensitivity (no trend to take out).
    """
    x = np.asarray(raw, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    z, block, size = blocked(x, min_size)
    n, k = z.shape
    size = max(2, size)
    if n < 2 * size + 1:
        return [], np.zeros_like(x)
    scale, terms = _fitted(z, size, sensitivity)
    t = np.linspace(0.0, 1.0, n)
    hinges = [tau for tau, h in terms if h]
    if not hinges:  # the line's slope against the steps alone, in long-run noise units
        q, _ = np.linalg.qr(_design(t, t, terms)[:, [0, *range(2, 2 + len(terms))]])
        r = z / scale - q @ (q.T @ (z / scale))
        tc = t - q @ (q.T @ t)
        if ((tc @ r) ** 2).sum() / (tc @ tc) <= k * math.log(n) / sensitivity:
            return [], np.zeros_like(x)
    coef, *_ = np.linalg.lstsq(_design(t, t, terms), z, rcond=None)
    at = np.interp((np.arange(len(x)) + 0.5) / block - 0.5, np.arange(n), t)  # rows on t
    keep = [0, 1, *(2 + j for j, (_, h) in enumerate(terms) if h)]  # line and hinges
    # the knot is the last row of the old slope: the new one starts a row on (mid-block on
    # block means)
    rows = sorted(tau * block + block // 2 + 1 for tau in hinges)
    return rows, _design(t, at, terms)[:, keep] @ coef[keep]


def kinks(raw: np.ndarray, sensitivity: float = 1.0, min_size: int = 3) -> list[int]:
    """The first row of each new slope of ``trend``'s fit (level shifts are its steps, not
    counted), in time order."""
    return trend(raw, sensitivity, min_size)[0]


def scaled(raw: np.ndarray, min_size: int = 3) -> tuple[np.ndarray, int, int]:
    """(T, K) -> the series (its block means beyond ``seg.MAX_POINTS`` rows) in the long-run
    noise units ``trend`` reads at sensitivity 1, the rows per block and ``min_size`` in
    blocks: what ``drop`` reads."""
    z, block, size = blocked(np.asarray(raw, dtype=np.float64), min_size)
    return z / _fitted(z, max(2, size), 1.0)[0], block, size


def drop(z: np.ndarray, a: int, i: int, e: int) -> float:
    """The drop of the residual sum of squares of rows [a, e) of ``z`` (``scaled``'s) when
    one line there becomes two joined at row ``i`` (its slope changing from row ``i`` on)."""
    seg = z[a:e]
    t = np.linspace(0.0, 1.0, len(seg))
    j = i - a - 1  # the hinge's knot: the last row of the old slope
    if len(seg) < 4 or not 0 < j < len(seg) - 1:
        return 0.0
    q, _ = np.linalg.qr(_design(t, t, []))
    return float(_gains(seg - q @ (q.T @ seg), q, t)[0][j])
