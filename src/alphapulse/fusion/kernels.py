"""Compiled per-bar kernels of the hybrid's decision path: the shadow books' step, the
trailing vol of their returns and the fusers, each one call over all experts and
symbols. Each computes exactly what the numpy expressions in ``fusion.shadow`` and
``fusion.fusers`` compute (same summation order: pairwise along a contiguous row,
row after row down a column), so decisions are bit-identical; the tests in
``tests/fusion/test_kernels.py`` compare them with the numpy functions.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.sweep.kernels import pairwise_sum

FloatArray = npt.NDArray[np.float64]
_TIE = 1e-12  # fusers.TIE
_BIG = float(np.finfo(np.float64).max)


@njit(cache=True, error_model="numpy")
def _nan_to_num(x: float) -> float:
    if math.isnan(x):
        return 0.0
    if math.isinf(x):
        return _BIG if x > 0 else -_BIG
    return x


@njit(cache=True, error_model="numpy")
def book_step(
    held: FloatArray,
    dirs: FloatArray,
    last: FloatArray,
    started: bool,
    close: FloatArray,
    directions: FloatArray,
    cost: float,
    out: FloatArray,
    scratch: FloatArray,
) -> None:
    """``ShadowBooks.update`` in place: mark ``held`` [E, N] from ``last`` to ``close``,
    take ``directions`` into ``dirs`` (NaN keeps), net returns into ``out`` [E];
    ``scratch``: [2, N] work rows."""
    n_e, n = held.shape
    r, row = scratch[0], scratch[1]
    for j in range(n):
        x = close[j] / last[j] - 1.0 if started else 0.0
        r[j] = x if math.isfinite(x) else 0.0
    for e in range(n_e):
        gross = 0.0
        if started:
            for j in range(n):
                row[j] = held[e, j] * r[j]
            gross = pairwise_sum(row, 0, n) / n
        for j in range(n):
            d = directions[e, j]
            if not math.isnan(d):
                dirs[e, j] = d
            new = _nan_to_num(dirs[e, j])
            row[j] = abs(new - held[e, j])
            held[e, j] = new
        out[e] = gross - cost * pairwise_sum(row, 0, n) / n
    for j in range(n):
        if not started or math.isfinite(close[j]):
            last[j] = close[j]


@njit(cache=True, error_model="numpy")
def column_std(r: FloatArray) -> FloatArray:
    """``r.std(axis=0, ddof=1)`` of a C-contiguous [rows, E] block (rows >= 2): row
    after row, or numpy's pairwise order down a single (contiguous) column."""
    rows, n_e = r.shape
    if n_e == 1:
        col = r[:, 0].copy()
        mean = pairwise_sum(col, 0, rows) / rows
        for i in range(rows):
            col[i] = (col[i] - mean) * (col[i] - mean)
        return np.array([math.sqrt(pairwise_sum(col, 0, rows) / (rows - 1))])
    mean = r[0].copy()
    for i in range(1, rows):
        for e in range(n_e):
            mean[e] += r[i, e]
    mean /= rows
    ss = np.empty(n_e)
    for e in range(n_e):
        d = r[0, e] - mean[e]
        ss[e] = d * d
    for i in range(1, rows):
        for e in range(n_e):
            d = r[i, e] - mean[e]
            ss[e] += d * d
    return np.sqrt(ss / (rows - 1))


@njit(cache=True, error_model="numpy")
def risk_budget(vol: FloatArray, weights: FloatArray) -> FloatArray:
    """``fusers.risk_budget_weights``."""
    n_e = len(vol)
    ok = np.empty(n_e, dtype=np.bool_)
    good = np.empty(n_e)
    k = 0
    for e in range(n_e):
        ok[e] = math.isfinite(vol[e]) and vol[e] > 0
        if ok[e]:
            good[k] = vol[e]
            k += 1
    fill = 1.0
    if k:
        g = np.sort(good[:k])
        fill = g[k // 2] if k % 2 else (g[k // 2 - 1] + g[k // 2]) / 2.0
    w = np.empty(n_e)
    for e in range(n_e):
        w[e] = weights[e] / (vol[e] if ok[e] else fill)
    s = pairwise_sum(w, 0, n_e)
    return w / s if s > 0 else w


@njit(cache=True, error_model="numpy")
def fuse(dirs: FloatArray, conf: FloatArray, weights: FloatArray, threshold: float) -> FloatArray:
    """The fused direction per symbol: ``fusers.confidence_average`` (``threshold`` >= 0)
    or, with ``threshold`` < 0, ``fusers.majority_vote`` (``conf`` unused)."""
    n_e, n = dirs.shape
    vote = threshold < 0
    tol = max(threshold, _TIE)
    out = np.empty(n)
    for j in range(n):
        num, den, first = 0.0, 0.0, True
        for e in range(n_e):
            x = dirs[e, j]
            if vote:
                x = np.sign(x)
            else:
                c = conf[e, j]
                x = x * (1.0 if math.isnan(c) else min(max(c, 0.0), 1.0))
            w = weights[e]
            a = math.isfinite(x) and w > 0
            t_num = w * x if a else 0.0
            t_den = w if a else 0.0
            if first:  # numpy's reduction starts from the first row
                num, den, first = t_num, t_den, False
            else:
                num += t_num
                den += t_den
        if not den > 0:
            out[j] = np.nan
            continue
        score = num / den
        out[j] = np.nan if math.isnan(score) else (0.0 if abs(score) <= tol else np.sign(score))
    return out


@njit(cache=True, error_model="numpy")
def apply_stops(
    d: FloatArray,
    stopped: FloatArray,
    stop: float,
    pos: FloatArray,
    avg: FloatArray,
    px: FloatArray,
) -> FloatArray:
    """``Hybrid._apply_stops`` in place on ``stopped`` (``stop`` NaN: none); the
    directions with stopped names flat."""
    out = np.empty(len(d))
    for j in range(len(d)):
        if _nan_to_num(d[j]) != stopped[j]:
            stopped[j] = 0.0
        if not math.isnan(stop):
            p = pos[j]
            if (p > 0 and px[j] <= avg[j] * (1 - stop)) or (p < 0 and px[j] >= avg[j] * (1 + stop)):
                stopped[j] = np.sign(p)
        out[j] = 0.0 if stopped[j] != 0 else d[j]
    return out


@njit(cache=True, error_model="numpy")
def mean_log_return(prev: FloatArray, last: FloatArray) -> float:
    """Mean of the finite ``log(last / prev)`` (NaN: none); ``hybrid``'s proxy return."""
    r = np.empty(len(last))
    k = 0
    for j in range(len(last)):
        x = np.log(last[j] / prev[j])
        if math.isfinite(x):
            r[k] = x
            k += 1
    return pairwise_sum(r, 0, k) / k if k else np.nan
