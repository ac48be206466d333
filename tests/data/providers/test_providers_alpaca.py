"""Alpaca client against recorded market data API responses on a local server.

The official ``StockHistoricalDataClient`` / ``CryptoHistoricalDataClient`` are pointed
at the server through alpaca-py's own ``url_override``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.data.providers.alpaca_client import AlpacaProvider
from alphapulse.data.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitError,
)

FIXTURES = Path(__file__).parent / "fixtures"
BARS = "/v2/stocks/bars"
START, END = datetime(2024, 2, 1), datetime(2024, 3, 1)
TOKEN = "QUFQTHxEfDIwMjQtMDItMTZUMDU6MDA6MDAuMDAwMDAwMDAwWg=="


def recorded_bars(name: str) -> list[dict]:
    cassette = json.loads((FIXTURES / f"{name}.json").read_text())
    return [
        bar
        for item in cassette["interactions"]
        for bars in item["response"]["body"]["bars"].values()
        for bar in bars
    ]


@pytest.fixture
def alpaca(recorded_server):
    return recorded_server("alpaca_stock_bars_AAPL_1Day", "alpaca_crypto_bars_BTCUSD_1Hour")


@pytest.fixture
def no_env(monkeypatch):
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "APCA_API_DATA_URL"):
        monkeypatch.delenv(name, raising=False)


def provider(server, fast, **kwargs) -> AlpacaProvider:
    kwargs.setdefault("api_key", "PKTEST")
    kwargs.setdefault("secret_key", "secret")
    return AlpacaProvider(base_url=server.url, **fast.kwargs, **kwargs)


def test_stock_bars_follow_next_page_token(alpaca, fast, no_env) -> None:
    frame = provider(alpaca, fast).fetch_bars("AAPL", START, END, "1d")

    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "vwap"]
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert str(frame.index.tz) == "UTC" and frame.index.name == "timestamp"
    assert len(frame) == 20 and frame.index.is_monotonic_increasing and frame.index.is_unique
    # recorded at New York midnight (05:00 UTC); stored at the session date, 00:00 UTC
    assert frame.index[0] == pd.Timestamp("2024-02-01", tz="UTC")
    assert (frame.index == frame.index.normalize()).all()
    recorded = recorded_bars("alpaca_stock_bars_AAPL_1Day")
    assert frame["close"].tolist() == [b["c"] for b in recorded]
    assert frame["vwap"].tolist() == [b["vw"] for b in recorded]

    pages = alpaca.requests_to(BARS)
    assert [r.query.get("page_token") for r in pages] == [None, TOKEN]
    first = pages[0]
    assert first.query["timeframe"] == "1Day" and first.query["adjustment"] == "raw"
    assert first.headers["APCA-API-KEY-ID"] == "PKTEST"
    assert first.headers["APCA-API-SECRET-KEY"] == "secret"
    assert alpaca.unmatched == []


def test_credentials_and_url_from_environment(alpaca, fast, monkeypatch) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", "PKENV")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "envsecret")
    monkeypatch.setenv("APCA_API_DATA_URL", alpaca.url)
    frame = AlpacaProvider(**fast.kwargs).fetch_bars("AAPL", START, END, "1d")
    assert len(frame) == 20
    assert alpaca.requests_to(BARS)[0].headers["APCA-API-KEY-ID"] == "PKENV"


def test_missing_credentials_name_the_env_vars(alpaca, fast, no_env) -> None:
    unset = AlpacaProvider(base_url=alpaca.url, **fast.kwargs)
    with pytest.raises(ProviderAuthError, match="APCA_API_KEY_ID and APCA_API_SECRET_KEY"):
        unset.fetch_bars("AAPL", START, END, "1d")
    assert alpaca.seen == []


def test_401_is_an_auth_error_and_not_retried(alpaca, fast, no_env) -> None:
    alpaca.inject(BARS, (401, {"code": 40110000, "message": "request is not authorized"}))
    with pytest.raises(ProviderAuthError) as info:
        provider(alpaca, fast).fetch_bars("AAPL", START, END, "1d")
    message = str(info.value)
    assert (
        "HTTP 401" in message and "APCA_API_KEY_ID" in message and "APCA_API_SECRET_KEY" in message
    )
    assert "Traceback" not in message
    assert info.value.status == 401
    assert len(alpaca.requests_to(BARS)) == 1
    assert fast.retry_sleeps == []


def test_429_and_503_are_retried_with_retry_after(alpaca, fast, no_env) -> None:
    alpaca.inject(
        BARS,
        (429, {"message": "too many requests."}, {"Retry-After": "3"}),
        (503, {"message": "service unavailable"}),
    )
    frame = provider(alpaca, fast).fetch_bars("AAPL", START, END, "1d")

    assert len(frame) == 20
    # 429 and 503 on the first page, then both pages: the SDK's own retry is off
    assert [r.query.get("page_token") for r in alpaca.requests_to(BARS)] == [
        None,
        None,
        None,
        TOKEN,
    ]
    assert fast.retry_sleeps == [3.0, 1.0]  # Retry-After, then the 2nd backoff step


def test_rate_limit_error_after_all_attempts(alpaca, fast, no_env) -> None:
    alpaca.inject(BARS, *[(429, {"message": "too many requests."}, {"Retry-After": "1"})] * 9)
    with pytest.raises(ProviderRateLimitError, match=r"HTTP 429.*gave up after 4 attempts"):
        provider(alpaca, fast).fetch_bars("AAPL", START, END, "1d")
    assert len(alpaca.requests_to(BARS)) == 4
    assert fast.retry_sleeps == [1.0, 1.0, 1.0]


def test_crypto_bars_need_no_keys(alpaca, fast, no_env) -> None:
    crypto = AlpacaProvider(base_url=alpaca.url, **fast.kwargs)
    frame = crypto.fetch_bars("btc/usd", datetime(2024, 1, 1), datetime(2024, 1, 2), "1h")

    assert len(frame) == 24
    assert frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert (frame.index.to_series().diff().dropna() == pd.Timedelta(hours=1)).all()
    assert frame["close"].tolist() == [
        b["c"] for b in recorded_bars("alpaca_crypto_bars_BTCUSD_1Hour")
    ]
    (sent,) = alpaca.requests_to("/v1beta3/crypto/us/bars")
    assert sent.query["symbols"] == "BTC/USD" and sent.query["timeframe"] == "1Hour"
    assert "APCA-API-KEY-ID" not in sent.headers


@pytest.mark.parametrize(
    ("timeframe", "wire"), [("1m", "1Min"), ("5m", "5Min"), ("15m", "15Min"), ("1h", "1Hour")]
)
def test_timeframes_map_and_empty_results_keep_the_shape(
    alpaca, fast, no_env, timeframe: str, wire: str
) -> None:
    alpaca.inject(BARS, (200, {"bars": {}, "next_page_token": None}))
    frame = provider(alpaca, fast).fetch_bars("MSFT", START, END, timeframe)
    assert frame.empty
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "vwap"]
    assert str(frame.index.tz) == "UTC"
    assert alpaca.requests_to(BARS)[0].query["timeframe"] == wire


@pytest.mark.parametrize(
    ("held", "others"),
    [({"MSFT": 3}, "MSFT"), ({"MSFT": 3, "IBM": 2}, "IBM, MSFT"), ({"AAPL": 3, "MSFT": 3}, "MSFT")],
)
def test_bars_of_a_symbol_not_asked_for_are_an_error_not_empty(
    alpaca, fast, no_env, held: dict[str, int], others: str
) -> None:
    bars = recorded_bars("alpaca_stock_bars_AAPL_1Day")
    body = {"bars": {s: bars[:n] for s, n in held.items()}, "next_page_token": None}
    alpaca.inject(BARS, (200, body))
    with pytest.raises(
        ProviderError, match=f"alpaca: asked for AAPL bars, the response holds bars of {others}$"
    ):
        provider(alpaca, fast).fetch_bars("AAPL", START, END, "1d")


@pytest.mark.parametrize(
    ("path", "symbol", "bars"),
    [
        (BARS, "AAPL", {"AAPL": []}),
        # before: alpaca-py's pager failed on the nulls ("AttributeError: 'NoneType' ...")
        (BARS, "AAPL", None),
        (BARS, "AAPL", {"AAPL": None}),
        ("/v1beta3/crypto/us/bars", "BTC/USD", None),
    ],
)
def test_the_asked_symbol_without_bars_is_empty(
    alpaca, fast, no_env, path: str, symbol: str, bars: dict | None
) -> None:
    # no session in the range, or before the listing: no data, not an error (as "bars": {})
    alpaca.inject(path, (200, {"bars": bars, "next_page_token": None}))
    frame = provider(alpaca, fast).fetch_bars(symbol, START, END, "1d")
    assert frame.empty and list(frame.columns) == ["open", "high", "low", "close", "volume", "vwap"]
