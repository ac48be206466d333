"""Trading-calendar helpers on top of exchange_calendars ('24/7' for always-open markets)."""

from __future__ import annotations

import exchange_calendars as xcals
import numpy as np
import numpy.typing as npt
import pandas as pd

ALWAYS_OPEN = "24/7"


def calendar_for(name: str, first: pd.Timestamp, last: pd.Timestamp) -> xcals.ExchangeCalendar:
    """Calendar ``name`` covering the naive dates [first, last] (built wider when needed)."""
    cal = xcals.get_calendar(name)
    if first < cal.first_session or last > cal.last_session:
        # round the bounds out (decade start, year end) so exchange_calendars' cache is reused
        lo = min(pd.Timestamp(first.year // 10 * 10, 1, 1), cal.first_session)
        hi = max(pd.Timestamp(last.year, 12, 31), cal.last_session)
        cal = xcals.get_calendar(name, start=lo, end=hi)
    return cal


def session_dates(
    cal: xcals.ExchangeCalendar, first: pd.Timestamp, last: pd.Timestamp
) -> pd.DatetimeIndex:
    """Naive session dates of ``cal`` between two naive dates, inclusive."""
    lo, hi = max(first, cal.first_session), min(last, cal.last_session)
    if lo > hi:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(cal.sessions_in_range(lo, hi))


def trading_dates(index: pd.DatetimeIndex, tz: str, daily: bool) -> pd.DatetimeIndex:
    """Naive trading date of each UTC bar: its UTC date if daily, else its date in ``tz``."""
    local = index if daily else index.tz_convert(tz)
    return local.tz_localize(None).normalize()


def schedule(name: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Regular-session ``open``/``close`` (UTC) per session date between two naive dates."""
    cal = calendar_for(name, first, last)
    sessions = cal.sessions_in_range(first, last)
    return cal.schedule.loc[sessions, ["open", "close"]]


def missing_runs(
    expected: npt.NDArray[np.int64], actual: npt.NDArray[np.int64]
) -> list[tuple[int, int]]:
    """Contiguous runs of ``expected`` values absent from ``actual``: (first position, length)."""
    absent = ~np.isin(expected, actual)
    if not absent.any():
        return []
    edges = np.diff(np.concatenate([[0], absent.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]
