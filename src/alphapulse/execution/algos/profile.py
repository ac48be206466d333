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

    def curve(self, sid: int, start_minute: int, n_minutes: int) -> FloatArray | None:
        """``schedules.vwap_curve(self.row(sid), start_minute, n_minutes)``, reading only
        the horizon's minutes (the same values: the profile holds no NaN)."""
        n = max(int(n_minutes), 1)
        k = min(self._filled, len(self._ring))
        w = self._sum[sid, (start_minute + np.arange(n)) % MINUTES]
        if k:
            w /= k
        total = float(w.sum())
        if not math.isfinite(total):  # an infinite volume: the reference's NaN/inf rules
            return vwap_curve(self.row(sid), start_minute, n_minutes)
        if total <= 0:
            return None
        out = np.empty(n + 1)
        out[0] = 0.0
        np.cumsum(w, out=out[1:])
        out[1:] /= total
        return out

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
