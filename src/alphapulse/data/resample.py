"""Resample bars to a coarser size with OHLCV aggregation, aligned to exchange sessions.

With an exchange calendar, intraday bins are anchored at each session's open (09:30 New York
for XNYS, DST-aware, early closes respected) and daily bins are session dates stamped 00:00 UTC.
With ``calendar=None`` (24/7 markets) bins are anchored at midnight UTC. Only bins containing
at least one bar are produced: missing bars are never invented. Daily input (``attrs["bar"]``
of a day or more; without ``attrs["bar"]``, two or more stamps all at 00:00 UTC) keeps its
session dates and can only be resampled to ``1D``. A bin holding a missing volume has a
missing volume, not the sum of the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.data.calendars import calendar_for, trading_dates
from alphapulse.data.fields import ordered_columns

Session = Literal["regular", "all"]

#: Aggregation of each known column; others are dropped.
AGG: Mapping[str, str] = {
    "open": "first",
    "high": "max",
    "low": "min",
    "close": "last",
    "volume": "sum",
    "adj_open": "first",
    "adj_high": "max",
    "adj_low": "min",
    "adj_close": "last",
    "adj_volume": "sum",
    "dividend": "sum",
}
DAY = pd.Timedelta("1D")


def bar_step(rule: str) -> pd.Timedelta:
    """The bar size ``rule`` names: a positive intraday size or ``1D``; DataError otherwise."""
    hint = "use e.g. 5min, 15min, 1h or 1D"
    try:
        step = pd.Timedelta(rule)
    except ValueError:
        raise DataError(f"resample rule {rule!r} is not a bar size; {hint}") from None
    if step <= pd.Timedelta(0) or step > DAY:
        raise DataError(f"resample rule {rule!r} is not supported; {hint}")
    return step


def check_calendar(name: str) -> str | None:
    """``name`` if exchange_calendars knows it, None for ``'none'`` (24/7); DataError otherwise."""
    if name.lower() == "none":
        return None
    if name not in xcals.get_calendar_names(include_aliases=True):
        hint = "use e.g. XNYS, XLON, or 'none' (24/7)"
        raise DataError(f"unknown exchange calendar {name!r}; {hint}")
    return name


def _attr_bar(frame: pd.DataFrame) -> pd.Timedelta | None:
    """The frame's bar size (``attrs["bar"]``), None when absent or not a size."""
    try:
        bar = pd.Timedelta(str(frame.attrs.get("bar")))
    except ValueError:
        return None
    return None if bar is pd.NaT else bar


def _is_daily(frame: pd.DataFrame) -> bool:
    """Whether the frame's bar size (``attrs["bar"]``) is a day or more; without it, whether
    there are two or more stamps, all at 00:00 UTC (session dates, as daily bars are stored:
    read as intraday they would fall on the previous New York evening)."""
    bar = _attr_bar(frame)
    if bar is not None:
        return bar >= DAY
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    return len(ts) > 1 and not (ts % DAY.value).any()


def _raise_past_bin(
    frame: pd.DataFrame, keep: np.ndarray, keys: np.ndarray, step: pd.Timedelta, rule: str
) -> None:
    """DataError naming the first input bar that ends after the ``rule`` bin it falls in:
    that bin would hold data from after its end (bars larger than ``rule``, or not on its
    grid, e.g. hourly bars on the hour against bins from a 09:30 open). The input bar size
    is ``attrs["bar"]``, capped by the smallest spacing of the stamps (bars do not overlap)."""
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    sizes = [b for b in (_attr_bar(frame),) if b is not None]
    gaps = np.diff(ts)
    if (gaps > 0).any():
        sizes.append(pd.Timedelta(int(gaps[gaps > 0].min())))
    if not sizes:
        return
    bar = min(sizes)
    ts = ts[keep]
    late = ts + bar.value > keys + step.value
    if late.any():
        i = int(late.argmax())
        start, end = (pd.Timestamp(int(k), tz="UTC") for k in (keys[i], keys[i] + step.value))
        raise DataError(
            f"the {bar.total_seconds() / 60:g}min bar at {pd.Timestamp(int(ts[i]), tz='UTC')} "
            f"runs past the end of its {rule} bar {start} .. {end}: that bar would hold later "
            "data; the input bars must fit the bins (a multiple of their size, on their grid)"
        )


