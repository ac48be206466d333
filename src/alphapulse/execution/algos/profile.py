"""Causal minute-of-day volume profile for VWAP: the mean volume of each local minute
over the last ``k`` complete sessions. The session in progress is never in it."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numba
import numpy as np
import numpy.typing as npt

from alphapulse.execution.algos.schedules import vwap_curve

FloatArray = npt.NDArray[np.float64]
MINUTES = 1440
_MIN_NS = 60_000_000_000


class LocalMinute:
    """Local minute of the day; the UTC offset is looked up once per session."""

    def __init__(self, tz: str = "UTC") -> None:
        self._tz = ZoneInfo(tz)
        self._session: int | None = None
        self._offset = 0

    def __call__(self, ts_ns: int, session: int) -> int:
        if session != self._session:
            self._session = session
            when = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).astimezone(self._tz)
            off = when.utcoffset()
            self._offset = int(off.total_seconds() // 60) if off is not None else 0
        return int((ts_ns // _MIN_NS + self._offset) % MINUTES)


@numba.njit(cache=True)
def _add_column(cur: FloatArray, minute: int, volume: FloatArray) -> None:
    """``cur[:, minute] += np.nan_to_num(volume)`` without the temporaries."""
    big = np.finfo(np.float64).max
    for i in range(volume.shape[0]):
        v = volume[i]
        if v != v:
            v = 0.0
        elif v == np.inf:
            v = big
        elif v == -np.inf:
            v = -big
        cur[i, minute] += v


@numba.njit(cache=True)
def _block_sum(a: FloatArray, lo: int, n: int) -> float:
    """numpy's sum of a block of at most 128 (eight accumulators from 8 elements on)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        j = lo + i
        r0, r1, r2, r3 = r0 + a[j], r1 + a[j + 1], r2 + a[j + 2], r3 + a[j + 3]
        r4, r5, r6, r7 = r4 + a[j + 4], r5 + a[j + 5], r6 + a[j + 6], r7 + a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True)
def _pairwise_sum(a: FloatArray, lo: int, n: int) -> float:
    """``a[lo:lo + n].sum()`` as numpy adds it: blocks of up to 128 summed by
    ``_block_sum``, longer runs halved (at a multiple of 8) and the halves added, so
    the total is the same to the last bit. The halving is walked with explicit stacks
    (a recursive compiled function does not survive numba's cache)."""
    if n <= 128:
        return _block_sum(a, lo, n)
    todo_lo = np.empty(64, np.int64)  # nodes still to visit (a depth of 64 covers all n)
    todo_n = np.empty(64, np.int64)
    sums = np.empty(64)  # partial sums, combined as the recursion would
    pending = np.empty(64, np.int64)  # per partial: how many children it still awaits
    todo_lo[0], todo_n[0] = lo, n
    top, depth, res = 1, 0, 0.0
    while top:
        top -= 1
        start, size = todo_lo[top], todo_n[top]
        if size > 128:
            half = size // 2
            half -= half % 8
            todo_lo[top], todo_n[top] = start + half, size - half  # right, visited second
            todo_lo[top + 1], todo_n[top + 1] = start, half  # left, visited first
            top += 2
            pending[depth] = 2
            sums[depth] = 0.0
            depth += 1
            continue
        res = _block_sum(a, start, size)
        while depth:  # hand the value up: the first child starts a sum, the second ends it
            depth -= 1
            if pending[depth] == 2:
                sums[depth], pending[depth] = res, 1
                depth += 1
                break
            res = sums[depth] + res
        else:
            return res
    return res


@numba.njit(cache=True)
def _curve_into(
    total_volume: FloatArray, sid: int, k: int, start: int, n: int, out: FloatArray
) -> float:
    """The cumulative share of the mean volume of minutes ``start .. start + n - 1``
    (mean over ``k`` sessions of ``total_volume[sid]``) into ``out[0..n]``, the values
    of ``schedules.vwap_curve`` to the last bit; returns the total (``out`` holds the
    curve only when it is finite and > 0)."""
    for i in range(n):
        v = total_volume[sid, (start + i) % MINUTES]
        out[1 + i] = v / k if k else v
    total = _pairwise_sum(out, 1, n)
    if not (math.isfinite(total) and total > 0):
        return total
    out[0] = 0.0
    for i in range(2, n + 1):
        out[i] += out[i - 1]
    for i in range(1, n + 1):
        out[i] /= total
    return total


class VolumeProfile:
    def __init__(self, n_symbols: int, sessions: int) -> None:
        self._ring = np.zeros((sessions, n_symbols, MINUTES))
        self._sum = np.zeros((n_symbols, MINUTES))
        self._cur = np.zeros((n_symbols, MINUTES))
        self._filled = 0
        self._slot = 0
        self._session: int | None = None

    def observe(self, session: int, minute: int, volume: FloatArray) -> None:
        """Add a bar's volumes at a local minute; a new session first closes the last."""
        if session != self._session:
            if self._session is not None:
                self._push()
            self._session = session
        _add_column(self._cur, minute, volume)

    def row(self, sid: int) -> FloatArray:
        """Mean volume per minute of the complete sessions seen (zeros before any)."""
        n = min(self._filled, len(self._ring))
        return self._sum[sid] / n if n else self._sum[sid]

    def curve(
        self, sid: int, start_minute: int, n_minutes: int, out: FloatArray | None = None
    ) -> FloatArray | None:
        """``schedules.vwap_curve(self.row(sid), start_minute, n_minutes)``, reading only
        the horizon's minutes (the same values: the profile holds no NaN), written into
        ``out`` (``n_minutes + 1`` long) when given."""
        n = max(int(n_minutes), 1)
        k = min(self._filled, len(self._ring))
        if out is None:
            out = np.empty(n + 1)
        total = _curve_into(self._sum, sid, k, start_minute, n, out)
        if not math.isfinite(total):  # an infinite volume: the reference's NaN/inf rules
            return vwap_curve(self.row(sid), start_minute, n_minutes)
        return out if total > 0 else None

    @property
    def sessions(self) -> int:
        return min(self._filled, len(self._ring))

    def _push(self) -> None:
        slot = self._slot
        self._sum -= self._ring[slot]
        self._ring[slot] = self._cur
        self._sum += self._cur
        self._cur.fill(0.0)
        self._slot = (slot + 1) % len(self._ring)
        self._filled += 1
