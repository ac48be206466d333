"""Compiled per-step arithmetic of :mod:`alphapulse.risk.measures`, bit-identical to the
numpy expressions there: sums in numpy's pairwise order, ``np.quantile``'s ``linear``
method (order statistics of a sorted copy, numpy's ``_lerp``), ``std``/``var`` with
``ddof=1`` as numpy computes them. Callers fall back to numpy for non-finite inputs."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.sweep.kernels import pairwise_sum

FloatArray = npt.NDArray[np.float64]


@njit(cache=True, error_model="numpy")
def _mean(x: FloatArray) -> float:
    return pairwise_sum(x, 0, x.shape[0]) / x.shape[0]


@njit(cache=True, error_model="numpy")
def _var1(x: FloatArray, mean: float) -> float:
    """``x.var(ddof=1)`` given ``mean == x.mean()``."""
    n = x.shape[0]
    sq = np.empty(n)
    for i in range(n):
        d = x[i] - mean
        sq[i] = d * d
    return pairwise_sum(sq, 0, n) / (n - 1)


@njit(cache=True, error_model="numpy")
def _quantile(sorted_x: FloatArray, q: float) -> float:
    """``np.quantile(x, q)`` (linear, ``0 <= q <= 1``) from a sorted copy of ``x``."""
    n = sorted_x.shape[0]
    vi = (n - 1) * q
    if vi >= n - 1:
        return sorted_x[n - 1]
    lo = int(vi)  # floor: vi >= 0
    a, b = sorted_x[lo], sorted_x[lo + 1]
    t = vi - lo
    diff = b - a
    if t >= 0.5:
        return b - diff * (1 - t)
    return a + diff * t


@njit(cache=True, error_model="numpy")
def _tail_mean(x: FloatArray, q: float) -> float:
    """``x[x <= q].mean()`` (NaN when empty)."""
    n = x.shape[0]
    tail = np.empty(n)
    k = 0
    for i in range(n):
        if x[i] <= q:
            tail[k] = x[i]
            k += 1
    return pairwise_sum(tail, 0, k) / k if k else np.nan


@njit(cache=True, error_model="numpy")
def window_stats(r: FloatArray, b: FloatArray, qs: FloatArray) -> FloatArray:
    """[mu, sigma, beta, q_0, tail_mean_0, q_1, tail_mean_1, ...] of returns ``r`` and
    benchmark returns ``b`` (``RiskMeasures._row``); beta is NaN when var(b) <= 0.
    Empty when an input is not finite."""
    m = r.shape[0]
    for i in range(m):
        if not (math.isfinite(r[i]) and math.isfinite(b[i])):
            return np.empty(0)  # the caller falls back to numpy
    out = np.empty(3 + 2 * qs.shape[0])
    mu = _mean(r)
    out[0] = mu
    out[1] = math.sqrt(_var1(r, mu))
    bm = _mean(b)
    var_b = _var1(b, bm)
    out[2] = np.nan
    if var_b > 0:
        prod = np.empty(m)
        for i in range(m):
            prod[i] = (r[i] - mu) * (b[i] - bm)
        out[2] = pairwise_sum(prod, 0, m) / (m - 1) / var_b
    s = np.sort(r)
    for k in range(qs.shape[0]):
        q = _quantile(s, qs[k])
        out[3 + 2 * k] = q
        out[4 + 2 * k] = _tail_mean(r, q)
    return out


@njit(cache=True, error_model="numpy")
def concentration_of(
    positions: FloatArray, last: FloatArray, equity: float
) -> tuple[float, float, float, float]:
    """``concentration(ctx.weights())``: (gross, net, largest |w|, HHI)."""
    n = positions.shape[0]
    w = np.empty(n)
    a = np.empty(n)
    for i in range(n):
        mv = 0.0 if math.isnan(last[i]) else positions[i] * last[i]
        w[i] = mv / equity if equity > 0 else 0.0
        a[i] = abs(w[i])
    gross = pairwise_sum(a, 0, n)
    if math.isnan(gross):  # numpy: NaN propagates through net, max and HHI
        return gross, pairwise_sum(w, 0, n), np.nan, np.nan
    if not gross > 0:
        return 0.0, 0.0, 0.0, 0.0
    share = np.empty(n)
    largest = a[0]
    for i in range(n):
        share[i] = (a[i] / gross) * (a[i] / gross)
        largest = max(largest, a[i])
    return gross, pairwise_sum(w, 0, n), largest, pairwise_sum(share, 0, n)


@njit(cache=True, error_model="numpy")
def mean_return(prev: FloatArray, now: FloatArray) -> float:
    """Mean of the finite ``now / prev - 1`` (NaN when none)."""
    n = now.shape[0]
    r = np.empty(n)
    k = 0
    for i in range(n):
        v = now[i] / prev[i] - 1.0
        if math.isfinite(v):
            r[k] = v
            k += 1
    return pairwise_sum(r, 0, k) / k if k else np.nan
