"""Frame normalisation, timeframe/range checks and the registry (no network)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from alphapulse.core.errors import ConfigError
from alphapulse.data.providers import PROVIDERS, HistoricalProvider, get_provider
from alphapulse.data.providers.base import (
    OHLCV,
    check_range,
    check_timeframe,
    empty_bars,
    normalize_bars,
    to_utc,
)
from alphapulse.data.providers.yfinance_client import request_windows

SOURCE = "test AAA"
START = pd.Timestamp("2024-01-02 14:30", tz="UTC")
END = pd.Timestamp("2024-01-02 15:00", tz="UTC")


def raw_frame(index: list[str], tz: str | None) -> pd.DataFrame:
    n = len(index)
    return pd.DataFrame(
        {
            "open": np.arange(n, dtype="int64") + 100,
            "high": np.arange(n) + 101.0,
            "low": np.arange(n) + 99.0,
            "close": np.arange(n) + 100.5,
            "volume": np.arange(n, dtype="int64") * 1000,
            "dividend": np.zeros(n),
            "junk": ["x"] * n,
        },
        index=pd.DatetimeIndex(index, tz=tz),
    )


def assert_normalised(frame: pd.DataFrame) -> None:
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "timestamp"
    assert frame.index.unit == "ns"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert list(frame.columns[:5]) == list(OHLCV)
    assert all(dtype == np.float64 for dtype in frame.dtypes)


def test_normalize_converts_sorts_dedupes_and_clips() -> None:
    # New York local times, unsorted, one row repeated as is, one row outside the range
    index = ["2024-01-02 09:40", "2024-01-02 09:30", "2024-01-02 09:35", "2024-01-02 10:00"]
    raw = raw_frame(index, "America/New_York")
    raw = pd.concat([raw, raw.iloc[[2]]])  # an overlapping page gives 09:35 again
    frame = normalize_bars(raw, START, END, "5m", source=SOURCE)
    assert_normalised(frame)
    assert list(frame.columns) == [*OHLCV, "dividend"]
    assert frame.index.strftime("%H:%M").tolist() == ["14:30", "14:35", "14:40"]
    assert frame.loc["2024-01-02 14:35", "open"] == 102.0
    assert frame["volume"].dtype == np.float64


def test_normalize_takes_naive_as_utc_and_drops_priceless_rows() -> None:
    raw = raw_frame(["2024-01-02 14:30", "2024-01-02 14:35"], None)
    raw.loc[raw.index[1], ["open", "high", "low", "close"]] = np.nan
    frame = normalize_bars(raw, START, END, "5m", source=SOURCE)
    assert_normalised(frame)
    assert frame.index.tolist() == [START]


def test_daily_bars_are_stamped_at_their_session_date() -> None:
    # exchange-local midnights (Sydney's is the previous day in UTC), one unsorted
    sydney = raw_frame(["2024-01-03", "2024-01-02"], "Australia/Sydney")
    utc = raw_frame(["2024-01-02 05:00", "2024-01-03 05:00"], "UTC")  # New York midnight
    start, end = pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-04", tz="UTC")
    days = pd.DatetimeIndex(["2024-01-02", "2024-01-03"], tz="UTC")
    for raw in (sydney, utc):
        frame = normalize_bars(raw, start, end, "1d", source=SOURCE)
        assert_normalised(frame)
        assert frame.index.equals(days)


def test_intraday_bars_keep_their_time_of_day() -> None:
    frame = normalize_bars(
        raw_frame(["2024-01-02 09:35"], "America/New_York"), START, END, "1h", source=SOURCE
    )
    assert frame.index.tolist() == [pd.Timestamp("2024-01-02 14:35", tz="UTC")]


def test_empty_frames_keep_the_shape() -> None:
    empty = empty_bars(("split", "dividend"))
    assert_normalised(empty)
    assert list(empty.columns) == [*OHLCV, "dividend", "split"]
    assert normalize_bars(raw_frame([], "UTC"), START, END, "5m", source=SOURCE).empty


def test_normalize_requires_ohlcv() -> None:
    with pytest.raises(ValueError, match="volume"):
        raw = raw_frame(["2024-01-02 14:30"], "UTC").drop(columns="volume")
        normalize_bars(raw, START, END, "5m", source=SOURCE)


def test_timeframes_and_ranges() -> None:
    assert check_timeframe("15m", "p") == "15m"
    with pytest.raises(ConfigError, match=r"unsupported timeframe '2h'.*1m, 5m, 15m, 1h, 1d"):
        check_timeframe("2h", "p")
    with pytest.raises(ConfigError, match="must be before"):
        check_range(datetime(2024, 1, 2), datetime(2024, 1, 1), "p")
    eastern = timezone(timedelta(hours=-5))
    assert to_utc(datetime(2024, 1, 2, 9, 30, tzinfo=eastern)) == START
    assert to_utc(datetime(2024, 1, 2, 14, 30)) == START


def test_request_windows_split_long_ranges() -> None:
    lo, hi = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-17", tz="UTC")
    windows = list(request_windows(lo, hi, pd.Timedelta(days=7)))
    assert [(a.day, b.day) for a, b in windows] == [(1, 8), (8, 15), (15, 17)]
    assert list(request_windows(lo, hi, None)) == [(lo, hi)]


@pytest.mark.parametrize(
    ("name", "kwargs", "cls"),
    [
        ("yfinance", {}, "YFinanceProvider"),
        ("alpaca", {"api_key": "k", "secret_key": "s"}, "AlpacaProvider"),
        ("CCXT", {"exchange": "kraken"}, "CCXTProvider"),
    ],
)
def test_registry_builds_each_provider(name: str, kwargs: dict[str, str], cls: str) -> None:
    provider = get_provider(name, **kwargs)
    assert type(provider).__name__ == cls
    assert isinstance(provider, HistoricalProvider)


def test_registry_rejects_unknown_names() -> None:
    assert PROVIDERS == ("yfinance", "alpaca", "ccxt")
    with pytest.raises(ConfigError, match=r"unknown data provider 'polygon'.*yfinance, alpaca"):
        get_provider("polygon")
    with pytest.raises(ConfigError, match="unknown exchange 'nope'"):
        get_provider("ccxt", exchange="nope")
