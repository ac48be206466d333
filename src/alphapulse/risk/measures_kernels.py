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
    benchmark returns ``b``; beta is NaN when var(b) <= 0.
    Empty when an input is not finite."""
    m = r.shape[0]
    for i in range(m):
        if not (math.isfinite(r[i]) and math.isfinite(b[i])):
            return np.empty(0)  # the caller falls back to numpy
    out = np.empty(3 + 2 * qs.shape[0])
    _stats_into(r, b, np.sort(r), qs, out)
    return out


@njit(cache=True, error_model="numpy")
def _stats_into(
    r: FloatArray, b: FloatArray, s: FloatArray, qs: FloatArray, out: FloatArray
) -> None:
    """``window_stats`` of finite ``r``, ``b`` into ``out``, given ``s``: ``r`` sorted."""
    m = r.shape[0]
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
    for k in range(qs.shape[0]):
        q = _quantile(s, qs[k])
        out[3 + 2 * k] = q
        out[4 + 2 * k] = _tail_mean(r, q)


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


# ``measures_step`` state slots (a float64 array) and parameters
PREV_EQUITY, N_RETURNS, SORTED_OK, IRREGULAR = range(4)
# params: [benchmark sid (-1: equal weight), min_periods, then for L levels: L quantile
# probabilities 1 - a, L z = Phi^-1(1 - a), L phi(z), L (1 - a)]


@njit(cache=True)
def _irregular(x: float) -> bool:
    """Not finite, or -0.0 (whose place among equal zeros a sort does not fix)."""
    return not math.isfinite(x) or (x == 0.0 and math.copysign(1.0, x) < 0)


@njit(cache=True)
def _slide_sorted(s: FloatArray, m: int, old: float, new: float, full: bool) -> None:
    """Keep ``s[:m]`` sorted when ``new`` joins the window (and ``old`` leaves it when
    ``full``): before the call ``s`` holds the ``m`` (full) or ``m - 1`` values before."""
    if full:  # drop one copy of ``old`` (present; equal values have equal bits here)
        for i in range(np.searchsorted(s[:m], old), m - 1):
            s[i] = s[i + 1]
    j = np.searchsorted(s[: m - 1], new)
    for i in range(m - 1, j, -1):
        s[i] = s[i - 1]
    s[j] = new


@njit(cache=True, error_model="numpy")
def measures_step(
    state: FloatArray,
    ring: FloatArray,
    prices: FloatArray,
    positions: FloatArray,
    last: FloatArray,
    equity: float,
    vals: FloatArray,
    n: int,
    params: FloatArray,
) -> bool:
    """One step of ``RiskMeasures.update``: the step's return into the ring (``ring[0]``
    returns, ``ring[1]`` benchmark returns, ``ring[2]`` the returns kept sorted, one
    insertion a step) and every measure into ``vals[:, n]``, with the arithmetic of
    ``window_stats`` and ``gaussian_var_cvar``. Returns True when the window holds a
    non-finite return: the caller then fills the window measures with numpy."""
    window = ring.shape[1]
    nret = int(state[N_RETURNS])
    prev = state[PREV_EQUITY]
    if math.isfinite(prev) and prev > 0 and prices.shape[0] == 2:
        bench = int(params[0])
        if bench >= 0:
            b = prices[1, bench] / prices[0, bench] - 1.0
        else:
            b = mean_return(prices[0], prices[1])
        i = nret % window
        full = nret >= window
        old = ring[0, i]
        if full and _irregular(old):
            state[IRREGULAR] -= 1
        r = equity / prev - 1.0
        ring[0, i] = r
        ring[1, i] = b if math.isfinite(b) else 0.0
        if _irregular(r):
            state[IRREGULAR] += 1
        nret += 1
        state[N_RETURNS] = nret
        m = min(nret, window)
        if state[IRREGULAR] > 0:
            state[SORTED_OK] = 0.0
        elif state[SORTED_OK] == 0.0:
            ring[2, :m] = np.sort(ring[0, :m])
            state[SORTED_OK] = 1.0
        else:
            _slide_sorted(ring[2], m, old, r, full)
    state[PREV_EQUITY] = equity
    gross, net, largest, hhi = concentration_of(positions, last, equity)
    g = vals.shape[0] - 5  # the gross_leverage row: 8 VaR/CVaR rows, 4 book rows, beta
    vals[g, n], vals[g + 1, n], vals[g + 2, n], vals[g + 3, n] = gross, net, largest, hhi
    m = min(nret, window)
    if m < int(params[1]):
        for j in range(g):
            vals[j, n] = np.nan
        vals[g + 4, n] = np.nan
        return False
    if state[SORTED_OK] == 0.0:
        for j in range(m):
            if not math.isfinite(ring[0, j]):
                return True
        s = np.sort(ring[0, :m])  # a -0.0 in the window: sort afresh, as window_stats
    else:
        s = ring[2, :m]
    levels = (params.shape[0] - 2) // 4
    st = np.empty(3 + 2 * levels)
    _stats_into(ring[0, :m], ring[1, :m], s, params[2 : 2 + levels], st)
    mu, sigma = st[0], st[1]
    for k in range(levels):
        q, tail = st[3 + 2 * k], st[4 + 2 * k]
        vals[2 * k, n] = -q
        vals[2 * k + 1, n] = -q if math.isnan(tail) else -tail
        z, pdf, one_minus = (
            params[2 + levels + k],
            params[2 + 2 * levels + k],
            params[2 + 3 * levels + k],
        )
        vals[2 * levels + 2 * k, n] = -(mu + z * sigma)
        vals[2 * levels + 2 * k + 1, n] = -(mu - sigma * pdf / one_minus)
    vals[g + 4, n] = st[2]
    return False
