"""Trailing indicators on the cross-section history ([rows, N] arrays, oldest first).
Each returns values for the last ``k`` rows only, using data up to each of those rows."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Relative tolerance for comparing two indicator values. Prices are quoted in ticks, so
# two SMAs of the same series are often mathematically equal while their floating-point
# sums differ in the last bits; any difference within TIE_TOL x |value| counts as a tie.
TIE_TOL = 1e-9


def sma(x: FloatArray, window: int, k: int = 2) -> FloatArray:
    """Simple moving averages ending at each of the last ``k`` rows, shape [k, N]
    (NaN where the window is incomplete or holds a missing bar)."""
    n = x.shape[0]
    out = np.full((k, x.shape[1]), np.nan)
    for i in range(k):
        end = n - (k - 1 - i)
        if end >= window:
            out[i] = x[end - window : end].mean(axis=0)
    return out


def rolling_std(x: FloatArray, window: int, k: int = 1) -> FloatArray:
    """Sample standard deviation (ddof=1) over trailing windows, shape [k, N]."""
    n = x.shape[0]
    out = np.full((k, x.shape[1]), np.nan)
    for i in range(k):
        end = n - (k - 1 - i)
        if end >= window:
            out[i] = x[end - window : end].std(axis=0, ddof=1)
    return out


def compare(a: FloatArray, b: FloatArray) -> FloatArray:
    """+1 where a > b, -1 where a < b, 0 on a tie (within TIE_TOL), NaN if either is NaN."""
    d = a - b
    tol = TIE_TOL * np.maximum(np.abs(a), np.abs(b))
    out = np.where(d > tol, 1.0, np.where(d < -tol, -1.0, 0.0))
    return np.where(np.isnan(d), np.nan, out)


def crossed_above(a: FloatArray, b: FloatArray) -> npt.NDArray[np.bool_]:
    """True where a is above b now and was at or below it one row earlier ([2, N] inputs)."""
    state = compare(a, b)
    return (state[1] > 0) & (state[0] <= 0)
