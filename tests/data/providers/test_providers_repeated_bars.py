"""A bar time given twice by a provider: kept once when the values agree, an error naming
the provider, symbol, time and a differing field when they do not (nothing picks one), in
``normalize_bars``, in each client against recorded responses and in live polling."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from yfinance import data as yf_data

from alphapulse.core.errors import DataError
from alphapulse.data.providers.base import normalize_bars
from alphapulse.data.providers.ccxt_client import CCXTProvider
from alphapulse.data.providers.errors import ProviderError
from alphapulse.data.providers.yfinance_client import YFinanceProvider
from alphapulse.live.polling import PollingSource

pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

FIXTURES = Path(__file__).parent / "fixtures"
KLINES = "/api/v3/klines"
T0 = 1704067200000  # 2024-01-01 00:00 UTC in ms: the recorded klines' first candle
HOUR = 3_600_000
START, END = datetime(2024, 1, 1), datetime(2024, 1, 2, 1)  # 25 hourly candles
SECOND_PAGE = {"startTime": str(T0 + 10 * HOUR)}
#: The time of the candle given twice in the edited second page.
TWICE = pd.Timestamp(T0 + 12 * HOUR, unit="ms", tz="UTC")
NVDA_HISTORY = {"interval": "1d", "period1": "1717372800", "period2": "1719014400"}


@pytest.fixture(autouse=True)
def _fresh_yfinance_cache_no_binance_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    yf_data.YfData.cache_get.cache_clear()
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):
        monkeypatch.delenv(name, raising=False)


def klines_page(edit: Callable[[list[list[object]]], None]) -> list[list[object]]:
    """The recorded second klines page (10 candles from T0 + 10h) with ``edit`` applied."""
    cassette = json.loads((FIXTURES / "binance_klines_BTCUSDT_1h.json").read_text())
    page: list[list[object]] = cassette["interactions"][1]["response"]["body"]
    edit(page)
    return page


def repeat_candle(volume: str | None) -> Callable[[list[list[object]]], None]:
    """Replace the 13:00 candle by a copy of the 12:00 one (its volume set to ``volume``)."""

    def edit(page: list[list[object]]) -> None:
        page[3] = list(page[2])
        if volume is not None:
            page[3][5] = volume

    return edit


def ccxt_client(recorded_server, fast, page: list[list[object]]) -> CCXTProvider:
    server = recorded_server("binance_exchange_info", "binance_klines_BTCUSDT_1h")
    server.inject(KLINES, (200, page), where=SECOND_PAGE)
    return CCXTProvider(
        "binance",
        base_url=server.url,
        page_limit=10,
        options={"fetchMarkets": {"types": ["spot"]}},
        enable_rate_limit=False,
        **fast.kwargs,
    )


def test_normalize_refuses_a_time_given_twice_with_other_values() -> None:
    index = pd.DatetimeIndex(["2024-01-02 14:35", "2024-01-02 14:30", "2024-01-02 14:35"])
    raw = pd.DataFrame(
        {"open": 10.0, "high": 11.0, "low": 9.0, "close": [10.5, 10.2, 10.7], "volume": 5.0},
        index=index.tz_localize("UTC"),
    )
    lo, hi = pd.Timestamp("2024-01-02 14:30", tz="UTC"), pd.Timestamp("2024-01-02 15:00", tz="UTC")
    with pytest.raises(DataError) as info:
        normalize_bars(raw, lo, hi, "5m", source="test AAA")
    assert info.value.field == "close" and info.value.rule == "duplicate_timestamp"
    assert "test AAA: 2024-01-02T14:35:00+00:00 is given twice" in str(info.value)
    assert "(10.5 and 10.7)" in str(info.value)
    # the same clash outside [start, end) is not read, so it is no error
    inside = normalize_bars(raw, lo, pd.Timestamp("2024-01-02 14:35", tz="UTC"), "5m", source="x")
    assert inside["close"].tolist() == [10.2]


def test_normalize_keeps_one_of_identical_repeats_nan_included() -> None:
    index = pd.DatetimeIndex(["2024-01-02 14:30", "2024-01-02 14:30"], tz="UTC")
    raw = pd.DataFrame(
        {"open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 5.0, "vwap": np.nan},
        index=index,
    )
    lo, hi = index[0], index[0] + pd.Timedelta("5min")
    frame = normalize_bars(raw, lo, hi, "5m", source="test AAA")
    assert len(frame) == 1 and np.isnan(frame["vwap"].iloc[0])


def test_ccxt_candle_given_twice_with_other_values_is_an_error(recorded_server, fast) -> None:
    client = ccxt_client(recorded_server, fast, klines_page(repeat_candle("1.5")))
    with pytest.raises(DataError) as info:
        client.fetch_bars("BTC/USDT", START, END, "1h")
    assert info.value.field == "volume"
    assert f"ccxt/binance BTC/USDT: {TWICE.isoformat()} is given twice" in str(info.value)


def test_ccxt_candle_given_twice_alike_is_kept_once(recorded_server, fast) -> None:
    client = ccxt_client(recorded_server, fast, klines_page(repeat_candle(None)))
    frame = client.fetch_bars("BTC/USDT", START, END, "1h")
    assert len(frame) == 24 and frame.index.is_unique  # 13:00 was replaced, not added
    assert TWICE in frame.index and TWICE + pd.Timedelta(hours=1) not in frame.index


def test_polling_skips_a_round_with_a_conflicting_candle_and_says_why(
    recorded_server, fast, caplog
) -> None:
    client = ccxt_client(recorded_server, fast, klines_page(repeat_candle("1.5")))
    end_ns = pd.Timestamp(END, tz="UTC").value
    source = PollingSource(
        client, ("BTC/USDT",), "1h", clock_ns=lambda: end_ns, since_ns=T0 * 1_000_000
    )
    with caplog.at_level(logging.WARNING, logger="alphapulse.live.polling"):
        assert source.poll() is False  # before: True, with the later candle's volume
    assert source.errors == 1
    assert source.sections.next_deadline() is None  # no bar of that answer is pending
    assert f"BTC/USDT: {TWICE.isoformat()} is given twice" in caplog.text


def nvda_history(edit: Callable[[dict], None]) -> dict:
    """The recorded NVDA daily history response with ``edit`` applied to its result."""
    cassette = json.loads((FIXTURES / "yahoo_chart_NVDA_1d.json").read_text())
    body: dict = cassette["interactions"][1]["response"]["body"]
    edit(body["chart"]["result"][0])
    return body


def _stamp_twice(result: dict) -> None:
    result["timestamp"][6] = result["timestamp"][5]  # two sessions' quotes at one time


def _live_bar_twice(result: dict) -> None:
    """Two different bars at one time past the range's end (period2), as a live bar."""
    late = int(NVDA_HISTORY["period2"]) + 48_600
    result["timestamp"] += [late, late]
    arrays = [
        *result["indicators"]["quote"][0].values(),
        result["indicators"]["adjclose"][0]["adjclose"],
    ]
    for values in arrays:
        values += [values[-1], values[-2]]


def yahoo_fetch(recorded_server, fast, body: dict) -> pd.DataFrame:
    server = recorded_server("yahoo_session", "yahoo_chart_NVDA_1d")
    server.inject("/v8/finance/chart/NVDA", (200, body), where=NVDA_HISTORY)
    provider = YFinanceProvider(base_url=server.url, **fast.kwargs)
    return provider.fetch_bars("NVDA", datetime(2024, 6, 3), datetime(2024, 6, 22), "1d")


def test_yahoo_bar_given_twice_with_other_values_is_an_error(recorded_server, fast) -> None:
    # yfinance itself keeps the first of them: the response is checked before it does
    with pytest.raises(ProviderError, match=r"NVDA: malformed chart response: the bar at "):
        yahoo_fetch(recorded_server, fast, nvda_history(_stamp_twice))


def test_yahoo_repeat_past_the_range_end_is_not_read(recorded_server, fast) -> None:
    frame = yahoo_fetch(recorded_server, fast, nvda_history(_live_bar_twice))
    assert len(frame) == 14 and frame.index[-1] < pd.Timestamp("2024-06-22", tz="UTC")
