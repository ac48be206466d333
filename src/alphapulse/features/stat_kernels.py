"""Numba step kernels of the return, volatility, volume, microstructure and cross-asset
features. Same conventions as ``ta_kernels``: state per symbol, advanced on the
symbol's valid bars only, values written into ``out[t, i, col + q]``; windows are rings
of the last w per-bar quantities and every value is recomputed from its ring in O(w)
(two-pass means and moments), so batch and incremental runs give identical numbers."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_CS_DEN = 3.0 - 2.0 * math.sqrt(2.0)
# a std below this share of |mean| is the rounding of a constant window: two-pass sums
# over up to MAX_WINDOW_BARS (1e6) values err by at most about n x 2.2e-16 of |mean|
REL_SD_FLOOR = 1e-9


@njit(cache=True, error_model="numpy")
def has_spread(sd: float, mean: float) -> bool:
    """True when ``sd`` is a real spread, not the rounding noise of a constant window."""
    return sd > REL_SD_FLOOR * abs(mean)


@njit(cache=True, error_model="numpy")
def returns_step(
    c: FloatArray,
    valid: BoolArray,
    horizons: IntArray,
    cnt: IntArray,
    ring: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """ln(close_k / close_{k-h}) for each horizon h; ``ring`` holds max(h) + 1 log closes."""
    size = ring.shape[1]
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            x = math.log(c[t, i])
            ring[i, k % size] = x
            for q in range(horizons.shape[0]):
                hz = horizons[q]
                if k >= hz:
                    out[t, i, col + q] = x - ring[i, (k - hz) % size]


@njit(cache=True, error_model="numpy")
def _mean_std(ring: FloatArray, i: int, start: int, stop: int) -> tuple[float, float]:
    """Mean and sample std (ddof=1) of ring[i, j % size] for j in [start, stop)."""
    size = ring.shape[1]
    n = stop - start
    s = 0.0
    for j in range(start, stop):
        s += ring[i, j % size]
    mean = s / n
    ss = 0.0
    for j in range(start, stop):
        d = ring[i, j % size] - mean
        ss += d * d
    return mean, math.sqrt(ss / (n - 1))


@njit(cache=True, error_model="numpy")
def realized_vol_step(
    c: FloatArray,
    valid: BoolArray,
    window: int,
    cnt: IntArray,
    prev: FloatArray,
    ring: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """Sample std of the last ``window`` log returns."""
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            x = math.log(c[t, i])
            if k > 0:
                ring[i, (k - 1) % window] = x - prev[i]
            prev[i] = x
            if k >= window:
                out[t, i, col] = _mean_std(ring, i, k - window, k)[1]


@njit(cache=True, error_model="numpy")
def volume_z_step(
    v: FloatArray,
    valid: BoolArray,
    window: int,
    cnt: IntArray,
    ring: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """(ln(1 + v_k) - mean) / std over the last ``window`` bars (current included);
    NaN for a window without spread (``has_spread``)."""
    for t in range(v.shape[0]):
        for i in range(v.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            x = math.log1p(v[t, i])
            ring[i, k % window] = x
            if k >= window - 1:
                mean, sd = _mean_std(ring, i, k - window + 1, k + 1)
                if has_spread(sd, mean):
                    out[t, i, col] = (x - mean) / sd


@njit(cache=True, error_model="numpy")
def amihud_step(
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
    """ln(mean |r_k| / (close_k * volume_k)) over the last ``window`` bars; bars without
    volume are skipped, at least half the window must have some."""
    need = max(1, window // 2)
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            x = c[t, i]
            if k > 0:
                dv = x * v[t, i]
                ring[i, (k - 1) % window] = abs(math.log(x / prev[i])) / dv if dv > 0 else np.nan
            prev[i] = x
            if k < window:
                continue
            s = 0.0
            n = 0
            for j in range(k - window, k):
                y = ring[i, j % window]
                if not math.isnan(y):
                    s += y
                    n += 1
            if n >= need and s > 0:
                out[t, i, col] = math.log(s / n)


@njit(cache=True, error_model="numpy")
def roll_step(
    c: FloatArray,
    valid: BoolArray,
    window: int,
    cnt: IntArray,
    prev: FloatArray,
    ring: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """Roll's spread from the sample autocovariance of consecutive log returns over the
    last ``window`` pairs: 2 sqrt(-cov) when cov < 0, else 0. ``ring`` holds w+1 returns."""
    size = window + 1
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            x = math.log(c[t, i])
            if k > 0:
                ring[i, (k - 1) % size] = x - prev[i]
            prev[i] = x
            if k < size:
                continue
            sa = 0.0
            sb = 0.0
            for j in range(k - window, k):
                sa += ring[i, j % size]
                sb += ring[i, (j - 1) % size]
            ma = sa / window
            mb = sb / window
            cov = 0.0
            for j in range(k - window, k):
                cov += (ring[i, j % size] - ma) * (ring[i, (j - 1) % size] - mb)
            cov /= window - 1
            out[t, i, col] = 2.0 * math.sqrt(-cov) if cov < 0 else 0.0


@njit(cache=True, error_model="numpy")
def _cs_pair(h0: float, l0: float, h1: float, l1: float, c0: float) -> float:
    """Corwin-Schultz spread of a pair of bars (day 1 adjusted for the overnight move
    from close c0), floored at 0."""
    if l1 > c0:
        h1 -= l1 - c0
        l1 = c0
    elif h1 < c0:
        l1 += c0 - h1
        h1 = c0
    a = math.log(h0 / l0)
    b = math.log(h1 / l1)
    beta = a * a + b * b
    g = math.log(max(h0, h1) / min(l0, l1))
    gamma = g * g
    alpha = (math.sqrt(2.0 * beta) - math.sqrt(beta)) / _CS_DEN - math.sqrt(gamma / _CS_DEN)
    e = math.exp(alpha)
    s = 2.0 * (e - 1.0) / (1.0 + e)
    return s if s > 0 else 0.0


@njit(cache=True, error_model="numpy")
def cs_step(
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    valid: BoolArray,
    window: int,
    cnt: IntArray,
    prev: FloatArray,
    ring: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """Mean Corwin-Schultz spread over the last ``window`` pairs of consecutive bars.
    ``prev[i]`` = (high, low, close) of the previous bar."""
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            hi = h[t, i]
            lw = lo[t, i]
            if k > 0:
                ring[i, (k - 1) % window] = _cs_pair(prev[i, 0], prev[i, 1], hi, lw, prev[i, 2])
            prev[i, 0] = hi
            prev[i, 1] = lw
            prev[i, 2] = c[t, i]
            if k < window:
                continue
            s = 0.0
            for j in range(k - window, k):
                s += ring[i, j % window]
            out[t, i, col] = s / window


@njit(cache=True, error_model="numpy")
def index_returns_step(c: FloatArray, bench: int, last: FloatArray, out: FloatArray) -> None:
    """Index log return of each row: the benchmark column's (its close carried over rows
    without a bar, NaN before its first) when ``bench >= 0``, else the mean over the
    symbols with a bar in this row of their log return since their own previous bar
    (sparse data: a symbol that skipped rows still counts, its move is booked when it is
    seen). A row that moves nothing is 0.0; NaN only before any symbol has a close.
    ``last`` holds each symbol's last close (NaN before its first)."""
    n = c.shape[1]
    for t in range(c.shape[0]):
        if bench >= 0:
            x = c[t, bench]
            if x > 0:
                out[t] = math.log(x / last[bench]) if last[bench] > 0 else np.nan
                last[bench] = x
            else:
                out[t] = 0.0 if last[bench] > 0 else np.nan
            continue
        s = 0.0
        m = 0
        seen = False
        for i in range(n):
            x = c[t, i]
            if last[i] > 0:
                seen = True
                if x > 0:
                    s += math.log(x / last[i])
                    m += 1
            if x > 0:
                last[i] = x
        out[t] = s / m if m > 0 else (0.0 if seen else np.nan)


