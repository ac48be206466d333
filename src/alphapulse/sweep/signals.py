"""Vectorised strategy signals: every row's direction computed from the whole history at
once, each row from rows <= t only (trailing windows), as ``on_bar`` would compute it at
step t. The compiled path (:mod:`alphapulse.sweep.compiled`) reveals them bar by bar.

Sums follow numpy's order in ``strategies.indicators`` so values are bit-identical to
``on_bar``: one symbol reduces a contiguous ``[w, 1]`` column (pairwise summation); a
cross-section ``[w, N > 1]`` is reduced row after row (sequential summation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from alphapulse.sweep.kernels import _UNDECIDED, _state, _state_bounded, pairwise_sum

FloatArray = npt.NDArray[np.float64]

_PERIOD = 32  # rows between exact restarts of the O(1) rolling sums
_PW_BLOCK = 128


@dataclass(frozen=True)
class VectorSignals:
    """Directions ``[n_bars, n_symbols]`` (+1/0/-1, NaN = no opinion) for every row, by
    the symbol's position at that row: ``flat`` (and, when ``long``/``short`` are None,
    every state), ``long`` (position > 0), ``short`` (position < 0). A strategy whose
    decision reads its position (mean reversion) declares the three; ``confidence``
    (optional, same shape) scales EqualSlot weights as ``Signals.confidence`` does."""

    flat: FloatArray
    long: FloatArray | None = None
    short: FloatArray | None = None
    confidence: FloatArray | None = None

    def __post_init__(self) -> None:
        shape = self.flat.shape
        for name in ("long", "short", "confidence"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != shape:
                raise ValueError(f"VectorSignals.{name}: shape {arr.shape}, expected {shape}")


@njit(cache=True, error_model="numpy")
def window_sum(x: FloatArray, start: int, n: int, pairwise: bool) -> float:
    """Sum of ``x[start:start + n]``: numpy's pairwise order, or left to right."""
    if pairwise:
        return pairwise_sum(x, start, n)
    s = 0.0
    for i in range(start, start + n):
        s += x[i]
    return s


@njit(cache=True, error_model="numpy")
def _bounded_means(
    x: FloatArray, w: int, pairwise: bool, means: FloatArray, err: FloatArray
) -> None:
    """Rolling means of ``x`` (NaN only before the first value, then finite >= 0) in O(1)
    per row, restarted from the exact sum every ``_PERIOD`` rows, and a bound ``err`` on
    their distance from the exact means (see ``kernels.rolling_means_bounded``; a
    sequential sum of ``w`` terms has rounding depth ``w``)."""
    n = x.shape[0]
    means[:] = np.nan
    err[:] = 0.0
    first = 0
    while first < n and math.isnan(x[first]):
        first += 1
    eps = np.finfo(np.float64).eps
    depth = float(w)  # sequential sum: rounding depth w
    if pairwise:
        depth = 26.0 + math.ceil(math.log2(max(w, _PW_BLOCK) / _PW_BLOCK))
    coef = 2.0 * (2.0 * depth + _PERIOD + 1.0) * eps / w
    t0 = first + w - 1
    while t0 < n:
        stop = min(t0 + _PERIOD, n)
        s = window_sum(x, t0 - w + 1, w, pairwise)
        hi = s
        means[t0] = s / w
        for t in range(t0 + 1, stop):
            s = s + x[t]
            hi = max(hi, s)
            s = s - x[t - w]
            means[t] = s / w
        for t in range(t0, stop):
            err[t] = coef * hi
        t0 = stop


@njit(cache=True, error_model="numpy")
def _bounded_ok(x: FloatArray) -> bool:
    n = x.shape[0]
    i = 0
    while i < n and math.isnan(x[i]):
        i += 1
    for t in range(i, n):  # noqa: SIM110 (numba: no generators)
        if not (math.isfinite(x[t]) and x[t] >= 0):
            return False
    return True


@njit(cache=True, error_model="numpy", parallel=True)
def sma_cross_directions(prices: FloatArray, fast: int, slow: int) -> FloatArray:
    """``strategies.sma_cross`` for every row: 1 where the fast SMA crosses above the
    slow one, 0 where it crosses below, NaN otherwise (ties within ``TIE_TOL``)."""
    n, m = prices.shape
    pairwise = m == 1
    out = np.full((n, m), np.nan)
    for j in prange(m):
        x = np.ascontiguousarray(prices[:, j])
        mf, ef = np.empty(n), np.empty(n)
        ms, es = np.empty(n), np.empty(n)
        bounded = _bounded_ok(x)
        if bounded:
            _bounded_means(x, fast, pairwise, mf, ef)
            _bounded_means(x, slow, pairwise, ms, es)
        prev = np.nan
        for t in range(n):
            now = _state_bounded(mf[t], ms[t], ef[t], es[t]) if bounded else _UNDECIDED
            if now == _UNDECIDED:
                a = window_sum(x, t - fast + 1, fast, pairwise) / fast if t >= fast - 1 else np.nan
                b = window_sum(x, t - slow + 1, slow, pairwise) / slow if t >= slow - 1 else np.nan
                now = _state(a, b)
            if now > 0 and prev <= 0:
                out[t, j] = 1.0
            elif now < 0 and prev >= 0:
                out[t, j] = 0.0
            prev = now
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def zscores(prices: FloatArray, window: int) -> FloatArray:
    """(price - trailing mean) / trailing sample std over ``window`` rows, as
    ``strategies.mean_reversion`` computes it with numpy (NaN while incomplete, and over
    a window of equal prices: their deviation is zero, the rounded sums' are not)."""
    n, m = prices.shape
    pairwise = m == 1
    w = window
    out = np.full((n, m), np.nan)
    for j in prange(m):
        x = np.ascontiguousarray(prices[:, j])
        dev = np.empty(w)
        for t in range(w - 1, n):
            s = t - w + 1
            if not x[s : t + 1].max() > x[s : t + 1].min():
                continue
            mean = window_sum(x, s, w, pairwise) / w
            for i in range(w):
                d = x[s + i] - mean
                dev[i] = d * d
            std = math.sqrt(window_sum(dev, 0, w, pairwise) / max(w - 1, 0))
            out[t, j] = (x[t] - mean) / std
    return out


def momentum_directions(
    prices: FloatArray, lookback: int, every: int, threshold: float, down: float
) -> FloatArray:
    """``strategies.momentum`` for every row: on rows t >= lookback with t % every == 0,
    1 where prices[t] / prices[t - lookback] - 1 > threshold, else ``down``; NaN on
    other rows and where the return is NaN."""
    n = prices.shape[0]
    out = np.full(prices.shape, np.nan)
    rows = np.arange(lookback, n)
    rows = rows[rows % every == 0]
    if rows.size:
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = prices[rows] / prices[rows - lookback] - 1.0
        d = np.where(ret > threshold, 1.0, down)
        out[rows] = np.where(np.isnan(ret), np.nan, d)
    return out
