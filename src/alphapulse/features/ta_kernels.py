"""Numba step kernels of the TA-Lib-style indicators (RSI, MACD, ATR, ADX, Bollinger %B,
OBV flow), written as per-symbol recursions over the symbol's own bars.

Every kernel takes a block of rows ``[T, N]`` plus per-symbol state arrays, advances the
state on each valid bar (``valid[t, i]``) and writes the value at that bar into
``out[t, i, col]`` (left NaN while the indicator is warming up or the bar is invalid).
Batch computation is one call on the whole history, incremental computation is one call
per new row with the same state: both run the same compiled code, so they agree exactly.
The recursions reproduce TA-Lib's (seeding, ``TA_IS_ZERO`` guards) on the symbol's
series of valid bars; ``tests/features/test_features_reference.py`` checks them against it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.features.stat_kernels import has_spread

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@njit(cache=True, error_model="numpy")
def _is_zero(x: float) -> bool:
    return -1e-8 < x < 1e-8


@njit(cache=True, error_model="numpy")
def _true_range(h: float, lo: float, prev_c: float) -> float:
    tr = h - lo
    a = abs(prev_c - h)
    if a > tr:
        tr = a
    b = abs(prev_c - lo)
    if b > tr:
        tr = b
    return tr


@njit(cache=True, error_model="numpy")
def rsi_step(
    c: FloatArray,
    valid: BoolArray,
    period: int,
    cnt: IntArray,
    prev: FloatArray,
    gain: FloatArray,
    loss: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """Wilder RSI: averages of gains/losses seeded by their simple mean over the first
    ``period`` changes, then ``avg = (avg * (p - 1) + x) / p``."""
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            x = c[t, i]
            k = cnt[i]
            cnt[i] = k + 1
            if k == 0:
                prev[i] = x
                gain[i] = 0.0
                loss[i] = 0.0
                continue
            d = x - prev[i]
            prev[i] = x
            if k <= period:
                if d < 0:
                    loss[i] -= d
                else:
                    gain[i] += d
                if k < period:
                    continue
                loss[i] /= period
                gain[i] /= period
            else:
                loss[i] *= period - 1
                gain[i] *= period - 1
                if d < 0:
                    loss[i] -= d
                else:
                    gain[i] += d
                loss[i] /= period
                gain[i] /= period
            s = gain[i] + loss[i]
            out[t, i, col] = 100.0 * (gain[i] / s) if not _is_zero(s) else 0.0


@njit(cache=True, error_model="numpy")
def macd_step(
    c: FloatArray,
    valid: BoolArray,
    fast: int,
    slow: int,
    signal: int,
    cnt: IntArray,
    ring: FloatArray,
    mring: FloatArray,
    ema: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """MACD histogram / close. As TA-Lib: the slow EMA is seeded by the mean of the first
    ``slow`` closes, the fast EMA by the mean of the last ``fast`` of those, the signal
    EMA by the mean of the first ``signal`` MACD values. ``ema[i]`` = (fast, slow, sig);
    ``ring`` holds the last ``slow`` closes, ``mring`` the first ``signal`` MACD values."""
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    kg = 2.0 / (signal + 1)
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            x = c[t, i]
            k = cnt[i]
            cnt[i] = k + 1
            if k < slow:
                ring[i, k] = x
                if k < slow - 1:
                    continue
                s = 0.0
                for j in range(slow):
                    s += ring[i, j]
                ema[i, 1] = s / slow
                s = 0.0
                for j in range(slow - fast, slow):
                    s += ring[i, j]
                ema[i, 0] = s / fast
            else:
                ema[i, 0] = (x - ema[i, 0]) * kf + ema[i, 0]
                ema[i, 1] = (x - ema[i, 1]) * ks + ema[i, 1]
            m = ema[i, 0] - ema[i, 1]
            km = k - (slow - 1)
            if km < signal:
                mring[i, km] = m
                if km < signal - 1:
                    continue
                s = 0.0
                for j in range(signal):
                    s += mring[i, j]
                ema[i, 2] = s / signal
            else:
                ema[i, 2] = (m - ema[i, 2]) * kg + ema[i, 2]
            out[t, i, col] = (m - ema[i, 2]) / x


@njit(cache=True, error_model="numpy")
def atr_step(
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    valid: BoolArray,
    period: int,
    cnt: IntArray,
    prev: FloatArray,
    atr: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """Wilder ATR / close: seeded by the mean true range of bars 1..period."""
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            if k == 0:
                prev[i] = c[t, i]
                atr[i] = 0.0
                continue
            tr = _true_range(h[t, i], lo[t, i], prev[i])
            prev[i] = c[t, i]
            if k <= period:
                atr[i] += tr
                if k < period:
                    continue
                atr[i] /= period
            else:
                atr[i] = (atr[i] * (period - 1) + tr) / period
            out[t, i, col] = atr[i] / c[t, i]


@njit(cache=True, error_model="numpy")
def adx_step(
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    valid: BoolArray,
    period: int,
    cnt: IntArray,
    st: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """Wilder ADX as TA-Lib (first value at bar 2p-1). ``st[i]`` = (prev high, prev low,
    prev close, +DM, -DM, TR, sum DX, ADX)."""
    p = float(period)
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            hi = h[t, i]
            lw = lo[t, i]
            if k == 0:
                st[i, 0] = hi
                st[i, 1] = lw
                st[i, 2] = c[t, i]
                for j in range(3, 8):
                    st[i, j] = 0.0
                continue
            dp = hi - st[i, 0]
            dm = st[i, 1] - lw
            st[i, 0] = hi
            st[i, 1] = lw
            tr = _true_range(hi, lw, st[i, 2])
            st[i, 2] = c[t, i]
            if k >= period:
                st[i, 4] -= st[i, 4] / p
                st[i, 3] -= st[i, 3] / p
            if dm > 0 and dp < dm:
                st[i, 4] += dm
            elif dp > 0 and dp > dm:
                st[i, 3] += dp
            if k < period:
                st[i, 5] += tr
                continue
            st[i, 5] = st[i, 5] - st[i, 5] / p + tr
            dx = -1.0
            if not _is_zero(st[i, 5]):
                mdi = 100.0 * (st[i, 4] / st[i, 5])
                pdi = 100.0 * (st[i, 3] / st[i, 5])
                s = mdi + pdi
                if not _is_zero(s):
                    dx = 100.0 * (abs(mdi - pdi) / s)
            if k < 2 * period - 1:
                if dx >= 0:
                    st[i, 6] += dx
                continue
            if k == 2 * period - 1:
                if dx >= 0:
                    st[i, 6] += dx
                st[i, 7] = st[i, 6] / p
            elif dx >= 0:
                st[i, 7] = (st[i, 7] * (p - 1) + dx) / p
            out[t, i, col] = st[i, 7]


@njit(cache=True, error_model="numpy")
def bollinger_step(
    c: FloatArray,
    valid: BoolArray,
    period: int,
    nbdev: float,
    cnt: IntArray,
    ring: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """%B of Bollinger bands (SMA +/- nbdev population std of the last ``period``
    closes): (close - lower) / (upper - lower); NaN when the band has zero width
    (``has_spread``: not just the rounding of a constant window's mean)."""
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            x = c[t, i]
            ring[i, k % period] = x
            if k < period - 1:
                continue
            s = 0.0
            for j in range(k - period + 1, k + 1):
                s += ring[i, j % period]
            mean = s / period
            ss = 0.0
            for j in range(k - period + 1, k + 1):
                d = ring[i, j % period] - mean
                ss += d * d
            sd = math.sqrt(ss / period)
            if has_spread(sd, mean):
                out[t, i, col] = (x - mean) / (2.0 * nbdev * sd) + 0.5


@njit(cache=True, error_model="numpy")
def obv_step(
    c: FloatArray,
    v: FloatArray,
    valid: BoolArray,
    window: int,
    cnt: IntArray,
    prev: FloatArray,
    ring: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """OBV flow: (OBV_k - OBV_{k-w}) / sum of the last w volumes, where OBV adds the
    volume on an up close and subtracts it on a down close. ``ring[i]`` holds the last w
    (signed volume, volume) pairs."""
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            x = c[t, i]
            if k == 0:
                prev[i] = x
                continue
            vol = v[t, i]
            sv = vol if x > prev[i] else (-vol if x < prev[i] else 0.0)
            prev[i] = x
            pos = (k - 1) % window
            ring[i, pos, 0] = sv
            ring[i, pos, 1] = vol
            if k < window:
                continue
            num = 0.0
            den = 0.0
            for j in range(k - window, k):
                num += ring[i, j % window, 0]
                den += ring[i, j % window, 1]
            if den > 0:
                out[t, i, col] = num / den