@njit(cache=True, error_model="numpy")
def market_step(
    c: FloatArray,
    valid: BoolArray,
    m: FloatArray,
    window: int,
    cnt: IntArray,
    acc: FloatArray,
    prev: FloatArray,
    ring: FloatArray,
    out: FloatArray,
    col: int,
) -> None:
    """Rolling beta and correlation of the symbol's log returns to the index over the
    last ``window`` bar-to-bar spans. ``acc[i]`` sums the index returns of the rows since
    the symbol's previous bar; ``ring[i, j]`` = (own return, index return)."""
    for t in range(c.shape[0]):
        for i in range(c.shape[1]):
            acc[i] += m[t]
            if not valid[t, i]:
                continue
            k = cnt[i]
            cnt[i] = k + 1
            x = math.log(c[t, i])
            if k > 0:
                pos = (k - 1) % window
                ring[i, pos, 0] = x - prev[i]
                ring[i, pos, 1] = acc[i]
            prev[i] = x
            acc[i] = 0.0
            if k < window:
                continue
            sa = 0.0
            sb = 0.0
            for j in range(window):
                sa += ring[i, j, 0]
                sb += ring[i, j, 1]
            ma = sa / window
            mb = sb / window
            cab = 0.0
            caa = 0.0
            cbb = 0.0
            for j in range(window):
                da = ring[i, j, 0] - ma
                db = ring[i, j, 1] - mb
                cab += da * db
                caa += da * da
                cbb += db * db
            if cbb > 0:
                out[t, i, col] = cab / cbb
                if caa > 0:
                    out[t, i, col + 1] = cab / math.sqrt(caa * cbb)
