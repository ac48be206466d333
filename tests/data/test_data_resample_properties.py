"""Properties of session-aligned resampling, checked against a per-row reference.

Every kept source row lands in exactly one output bar ``[label, label + rule)``; each bar's
OHLCV is the first/max/min/last/sum of its rows; bars that ended before T do not change when
rows after T change; missing inputs are never turned into numbers.
"""

from __future__ import annotations

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.core.errors import DataError
from alphapulse.data.resample import Session, resample

MINUTE = pd.Timedelta("1min")
NY = "America/New_York"
RULES = ["2min", "5min", "7min", "15min", "1h", "90min", "4h", "1D"]
#: Starts around DST changes (2024-03-10, 2024-11-03), an early close (2024-11-29) and
#: a holiday week (2024-12-25), so the minutes cross weekends, holidays and session edges.
STARTS = ["2024-03-08 12:00", "2024-11-01 12:00", "2024-11-27 12:00", "2024-12-23 12:00"]
XNYS = xcals.get_calendar("XNYS", start="2024-01-01", end="2024-12-31")


def _bars(start: str, minutes: list[int], seed: int) -> pd.DataFrame:
    """One-minute bars at ``start`` + each of ``minutes`` (sorted, distinct), random OHLCV."""
    rng = np.random.default_rng(seed)
    n = len(minutes)
    idx = pd.DatetimeIndex(
        pd.Timestamp(start, tz="UTC") + pd.to_timedelta(minutes, unit="min"), name="timestamp"
    )
    o, c = rng.uniform(10, 20, n), rng.uniform(10, 20, n)
    frame = pd.DataFrame(
        {
            "open": o,
            "high": np.maximum(o, c) + rng.uniform(0, 1, n),
            "low": np.minimum(o, c) - rng.uniform(0, 1, n),
            "close": c,
            "volume": rng.integers(0, 1000, n).astype(np.float64),
        },
        index=idx,
    )
    frame.attrs["bar"] = "1min"
    return frame


def _session(ts: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp] | None:
    """(session date, open, close) of the New York date of ``ts``; None off the calendar."""
    day = ts.tz_convert(NY).tz_localize(None).normalize()
    if not XNYS.is_session(day):
        return None
    return day, XNYS.session_open(day), XNYS.session_close(day)


