"""ccxt client against recorded Binance spot API responses on a local server.

The official ``ccxt.binance`` exchange is pointed at the server by rewriting the origin
of every URL in ``exchange.urls['api']``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.core.errors import ConfigError
from alphapulse.data.providers.ccxt_client import CCXTProvider
from alphapulse.data.providers.errors import ProviderAuthError, ProviderError
from alphapulse.data.providers.retry import RateLimiter

FIXTURES = Path(__file__).parent / "fixtures"
KLINES = "/api/v3/klines"
START, END = datetime(2024, 1, 1), datetime(2024, 1, 2, 1)  # 25 hourly candles
T0 = 1704067200000
HOUR = 3_600_000
#: Spot markets only, so load_markets needs just the recorded /api/v3/exchangeInfo.
SPOT = {"fetchMarkets": {"types": ["spot"]}}


@pytest.fixture
def binance(recorded_server):
    return recorded_server("binance_exchange_info", "binance_klines_BTCUSDT_1h")


@pytest.fixture
def no_env(monkeypatch):
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):
        monkeypatch.delenv(name, raising=False)


def provider(server, fast, **kwargs) -> CCXTProvider:
    kwargs.setdefault("enable_rate_limit", False)
    kwargs = {**fast.kwargs, **kwargs}
    return CCXTProvider("binance", base_url=server.url, page_limit=10, options=SPOT, **kwargs)


def test_pages_by_since_and_limit_until_end(binance, fast, no_env) -> None:
    client = provider(binance, fast, enable_rate_limit=True)  # ccxt's own throttle on too
    frame = client.fetch_bars("BTC/USDT", START, END, "1h")

    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert str(frame.index.tz) == "UTC" and frame.index.name == "timestamp"
    assert len(frame) == 25 and frame.index.is_unique and frame.index.is_monotonic_increasing
    assert frame.index[0] == pd.Timestamp(START, tz="UTC")
    assert frame.index[-1] == pd.Timestamp("2024-01-02 00:00", tz="UTC")
    cassette = json.loads((FIXTURES / "binance_klines_BTCUSDT_1h.json").read_text())
    recorded = [k for item in cassette["interactions"] for k in item["response"]["body"]]
    assert frame["close"].tolist() == [float(k[4]) for k in recorded]

    pages = binance.requests_to(KLINES)
    assert [(int(r.query["startTime"]), r.query["limit"]) for r in pages] == [
        (T0, "10"),
        (T0 + 10 * HOUR, "10"),
        (T0 + 20 * HOUR, "5"),
    ]
    assert all(r.query["symbol"] == "BTCUSDT" and r.query["interval"] == "1h" for r in pages)
    assert binance.unmatched == []


def test_base_url_rewrites_every_api_origin(binance, fast) -> None:
    client = provider(binance, fast)
    api = client.exchange.urls["api"]
    assert api["public"] == f"{binance.url}/api/v3"
    assert api["fapiPublic"] == f"{binance.url}/fapi/v1"
    assert all(url.startswith(binance.url) for url in api.values())


def test_rate_limiter_spaces_requests_by_exchange_rate_limit(
    binance, fast, fake_clock, no_env
) -> None:
    probe = CCXTProvider("binance")
    assert probe.exchange.rateLimit == 50  # ms, Binance's published spacing
    limiter = RateLimiter.every(
        probe.exchange.rateLimit / 1000, clock=fake_clock, sleep=fake_clock.sleep
    )
    client = provider(binance, fast, rate_limiter=limiter)
    client.fetch_bars("BTC/USDT", START, END, "1h")

    # exchangeInfo + 3 pages: the first goes at once, each later one waits 50 ms
    assert len(binance.seen) == 4
    assert fake_clock.sleeps == pytest.approx([0.05, 0.05, 0.05])


def test_retries_a_page_on_429_and_503(binance, fast, no_env) -> None:
    second_page = {"startTime": str(T0 + 10 * HOUR)}
    binance.inject(
        KLINES,
        (
            429,
            {
                "code": -1003,
                "msg": "Too many requests; current limit of IP(127.0.0.1) "
                "request weight per minute is 6000.",
            },
            {"Retry-After": "2"},
        ),
        (
            503,
            {
                "code": -1001,
                "msg": "Internal error; unable to process your request. Please try again.",
            },
        ),
        where=second_page,
    )
    frame = provider(binance, fast).fetch_bars("BTC/USDT", START, END, "1h")

    assert len(frame) == 25
    starts = [int(r.query["startTime"]) for r in binance.requests_to(KLINES)]
    assert starts == [T0, T0 + 10 * HOUR, T0 + 10 * HOUR, T0 + 10 * HOUR, T0 + 20 * HOUR]
    assert fast.retry_sleeps == [2.0, 1.0]  # Retry-After, then the 2nd backoff step


def test_401_is_an_auth_error_naming_the_env_vars(binance, fast, no_env) -> None:
    binance.inject(
        KLINES, (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
    )
    with pytest.raises(ProviderAuthError, match="BINANCE_API_KEY and BINANCE_API_SECRET"):
        provider(binance, fast).fetch_bars("BTC/USDT", START, END, "1h")
    assert len(binance.requests_to(KLINES)) == 1
    assert fast.retry_sleeps == []


def test_unknown_symbol_is_not_retried(binance, fast, no_env) -> None:
    with pytest.raises(ProviderError, match="BadSymbol"):
        provider(binance, fast).fetch_bars("DOGE/EUR", START, END, "1h")
    assert binance.requests_to(KLINES) == []
    assert fast.retry_sleeps == []


def test_empty_history_keeps_the_shape(binance, fast, no_env) -> None:
    binance.inject(KLINES, (200, []))
    frame = provider(binance, fast).fetch_bars("ETH/USDT", START, END, "1h")
    assert frame.empty and list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert len(binance.requests_to(KLINES)) == 1


def test_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError, match="page_limit"):
        CCXTProvider("binance", page_limit=0)
    with pytest.raises(ConfigError, match="unknown exchange"):
        CCXTProvider("not-an-exchange")


@pytest.mark.parametrize("body", ["<html>502 Bad Gateway</html>", None])
def test_a_body_that_is_not_json_is_an_error_not_an_empty_history(
    binance, fast, no_env, body
) -> None:
    """ccxt reads a 200 whose body is an HTML page or ``null`` as no candles."""
    binance.inject(KLINES, (200, body), where={"startTime": str(T0 + 10 * HOUR)})
    with pytest.raises(ProviderError, match=r"page from 2024-01-01T10:00:00\+00:00.*not JSON"):
        provider(binance, fast).fetch_bars("BTC/USDT", START, END, "1h")
    assert len(binance.requests_to(KLINES)) == 2  # not retried, no page after it
