"""Columnar bar arrays and the block format of the ``bar_blocks`` read cache.

A series is cut into fixed time blocks of ``BLOCK_BARS`` timeframe periods (1m bars: ~23
days). A cached block holds all bars of its time range as little-endian column arrays, so
a year of minute bars is read as ~17 blobs instead of ~98k rows. The cache is derived
data: bar writes delete the blocks they touch in the same transaction, and readers
rebuild missing blocks from ``bars`` and store them only if the series was not written
in the meantime (``bar_series.version``), see :mod:`alphapulse.store.bars_read`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from alphapulse.store.validate import FloatArray, IntArray, timeframe_ns

BLOCK_BARS: Final = 32_768
#: Block spans are capped (~36 years) so block keys stay far inside int64 for coarse bars.
MAX_SPAN_NS: Final = 2**60
FLAG_VWAP: Final = 1
FLAG_TRADES: Final = 2
PRICE_COLUMNS: Final = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class BarArrays:
    """Bars of one series in time order; ``vwap``/``trade_count`` use NaN for missing."""

    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    vwap: FloatArray
    trade_count: FloatArray

    def __len__(self) -> int:
        return len(self.ts)

    def columns(self) -> list[npt.NDArray[np.generic]]:
        """All eight arrays in storage order."""
        return [
            self.ts,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.vwap,
            self.trade_count,
        ]

    def take(self, start: int, stop: int) -> BarArrays:
        """Rows ``[start, stop)`` (views, no copy)."""
        return BarArrays(*(col[start:stop] for col in self.columns()))  # type: ignore[arg-type]

    def between(self, lo: int | None, hi: int | None) -> BarArrays:
        """Rows with ``lo <= ts < hi`` (``None``: unbounded)."""
        start = 0 if lo is None else int(np.searchsorted(self.ts, lo, "left"))
        stop = len(self) if hi is None else int(np.searchsorted(self.ts, hi, "left"))
        return self if (start, stop) == (0, len(self)) else self.take(start, stop)


def block_span(timeframe: str) -> int:
    """The time span of one cache block of ``timeframe`` in ns."""
    return min(timeframe_ns(timeframe) * BLOCK_BARS, MAX_SPAN_NS)


def block_starts(ts: IntArray, span: int) -> IntArray:
    """The start of the block holding each timestamp (floor division, negatives too)."""
    return np.floor_divide(ts, span) * span


def split(arrays: BarArrays, span: int) -> list[tuple[int, BarArrays]]:
    """``arrays`` cut at block boundaries as ``(block_start, bars)`` pairs."""
    if not len(arrays):
        return []
    starts = block_starts(arrays.ts, span)
    cuts = np.flatnonzero(np.diff(starts)) + 1
    edges = [0, *cuts.tolist(), len(arrays)]
    return [(int(starts[a]), arrays.take(a, b)) for a, b in itertools.pairwise(edges)]


def pack(arrays: BarArrays) -> tuple[int, int, bytes]:
    """``(n_rows, flags, payload)``: little-endian ts, OHLCV and, when present (flag
    bits), vwap and trade_count."""
    flags = (FLAG_VWAP if not np.isnan(arrays.vwap).all() else 0) | (
        FLAG_TRADES if not np.isnan(arrays.trade_count).all() else 0
    )
    parts = [arrays.ts.astype("<i8"), *(getattr(arrays, c).astype("<f8") for c in PRICE_COLUMNS)]
    if flags & FLAG_VWAP:
        parts.append(arrays.vwap.astype("<f8"))
    if flags & FLAG_TRADES:
        parts.append(arrays.trade_count.astype("<f8"))
    return len(arrays), flags, b"".join(p.tobytes() for p in parts)


def unpack(n_rows: int, flags: int, payload: bytes) -> BarArrays:
    """The inverse of :func:`pack`: read-only views into ``payload`` (no copy on
    little-endian machines)."""
    expected = 8 * n_rows * (6 + bool(flags & FLAG_VWAP) + bool(flags & FLAG_TRADES))
    if len(payload) != expected:
        raise ValueError(f"corrupt bar block: {len(payload)} bytes, expected {expected}")
    ts = np.frombuffer(payload, dtype="<i8", count=n_rows).astype(np.int64, copy=False)
    floats = np.frombuffer(payload, dtype="<f8", offset=8 * n_rows).astype(np.float64, copy=False)
    cols = floats.reshape(-1, n_rows) if n_rows else np.empty((len(floats), 0))
    nan = np.full(n_rows, np.nan)
    vwap = cols[5] if flags & FLAG_VWAP else nan
    trades = cols[5 + bool(flags & FLAG_VWAP)] if flags & FLAG_TRADES else nan
    return BarArrays(ts, cols[0], cols[1], cols[2], cols[3], cols[4], vwap, trades)
