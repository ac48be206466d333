"""Drawdowns of an equity curve: depth and peak-to-recovery spans."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_NS_PER_DAY = 86_400 * 1_000_000_000


def drawdown(equity: FloatArray) -> FloatArray:
    """``equity / running peak - 1`` per bar (0 at a peak, negative below it), at most
    the whole peak: -1.0 at or below zero equity (ruin; the loss beyond the capital shows
    in the total return and final equity, not as a drawdown of -900%).

    The running peak starts at the first value, which is the starting capital, so a loss
    on the first bar is a drawdown from it. Bars whose running peak is not positive get 0.
    """
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd: FloatArray = np.where(peak > 0, equity / peak - 1.0, 0.0)
    return np.clip(dd, -1.0, 0.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def drawdown_spans(equity: FloatArray, ts_ns: IntArray) -> tuple[IntArray, FloatArray]:
    """Length of every drawdown, in bars and in days, from its peak to its recovery.

    A drawdown is a run of bars strictly below the running peak. It is measured from the
    last bar at the peak to the first bar back at (or above) the peak, or to the last bar
    when it never recovers. ``ts_ns`` are the bar times in nanoseconds.
    """
    peak = np.maximum.accumulate(equity)
    under = np.concatenate(([False], equity < peak, [False])).astype(np.int8)
    edges = np.diff(under)
    first = np.flatnonzero(edges == 1)  # first bar under water; the peak is the bar before
    stop = np.minimum(np.flatnonzero(edges == -1), len(equity) - 1)
    start = first - 1
    bars = (stop - start).astype(np.int64)
    days = ((ts_ns[stop] - ts_ns[start]) / _NS_PER_DAY).astype(np.float64)
    return bars, days