def _reference(frame: pd.DataFrame, rule: str, session: Session) -> dict[pd.Timestamp, list[int]]:
    """Bar label -> positions of its source rows, one row at a time from the calendar."""
    step = pd.Timedelta(rule)
    out: dict[pd.Timestamp, list[int]] = {}
    for i, ts in enumerate(frame.index):
        s = _session(ts)
        if s is None or (session == "regular" and not s[1] <= ts < s[2]):
            continue
        if step == pd.Timedelta("1D"):
            label = s[0].tz_localize("UTC")
        else:
            label = s[1] + ((ts - s[1]) // step) * step
        out.setdefault(label, []).append(i)
    return out


minutes = st.lists(st.integers(0, 4 * 1440), min_size=1, max_size=250, unique=True).map(sorted)


@settings(max_examples=60, deadline=None)
@given(
    minutes,
    st.sampled_from(RULES),
    st.integers(0, 2**32 - 1),
    st.sampled_from(STARTS),
    st.sampled_from(["regular", "all"]),
)
def test_every_kept_row_is_in_exactly_one_bar_with_its_ohlcv(
    mins: list[int], rule: str, seed: int, start: str, session: Session
) -> None:
    frame = _bars(start, mins, seed)
    ref = _reference(frame, rule, session)
    if not ref:
        with pytest.raises(DataError, match="nothing to resample"):
            resample(frame, rule, session=session)
        return
    out = resample(frame, rule, session=session)
    assert list(out.index) == sorted(ref)
    step = pd.Timedelta(rule)
    for label, rows in ref.items():
        src, bar = frame.iloc[rows], out.loc[label]
        if step < pd.Timedelta("1D"):  # a bar holds nothing from after its end
            assert src.index.min() >= label and src.index.max() + MINUTE <= label + step
        assert bar["open"] == src["open"].iloc[0] and bar["close"] == src["close"].iloc[-1]
        assert bar["high"] == src["high"].max() and bar["low"] == src["low"].min()
        assert bar["volume"] == src["volume"].sum()
        assert bar["low"] <= min(bar["open"], bar["close"])
        assert max(bar["open"], bar["close"]) <= bar["high"]


@settings(max_examples=60, deadline=None)
@given(minutes, st.sampled_from(RULES), st.integers(0, 2**32 - 1), st.sampled_from(STARTS))
def test_24_7_bins_partition_the_rows_from_midnight_utc(
    mins: list[int], rule: str, seed: int, start: str
) -> None:
    frame = _bars(start, mins, seed)
    out = resample(frame, rule, calendar=None)
    step = pd.Timedelta(rule).value
    ts = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    labels = pd.to_datetime(ts - ts % step, utc=True)
    grouped = frame.groupby(labels)
    assert list(out.index) == list(grouped.size().index)
    assert out["volume"].sum() == frame["volume"].sum()  # nothing dropped, nothing twice
    assert (out["volume"].to_numpy() == grouped["volume"].sum().to_numpy()).all()
    assert (out["high"].to_numpy() == grouped["high"].max().to_numpy()).all()
    assert (out["open"].to_numpy() == grouped["open"].first().to_numpy()).all()


@settings(max_examples=60, deadline=None)
@given(
    minutes,
    st.sampled_from(RULES[:-1]),
    st.integers(0, 2**32 - 1),
    st.sampled_from(STARTS),
    st.sampled_from([None, "XNYS"]),
    st.floats(0.0, 1.0),
)
def test_bars_ended_by_t_do_not_change_with_rows_after_t(
    mins: list[int], rule: str, seed: int, start: str, calendar: str | None, cut: float
) -> None:
    frame = _bars(start, mins, seed)
    t = frame.index[int(cut * (len(frame) - 1))]
    changed = frame.copy()
    later = changed.index > t
    changed.loc[later, ["open", "high", "low", "close"]] *= 3.0
    changed.loc[later, "volume"] += 7.0
    try:
        before = resample(frame, rule, calendar=calendar, session="all")
    except DataError:
        return  # no session bar at all
    after = resample(changed, rule, calendar=calendar, session="all")
    ends = pd.DatetimeIndex(before.index) + pd.Timedelta(rule)
    ended = before.index[ends <= t + MINUTE]
    pd.testing.assert_frame_equal(after.loc[ended], before.loc[ended])


def _days(stamps: list[str]) -> pd.DataFrame:
    idx = pd.DatetimeIndex(stamps, tz="UTC", name="timestamp")
    c = np.arange(1.0, len(idx) + 1)
    return pd.DataFrame(
        {"open": c, "high": c + 1, "low": c - 0.5, "close": c, "volume": 10.0}, index=idx
    )


def test_daily_bars_without_a_bar_size_keep_their_session_dates() -> None:
    # daily bars as the store and Panel.frame hand them out: no attrs["bar"]. Read as
    # intraday, 00:00 UTC is the previous New York evening: each bar moved one day back
    # (a look-ahead) and the bars of Tuesday 2 (after New Year) and Monday 8 were dropped
    days = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]
    frame = _days(days)
    out = resample(frame, "1D", session="all")
    assert list(out.index) == list(frame.index)
    assert out["close"].tolist() == frame["close"].tolist()
    with pytest.raises(DataError, match="daily bars cannot be resampled to shorter 1h"):
        resample(frame, "1h", session="all")


def test_duplicate_timestamps_are_refused_not_counted_twice() -> None:
    frame = _bars("2024-01-02 14:30", [0, 1, 2], 0)
    twice = pd.concat([frame.iloc[:2], frame.iloc[1:]])  # an overlapping concatenation
    with pytest.raises(DataError, match="duplicate timestamp 2024-01-02 14:31:00"):
        resample(twice, "5min")


@pytest.mark.parametrize("column", ["volume", "adj_volume"])
def test_a_missing_volume_stays_missing(column: str) -> None:
    frame = _bars("2024-01-02 14:30", list(range(10)), 1)
    frame["adj_volume"] = frame["volume"] * 2
    frame.loc[frame.index[7], column] = np.nan  # 14:37: unknown, not 0
    out = resample(frame, "5min")
    assert np.isnan(out[column].iloc[1])
    assert out[column].iloc[0] == frame[column].iloc[:5].sum()


def test_a_volume_less_file_does_not_get_zero_volume() -> None:
    frame = _bars("2024-01-02 14:30", list(range(10)), 2)
    frame["volume"] = np.nan  # a CSV without a volume column reads as NaN volume
    frame["vwap"] = frame["close"]
    out = resample(frame, "5min")
    assert out["volume"].isna().all() and out["vwap"].isna().all()


@pytest.mark.parametrize("column", ["adj_close", "adj_open"])
def test_a_missing_adjusted_price_is_an_error_not_a_neighbour(column: str) -> None:
    frame = _bars("2024-01-02 14:30", list(range(5)), 3)
    frame[column] = frame[column.removeprefix("adj_")] / 2
    frame.loc[frame.index[4 if column == "adj_close" else 0], column] = np.nan
    with pytest.raises(DataError, match=f"missing {column} at 2024-01-02 14:3"):
        resample(frame, "5min")
