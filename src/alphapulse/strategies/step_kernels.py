"""Compiled per-step indicator kernels for the built-in strategies' ``on_bar``.

Each kernel computes, for the last row of a trailing window only, exactly what the
numpy expressions in :mod:`alphapulse.strategies.indicators` compute (same summation
order: pairwise for one symbol's contiguous ``[w, 1]`` column, row after row for a
cross-section ``[w, N > 1]``; same ``TIE_TOL`` tie rule), in one call instead of a
dozen numpy calls per bar.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.sweep.kernels import _state
from alphapulse.sweep.signals import window_sum

FloatArray = npt.NDArray[np.float64]


@njit(cache=True, error_model="numpy")
def _mean_at(x: FloatArray, end: int, window: int, pairwise: bool) -> float:
    """Mean of ``x[end - window:end]`` (NaN when the window is incomplete)."""
    if end < window:
        return np.nan
    return window_sum(x, end - window, window, pairwise) / window


@njit(cache=True, error_model="numpy")
def sma_cross_last(x: FloatArray, fast: int, slow: int) -> FloatArray:
    """``SmaCross.on_bar``'s directions for the last row of ``x`` ([rows, N], oldest
    first): 1 where the fast SMA crossed above the slow one, 0 where it crossed below,
    NaN otherwise."""
    n, m = x.shape
    pairwise = m == 1
    out = np.full(m, np.nan)
    for j in range(m):
        col = x[:, j]
        now = _state(_mean_at(col, n, fast, pairwise), _mean_at(col, n, slow, pairwise))
        prev = _state(_mean_at(col, n - 1, fast, pairwise), _mean_at(col, n - 1, slow, pairwise))
        if now > 0 and prev <= 0:
            out[j] = 1.0
        elif now < 0 and prev >= 0:
            out[j] = 0.0
    return out


@njit(cache=True, error_model="numpy")
def mean_reversion_last(
    x: FloatArray, window: int, entry_z: float, exit_z: float, short: bool, pos: FloatArray
) -> FloatArray:
    """``MeanReversion.on_bar``'s directions from ``x`` (its last ``window`` rows, [rows,
    N]): the z-score of the last row against ``indicators.sma`` / ``rolling_std`` (same
    sums, same order; none over equal prices, whose deviation is zero but whose rounded
    sums are not: ``sweep.signals.zscores``), then entries when flat and exits when
    long / short."""
    n, m = x.shape
    pairwise = m == 1
    out = np.full(m, np.nan)
    dev = np.empty(window)
    for j in range(m):
        z = np.nan
        col = x[max(n - window, 0) : n, j]
        if n >= window and col.max() > col.min():
            mean = window_sum(col, 0, window, pairwise) / window
            for i in range(window):
                dev[i] = (col[i] - mean) * (col[i] - mean)
            std = math.sqrt(window_sum(dev, 0, window, pairwise) / (window - 1))
            z = (col[window - 1] - mean) / std
        p = pos[j]
        if p == 0 and z < -entry_z:
            out[j] = 1.0
        if p > 0 and z > -exit_z:
            out[j] = 0.0
        if short:
            if p == 0 and z > entry_z:
                out[j] = -1.0
            if p < 0 and z < exit_z:
                out[j] = 0.0
    return out