def _bin_keys(
    index: pd.DatetimeIndex,
    step: pd.Timedelta,
    calendar: str | None,
    session: Session,
    daily: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """(bin start in UTC ns per bar, mask of bars kept)."""
    ts = index.as_unit("ns").asi8
    if calendar is None:
        if step >= DAY:
            return ts - ts % DAY.value, np.ones(len(ts), dtype=bool)
        return ts - ts % step.value, np.ones(len(ts), dtype=bool)
    first = index.min().tz_localize(None).normalize() - DAY
    last = index.max().tz_localize(None).normalize() + DAY
    cal = calendar_for(calendar, first, last)
    dates = trading_dates(index, str(cal.tz), daily=daily)
    sched = cal.schedule.loc[cal.sessions_in_range(first, last), ["open", "close"]]
    opens = pd.DatetimeIndex(sched["open"]).as_unit("ns").asi8
    closes = pd.DatetimeIndex(sched["close"]).as_unit("ns").asi8
    pos = pd.DatetimeIndex(sched.index).get_indexer(dates)
    in_session_day = pos >= 0
    open_ns = np.where(in_session_day, opens[pos], 0)
    close_ns = np.where(in_session_day, closes[pos], 0)
    if session == "regular":
        keep = in_session_day & (ts >= open_ns) & (ts < close_ns)
    else:
        keep = in_session_day
    if step >= DAY:
        keys = dates.as_unit("ns").asi8
    else:
        keys = open_ns + ((ts - open_ns) // step.value) * step.value
    return keys, keep


def resample(
    frame: pd.DataFrame,
    rule: str,
    *,
    calendar: str | None = "XNYS",
    session: Session = "regular",
) -> pd.DataFrame:
    """Aggregate ``frame`` (UTC index, bar start) into ``rule`` bars (e.g. 5min, 15min, 1h, 1D).

    ``session='regular'`` keeps only bars inside the regular session; ``'all'`` also keeps
    pre/after-market bars of session days (intraday bins still anchored at the open).
    Bars on non-session days are dropped with a calendar. ``vwap`` is volume-weighted,
    ``split`` multiplied (a ratio of 0 is no split), other known columns first/max/min/last/sum.
    Input bars must fit their bins: one that ends after its bin's end is a DataError.
    """
    step = bar_step(rule)
    index = pd.DatetimeIndex(frame.index)
    if index.tz is None:
        raise DataError("resample needs a timezone-aware (UTC) index")
    if not index.is_monotonic_increasing:
        raise DataError("resample needs bars sorted by time")
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise DataError(
            f"duplicate timestamp {dup}: cannot resample (its bin would count both bars)",
            field="timestamp",
        )
    if len(frame) == 0:
        return frame.copy()
    _raise_missing(frame)
    daily = _is_daily(frame)
    if daily:
        _raise_daily(rule, step, calendar, session)
    keys, keep = _bin_keys(index.tz_convert("UTC"), step, calendar, session, daily)
    if not keep.any():
        hours = "the regular hours of " if session == "regular" else ""
        raise DataError(
            f"none of the {len(frame)} bars ({index[0]} .. {index[-1]}) is in "
            f"{hours}a {calendar} session: nothing to resample"
        )
    data = frame[keep]
    keys = keys[keep]
    if not daily and (step < DAY or calendar is None):
        _raise_past_bin(frame, keep, keys, step, rule)
    agg = {c: AGG[c] for c in data.columns if c in AGG}
    grouped = data.groupby(keys, sort=True)
    out = grouped.agg(agg) if agg else pd.DataFrame(index=np.unique(keys))
    for col in (c for c in ("volume", "adj_volume") if c in out.columns):
        unknown = data[col].isna().groupby(keys, sort=True).any()  # "sum" would skip them
        out[col] = out[col].mask(unknown.to_numpy())
    if "split" in data.columns:
        split = data["split"]
        out["split"] = split.where(split != 0).groupby(keys, sort=True).prod()
    if "vwap" in data.columns and "volume" in data.columns:
        notional = (data["vwap"] * data["volume"]).groupby(keys, sort=True).sum(min_count=1)
        out["vwap"] = notional / out["volume"].where(out["volume"] > 0)
    out.index = pd.DatetimeIndex(pd.to_datetime(out.index.to_numpy(), unit="ns", utc=True))
    out.index.name = "timestamp"
    out = out[ordered_columns(list(out.columns))].astype(np.float64)
    out.attrs = {**frame.attrs, "bar": rule}
    return out


def _raise_daily(rule: str, step: pd.Timedelta, calendar: str | None, session: Session) -> None:
    """DataError when daily bars cannot give ``rule`` (``step``) bars under ``session``."""
    if step < DAY:
        raise DataError(f"daily bars cannot be resampled to shorter {rule} bars")
    if calendar is not None and session == "regular":
        raise DataError(
            "daily bars have no time of day to keep regular-session hours by; use --session all"
        )


def _raise_missing(frame: pd.DataFrame) -> None:
    """DataError naming the first bar with a missing (NaN) open, high, low or close (or
    adjusted price): first/last/max/min would silently take a neighbour's value."""
    prices = ("open", "high", "low", "close", "adj_open", "adj_high", "adj_low", "adj_close")
    for col in (c for c in prices if c in frame.columns):
        nan = frame[col].isna().to_numpy()
        if nan.any():
            when = frame.index[int(nan.argmax())]
            raise DataError(f"missing {col} at {when}: cannot resample", field=col)


def resample_frames(
    frames: Mapping[str, pd.DataFrame],
    rule: str,
    *,
    calendar: str | None = "XNYS",
    session: Session = "regular",
) -> dict[str, pd.DataFrame]:
    """``resample`` applied to every symbol's frame."""
    return {s: resample(f, rule, calendar=calendar, session=session) for s, f in frames.items()}
