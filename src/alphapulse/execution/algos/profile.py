"""Causal minute-of-day volume profile for VWAP: the mean volume of each local minute
over the last ``k`` complete sessions. The session in progress is never in it."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.bounds import check_buffer
from alphapulse.execution.algos.schedules import vwap_curve
from alphapulse.sweep.kernels import pairwise_sum

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MINUTES = 1440
_MIN_NS = 60_000_000_000
_QUARTER_NS = 15 * _MIN_NS


class LocalMinute:
    """Local minute of the day. UTC offsets change only on quarter-hour boundaries (a DST
    switch at 02:00 local), so the offset is looked up once per UTC quarter hour."""

    def __init__(self, tz: str = "UTC") -> None:
        self._tz = tz
        self._zone = ZoneInfo(tz)
        self._block: int | None = None
        self._offset = 0

    def __call__(self, ts_ns: int) -> int:
        block = ts_ns // _QUARTER_NS
        if block != self._block:
            self._block, self._offset = block, self._utc_offset(ts_ns)
        return int((ts_ns // _MIN_NS + self._offset) % MINUTES)

    def _utc_offset(self, ts_ns: int) -> int:
        """The UTC offset in minutes at ``ts_ns``."""
        when = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).astimezone(self._zone)
        off = when.utcoffset()
        return int(off.total_seconds() // 60) if off is not None else 0

    def minutes(self, ts_ns: IntArray) -> IntArray:
        """``self(ts)`` of each timestamp."""
        local = pd.DatetimeIndex(pd.to_datetime(ts_ns, unit="ns", utc=True)).tz_convert(self._tz)
        return np.asarray(local.hour * 60 + local.minute, dtype=np.int64)


def session_blocks(sessions: IntArray) -> list[tuple[int, int]]:
    """[start, end) of each run of equal session ids."""
    n = len(sessions)
    starts = [0, *(np.flatnonzero(sessions[1:] != sessions[:-1]) + 1).tolist()] if n else []
    return list(zip(starts, [*starts[1:], n], strict=True))


@numba.njit(cache=True)
def add_column(cur: FloatArray, minute: int, volume: FloatArray) -> None:
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
def _add_rows(cur: FloatArray, minutes: IntArray, volume: FloatArray) -> None:
    """``add_column`` for each row of ``volume`` [bars, symbols] at its minute."""
    for t in range(volume.shape[0]):
        add_column(cur, minutes[t], volume[t])


@numba.njit(cache=True)
def _curve_into(total_volume: FloatArray, sid: int, k: int, start: int, out: FloatArray) -> float:
    """The cumulative share of the mean volume (over ``k`` sessions) of minutes
    ``start ..`` of ``sid`` into ``out`` (``out[0]`` = 0), the same values as
    ``schedules.vwap_curve`` (the total in numpy's pairwise order); returns the total
    (``out`` holds the curve only when it is finite and > 0)."""
    n = out.shape[0] - 1
    for i in range(n):
        v = total_volume[sid, (start + i) % MINUTES]
        out[1 + i] = v / k if k else v
    total = pairwise_sum(out, 1, n)
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
        nbytes = 8 * sessions * n_symbols * MINUTES
        check_buffer("execution.profile_sessions", sessions, n_symbols, nbytes)
        self._ring = np.zeros((sessions, n_symbols, MINUTES))
        self._sum = np.zeros((n_symbols, MINUTES))
        self._cur = np.zeros((n_symbols, MINUTES))
        self._filled = 0
        self._slot = 0
        self._session: int | None = None

    def observe(self, session: int, minute: int, volume: FloatArray) -> None:
        """Add a bar's volumes at a local minute; a new session first closes the last."""
        add_column(self.column(session), minute, volume)

    def column(self, session: int) -> FloatArray:
        """The volumes of ``session`` so far [symbols, minutes] (a bar of a new session
        first closes the last one), for a caller that adds the bar with ``add_column``."""
        if session != self._session:
            if self._session is not None:
                self._push()
            self._session = session
        return self._cur

    def backfill(self, sessions: IntArray, minutes: IntArray, volume: FloatArray) -> None:
        """``observe`` each bar (``volume`` [bars, symbols]) in order, a session at a time."""
        for a, b in session_blocks(sessions):
            _add_rows(self.column(int(sessions[a])), minutes[a:b], volume[a:b])

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
        total = _curve_into(self._sum, sid, k, start_minute, out[: n + 1])
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
