"""The provider interface and the normalised bar frame every provider returns.

A normalised frame has a tz-aware UTC ``DatetimeIndex`` named ``timestamp`` (bar start,
nanosecond unit), strictly increasing (:func:`normalize_bars` says how out-of-order and
repeated rows are handled), and float64 columns ``open, high, low, close, volume``
followed by any extras the provider gives (``vwap``, ``dividend``, ``split``).
Rows cover the half-open range ``[start, end)``. Daily bars are stamped at their session
date, 00:00 UTC, like imported daily data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from alphapulse.core.errors import ConfigError, DataError

Timeframe = Literal["1m", "5m", "15m", "1h", "1d"]
TIMEFRAMES: Final[tuple[Timeframe, ...]] = ("1m", "5m", "15m", "1h", "1d")
OHLCV: Final[tuple[str, ...]] = ("open", "high", "low", "close", "volume")
#: Optional columns, in output order, that a provider may add after OHLCV.
EXTRA_COLUMNS: Final[tuple[str, ...]] = ("vwap", "dividend", "split")
INDEX_NAME: Final = "timestamp"


@runtime_checkable
class HistoricalProvider(Protocol):
    """A source of historical OHLCV bars."""

    def fetch_bars(
        self, symbol: str, start: datetime, end: datetime, timeframe: str
    ) -> pd.DataFrame:
        """Bars of ``symbol`` starting in ``[start, end)`` as a normalised frame.

        Naive datetimes are taken as UTC. ``timeframe`` is one of ``TIMEFRAMES``.
        """
        ...


def check_timeframe(timeframe: str, provider: str) -> Timeframe:
    """``timeframe`` as a :data:`Timeframe`, or a ``ConfigError`` naming the valid ones."""
    for known in TIMEFRAMES:
        if timeframe == known:
            return known
    raise ConfigError(
        f"{provider}: unsupported timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}"
    )


def to_utc(value: datetime) -> pd.Timestamp:
    """``value`` as a UTC timestamp; naive datetimes are taken as UTC."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def check_range(start: datetime, end: datetime, provider: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` in UTC, or a ``ConfigError`` when the range is empty."""
    lo, hi = to_utc(start), to_utc(end)
    if lo >= hi:
        raise ConfigError(f"{provider}: start {lo.isoformat()} must be before end {hi.isoformat()}")
    return lo, hi


def empty_bars(extra: Sequence[str] = ()) -> pd.DataFrame:
    """A normalised frame with no rows."""
    index = pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME).as_unit("ns")
    columns = [*OHLCV, *(c for c in EXTRA_COLUMNS if c in extra)]
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}, index=index)


def normalize_bars(
    frame: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    timeframe: Timeframe,
    *,
    source: str,
) -> pd.DataFrame:
    """Normalise ``frame`` (DatetimeIndex, lower-case column names) to the platform shape.

    Converts the index to UTC (naive is taken as UTC; see :func:`utc_index`), keeps
    ``[start, end)``, drops rows without any price, sorts (APIs may answer pages or rows
    out of order) and casts every column to float64. Columns other than OHLCV and
    ``EXTRA_COLUMNS`` are dropped. A timestamp given twice with the same values is kept
    once (overlapping pages); with different values it is a ``DataError`` naming
    ``source`` (provider and symbol), the time and a differing field: nothing picks one.
    """
    missing = [c for c in OHLCV if c not in frame.columns]
    if missing:
        raise ValueError(f"bar frame is missing columns {missing}")
    extra = [c for c in EXTRA_COLUMNS if c in frame.columns]
    if frame.empty:
        return empty_bars(extra)
    out = frame.loc[:, [*OHLCV, *extra]].astype("float64")
    out.index = utc_index(pd.DatetimeIndex(frame.index), timeframe)
    out = out[(out.index >= start) & (out.index < end)]
    out = out.dropna(how="all", subset=["open", "high", "low", "close"])
    out = out.sort_index(kind="stable")
    return drop_repeated_bars(out, source)


def drop_repeated_bars(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """``frame`` (sorted) with each timestamp once; a ``DataError`` naming ``source``, the
    first timestamp given with different values and a field that differs."""
    repeated = frame.index.duplicated(keep="first")
    if not repeated.any():
        return frame
    rows = frame.reset_index()
    distinct = rows[~rows.duplicated()]  # NaN equals NaN here
    clash = distinct[INDEX_NAME].duplicated(keep=False)
    if clash.any():
        first = distinct[clash].iloc[:2]
        field = next(c for c in frame.columns if not _same(first[c].iloc[0], first[c].iloc[1]))
        n = distinct.loc[clash, INDEX_NAME].nunique()
        raise DataError(
            f"{source}: {first[INDEX_NAME].iloc[0].isoformat()} is given twice with different "
            f"values ({first[field].iloc[0]:g} and {first[field].iloc[1]:g}); "
            f"{n} such timestamp(s)",
            field=field,
            rule="duplicate_timestamp",
        )
    return frame[~repeated]


def _same(a: float, b: float) -> bool:
    return bool(a == b or (np.isnan(a) and np.isnan(b)))


def utc_index(index: pd.DatetimeIndex, timeframe: Timeframe) -> pd.DatetimeIndex:
    """``index`` in UTC; naive stamps are taken as UTC.

    Daily (``1d``) stamps become their session date at 00:00 UTC: the date of each stamp
    in its own time zone (a New York midnight, 04:00 or 05:00 UTC, keeps its date).
    """
    if timeframe == "1d":
        wall = index if index.tz is None else index.tz_localize(None)
        index = wall.normalize().tz_localize("UTC")
    elif index.tz is None:
        index = index.tz_localize("UTC")
    return index.tz_convert("UTC").as_unit("ns").rename(INDEX_NAME)
