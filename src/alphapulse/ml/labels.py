"""Honest labels on a Panel: forward returns, up/down/flat classes and triple-barrier
labels, each with ``label_end`` (row index of the bar that closes the label, -1 where
there is no label) for purging, plus average-uniqueness sample weights.

Horizons count the symbol's own bars (rows where it has a price), so a label never
spans a missing bar silently. A label exists only when its whole horizon is in the data.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.data.panel import Panel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def forward_returns(
    panel: Panel, horizon: int, entry: Literal["close", "next_open"] = "close"
) -> tuple[FloatArray, IntArray]:
    """Simple return over the next ``horizon`` bars and the row that closes it.

    ``entry="close"``: from the close at t to the close ``horizon`` bars later.
    ``entry="next_open"`` (what an order decided at t's close can get): from the open of
    the next bar to the open ``horizon`` bars after that; ``label_end`` is the exit bar.
    Returns ``y`` [T, N] (NaN where undefined) and ``label_end`` [T, N] (-1 there).
    """
    if horizon < 1:
        raise ValueError("horizon must be >= 1")
    close = panel.fields["close"]
    px = close if entry == "close" else panel.fields["open"]
    t_n, n = close.shape
    y = np.full((t_n, n), np.nan)
    end = np.full((t_n, n), -1, dtype=np.int64)
    for i in range(n):  # per symbol (vectorised over time)
        rows = np.flatnonzero(close[:, i] > 0)
        bars = np.flatnonzero(px[:, i] > 0)
        if entry == "close":
            first = np.searchsorted(bars, rows, side="left")  # the bar at t itself
        else:
            first = np.searchsorted(bars, rows, side="right")  # the next bar
        last = first + horizon
        ok = last < len(bars)
        r, b0, b1 = rows[ok], bars[first[ok]], bars[last[ok]]
        y[r, i] = px[b1, i] / px[b0, i] - 1.0
        end[r, i] = b1
    return y, end


def classify(y: FloatArray, threshold: float) -> FloatArray:
    """+1 where y > threshold, -1 where y < -threshold, 0 otherwise; NaN stays NaN."""
    out = np.where(y > threshold, 1.0, np.where(y < -threshold, -1.0, 0.0))
    return np.where(np.isnan(y), np.nan, out)


@njit(cache=True, error_model="numpy")
def _barriers(
    close: FloatArray,
    horizon: int,
    up_mult: float,
    down_mult: float,
    vol_window: int,
    label: FloatArray,
    ret: FloatArray,
    end: IntArray,
) -> None:
    t_n, n = close.shape
    for i in range(n):
        rows = np.empty(t_n, dtype=np.int64)
        m = 0
        for t in range(t_n):
            if close[t, i] > 0:
                rows[m] = t
                m += 1
        lr = np.empty(m)
        for k in range(1, m):
            lr[k] = math.log(close[rows[k], i] / close[rows[k - 1], i])
        for k in range(vol_window, m - horizon):
            s = 0.0
            for j in range(k - vol_window + 1, k + 1):
                s += lr[j]
            mean = s / vol_window
            ss = 0.0
            for j in range(k - vol_window + 1, k + 1):
                ss += (lr[j] - mean) ** 2
            sd = math.sqrt(ss / (vol_window - 1))
            p0 = close[rows[k], i]
            lab = 0.0
            stop = k + horizon
            for j in range(k + 1, k + horizon + 1):
                move = math.log(close[rows[j], i] / p0)
                if move > up_mult * sd:
                    lab = 1.0
                    stop = j
                    break
                if move < -down_mult * sd:
                    lab = -1.0
                    stop = j
                    break
            t0 = rows[k]
            label[t0, i] = lab
            ret[t0, i] = close[rows[stop], i] / p0 - 1.0
            end[t0, i] = rows[stop]


def triple_barrier(
    panel: Panel, horizon: int, up_mult: float, down_mult: float, vol_window: int = 20
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Triple-barrier labels on closes (López de Prado).

    At bar t, sigma = sample std of the last ``vol_window`` log returns (up to t); the
    upper barrier is crossed when ln(p/p_t) > up_mult * sigma (label +1), the lower one
    when ln(p/p_t) < -down_mult * sigma (label -1), the time barrier ``horizon`` bars
    later (label 0; so after a flat window, sigma = 0, an unchanged price is 0, not +1).
    The first barrier crossed sets the label, its return and ``label_end`` (use
    ``math.inf`` to disable a price barrier). Returns (label, ret, label_end) [T, N].
    """
    if horizon < 1 or vol_window < 2:
        raise ValueError("horizon must be >= 1 and vol_window >= 2")
    close = np.ascontiguousarray(panel.fields["close"], dtype=np.float64)
    label = np.full(close.shape, np.nan)
    ret = np.full(close.shape, np.nan)
    end = np.full(close.shape, -1, dtype=np.int64)
    _barriers(close, horizon, float(up_mult), float(down_mult), vol_window, label, ret, end)
    return label, ret, end


def sample_weights(label_end: IntArray) -> FloatArray:
    """Average uniqueness of each label (López de Prado): a label started at t spans the
    rows (t, label_end]; at each row the concurrency c is the number of the same
    symbol's labels spanning it, and the weight is the mean of 1/c over the span.
    ``label_end`` [T, N] (-1 = no label) -> weights [T, N] in (0, 1], NaN where no label."""
    end = np.asarray(label_end, dtype=np.int64)
    t_n, n = end.shape
    has = end > np.arange(t_n)[:, None]
    cols = np.broadcast_to(np.arange(n), (t_n, n))
    starts = np.broadcast_to(np.arange(t_n)[:, None], (t_n, n))
    diff = np.zeros((t_n + 1, n))
    np.add.at(diff, (starts[has] + 1, cols[has]), 1.0)
    np.add.at(diff, (end[has] + 1, cols[has]), -1.0)
    conc = np.cumsum(diff[:t_n], axis=0)
    inv = np.where(conc > 0, 1.0 / np.maximum(conc, 1.0), 0.0)
    cum = np.vstack([np.zeros((1, n)), np.cumsum(inv, axis=0)])  # cum[r] = sum inv[:r]
    out = np.full((t_n, n), np.nan)
    s, c = starts[has], cols[has]
    e = end[has]
    out[has] = (cum[e + 1, c] - cum[s + 1, c]) / (e - s)
    return out
