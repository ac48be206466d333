"""Causal per-symbol z-scoring of raw feature values, as a numba step kernel.

For each symbol and feature, over the symbol's valid bars: z = (x - mean) / std (ddof=1)
of the finite values among the last ``window`` values, current included (``rolling``),
or among all values so far (``expanding``). Sums are kept relative to a shift (a recent
value) to avoid cancellation; the rolling sums are rebuilt from the ring every ``window``
bars so rounding cannot drift. Batch and incremental runs apply the same steps."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_REL_VAR_FLOOR = 1e-12  # variance below this x mean square (about the shift) counts as 0


@njit(cache=True, error_model="numpy")
def zscore_step(
    valid: BoolArray,
    cols: IntArray,
    rolling: bool,
    window: int,
    min_periods: int,
    cnt: IntArray,
    ring: FloatArray,
    sums: FloatArray,
    out: FloatArray,
) -> None:
    """Replace ``out[t, i, cols[f]]`` by its z-score in place. ``ring[i, f]`` holds the
    last ``window`` raw values (rolling only); ``sums[i, f]`` = (shift, n, s1, s2)."""
    for t in range(out.shape[0]):
        for i in range(out.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            for f in range(cols.shape[0]):
                x = out[t, i, cols[f]]
                sm = sums[i, f]
                if rolling:
                    pos = k % window
                    if k >= window:
                        old = ring[i, f, pos]
                        if not math.isnan(old):
                            d = old - sm[0]
                            sm[1] -= 1.0
                            sm[2] -= d
                            sm[3] -= d * d
                    ring[i, f, pos] = x
                if not math.isnan(x):
                    if sm[1] == 0.0:
                        sm[0] = x
                        sm[2] = 0.0
                        sm[3] = 0.0
                    d = x - sm[0]
                    sm[1] += 1.0
                    sm[2] += d
                    sm[3] += d * d
                if rolling and pos == window - 1:
                    _rebuild(ring, i, f, x, sm)
                n = sm[1]
                z = np.nan
                if not math.isnan(x) and n >= min_periods:
                    mean = sm[2] / n
                    var = (sm[3] - sm[2] * mean) / (n - 1.0)
                    if var > _REL_VAR_FLOOR * (sm[3] / n):
                        z = (x - sm[0] - mean) / math.sqrt(var)
                out[t, i, cols[f]] = z


@njit(cache=True, error_model="numpy")
def _rebuild(ring: FloatArray, i: int, f: int, x: float, sm: FloatArray) -> None:
    """Recompute the window sums exactly, shifted by the current value when finite."""
    if not math.isnan(x):
        sm[0] = x
    n = 0.0
    s1 = 0.0
    s2 = 0.0
    for j in range(ring.shape[2]):
        y = ring[i, f, j]
        if not math.isnan(y):
            d = y - sm[0]
            n += 1.0
            s1 += d
            s2 += d * d
    sm[1] = n
    sm[2] = s1
    sm[3] = s2
