"""Inference of the bar frequency (bars per year) from bar timestamps.

Rule used by :func:`periods_per_year`, on the sorted, de-duplicated timestamps:

1. ``spacing`` (the bar size) is the most frequent gap between consecutive bars when it
   accounts for at least 10% of the gaps and is below the median gap, else the median gap.
   Sparse data (no bar for a minute without trades) has a median gap of several bars, but
   its most frequent gap is still one bar.
2. ``trading days`` per year is 365 when at least 20% of the bars fall on a Saturday or
   Sunday (a market that trades every day, e.g. crypto), otherwise 252. Days are those of
   the index's own wall clock (UTC when naive).
3. Weekly or coarser bars (``spacing`` >= 4 days): 365.25 days / ``spacing``, snapped to
   52, 26, 12, 4, 2 or 1 when within 15% of one of them.
4. Daily bars (20 hours <= ``spacing`` < 4 days): ``trading days``.
5. Intraday bars (``spacing`` < 20 hours): ``bars per day`` x ``trading days``. A trading
   day starts in the middle of the longest stretch of the clock that has no bar on any
   day, the one across midnight among equally long ones (24/7 markets: calendar days),
   and carries the date of the calendar day that holds most of it, so a session that
   crosses midnight (US extended hours in UTC) stays one day.
   ``bars per day`` is the median over days of ``span / spacing + 1``, rounded and capped
   at ``1 day / spacing``, where ``span`` is the time between the 5% and 95% quantiles of
   the day's bar times divided by 0.9: exact for a complete grid, about right for a
   sparse one, and little moved by a few stray pre- or after-market bars.

Counting bars per calendar year directly is avoided on purpose: gaps, sparse bars and
partial years in the data would all bias it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_NS_PER_HOUR = 3_600 * 1_000_000_000
_NS_PER_DAY = 24 * _NS_PER_HOUR
_DAYS_PER_YEAR = 365.25
_MODE_SHARE = 0.1
_WEEKEND_SHARE = 0.2
_INTRADAY_BELOW_NS = 20 * _NS_PER_HOUR
_DAILY_BELOW_NS = 4 * _NS_PER_DAY
_COARSE_PERIODS = (52.0, 26.0, 12.0, 4.0, 2.0, 1.0)
_SNAP_TOLERANCE = 0.15
_TRIM = 0.05
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year implied by ``index`` (see the module docstring for the rule).

    Daily equities give 252, hourly bars of a 24/7 market 24 x 365 and 1-minute bars of
    the US regular session 390 x 252. Raises ``ValueError`` with fewer than two distinct
    timestamps.
    """
    ts = pd.DatetimeIndex(index).dropna().unique().sort_values()
    if len(ts) < 2:
        raise ValueError("need at least two distinct timestamps to infer a bar frequency")
    utc = ts.as_unit("ns").asi8
    wall = ts.tz_localize(None).as_unit("ns").asi8 if ts.tz is not None else utc
    spacing = _bar_spacing(np.diff(utc))

    if spacing >= _DAILY_BELOW_NS:
        return _snap_coarse(_DAYS_PER_YEAR * _NS_PER_DAY / spacing)
    if spacing >= _INTRADAY_BELOW_NS:
        return _trading_days(wall // _NS_PER_DAY)
    day = (wall - _day_start(wall)) // _NS_PER_DAY
    return float(_bars_per_day(utc, day, spacing)) * _trading_days(day)


def observed_periods_per_year(index: pd.DatetimeIndex, *, whole_days: bool = False) -> float:
    """Bars per year actually present, for annualising returns: intraday bars give the
    mean number of bars on the trading days present x trading days (sparse 1-minute US
    equities: about 65,000, not the nominal 100,548 of ``periods_per_year``); daily and
    coarser bars give ``periods_per_year`` unchanged. ``whole_days``: the mean leaves out
    the first and the last trading day when others remain (a history that may start or
    stop mid-session, e.g. a running backtest's so far)."""
    ts = pd.DatetimeIndex(index).dropna().unique().sort_values()
    if len(ts) < 2:
        raise ValueError("need at least two distinct timestamps to infer a bar frequency")
    utc = ts.as_unit("ns").asi8
    wall = ts.tz_localize(None).as_unit("ns").asi8 if ts.tz is not None else utc
    if _bar_spacing(np.diff(utc)) >= _INTRADAY_BELOW_NS:
        return periods_per_year(index)
    day = (wall - _day_start(wall)) // _NS_PER_DAY
    counted = day
    if whole_days:
        inner = (day != day.min()) & (day != day.max())
        counted = day[inner] if inner.any() else day
    return len(counted) / len(np.unique(counted)) * _trading_days(day)


def _bar_spacing(gaps: IntArray) -> float:
    """The bar size: the modal gap when common and below the median, else the median."""
    median = float(np.median(gaps))
    values, counts = np.unique(gaps, return_counts=True)
    best = int(np.argmax(counts))
    if counts[best] >= _MODE_SHARE * len(gaps):
        return min(float(values[best]), median)
    return median


def _trading_days(day: IntArray) -> float:
    """365 when a fifth or more of the bars fall on weekend days, else 252."""
    weekday = (day + _EPOCH_WEEKDAY) % 7
    return 365.0 if float(np.mean(weekday >= 5)) >= _WEEKEND_SHARE else 252.0


def _day_start(wall: IntArray) -> int:
    """Offset (ns, in [-12h, 12h)) of the middle of the longest bar-free stretch of the
    clock; a day starting before midnight carries the date of the next calendar day.
    Among stretches equally long (a clock with a bar every hour: a 24/7 market) the one
    across midnight wins, so each calendar day's bars make one day, not 00:00 the last
    bar of the day before."""
    tod = np.unique(wall % _NS_PER_DAY)
    gaps = np.diff(np.append(tod, tod[0] + _NS_PER_DAY))
    order = np.roll(np.arange(len(gaps)), 1)  # the stretch across midnight first
    i = int(order[np.argmax(gaps[order])])
    start = int(tod[i] + gaps[i] // 2) % _NS_PER_DAY
    return start - _NS_PER_DAY if start >= _NS_PER_DAY // 2 else start


def _bars_per_day(utc: IntArray, day: IntArray, spacing: float) -> int:
    """Median over days of the bars that fit in the day's trimmed span."""
    order = np.lexsort((utc, day))
    t = utc[order].astype(np.float64)
    d = day[order]
    starts = np.flatnonzero(np.concatenate(([True], d[1:] != d[:-1])))
    counts = np.diff(np.append(starts, len(d))).astype(np.float64)
    lo = _interp(t, starts + _TRIM * (counts - 1))
    hi = _interp(t, starts + (1.0 - _TRIM) * (counts - 1))
    bars = (hi - lo) / (1.0 - 2.0 * _TRIM) / spacing + 1.0
    cap = max(round(_NS_PER_DAY / spacing), 1)
    return min(max(round(float(np.median(bars))), 1), cap)


def _interp(values: FloatArray, pos: FloatArray) -> FloatArray:
    """Linear interpolation of ``values`` at fractional positions ``pos``."""
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, len(values) - 1)
    frac = pos - below
    result: FloatArray = values[below] + frac * (values[above] - values[below])
    return result


def _snap_coarse(raw: float) -> float:
    """Snap a weekly-or-coarser estimate to the nearest conventional count when close."""
    candidates = np.asarray(_COARSE_PERIODS)
    rel = np.abs(candidates - raw) / candidates
    best = int(np.argmin(rel))
    return float(candidates[best]) if rel[best] <= _SNAP_TOLERANCE else raw
