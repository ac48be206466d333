"""Alpaca bars through the official ``alpaca-py`` SDK.

Stocks use ``StockHistoricalDataClient.get_stock_bars`` with a ``StockBarsRequest``;
symbols containing ``/`` (``"BTC/USD"``) are crypto and use
``CryptoHistoricalDataClient.get_crypto_bars``. The SDK follows ``next_page_token``
itself. Credentials come from the arguments or ``APCA_API_KEY_ID`` /
``APCA_API_SECRET_KEY``; the data API origin from ``base_url`` or ``APCA_API_DATA_URL``
(the SDK's ``url_override``). Columns: OHLCV and ``vwap``; prices are unadjusted unless
``adjustment`` says otherwise. A response without bars is an empty frame (no session in
the range, or before the listing), ``"bars": null`` or a symbol mapped to null too; one
that holds bars of a symbol not asked for is a ``ProviderError``, not that empty frame.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import Any, Final

import pandas as pd
import requests
from alpaca.common.exceptions import APIError
from alpaca.common.rest import RESTClient
from alpaca.common.types import HTTPResult
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.crypto import CryptoHistoricalDataClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.models import Bar, BarSet
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from alphapulse.data.providers.base import (
    Timeframe,
    check_range,
    check_timeframe,
    empty_bars,
    normalize_bars,
)
from alphapulse.data.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailableError,
    error_for_status,
)
from alphapulse.data.providers.retry import (
    RateLimiter,
    RetryPolicy,
    Sleep,
    call_with_retry,
    parse_retry_after,
)

PROVIDER: Final = "alpaca"
KEY_ENV: Final = "APCA_API_KEY_ID"
SECRET_ENV: Final = "APCA_API_SECRET_KEY"
URL_ENV: Final = "APCA_API_DATA_URL"
_AUTH_HINT: Final = (
    f"Set {KEY_ENV} and {SECRET_ENV} (or pass api_key= and secret_key=) to a valid "
    "Alpaca key pair; a data subscription is needed for the 'sip' feed."
)
_TIMEFRAMES: Final = MappingProxyType(
    {
        "1m": (1, TimeFrameUnit.Minute),
        "5m": (5, TimeFrameUnit.Minute),
        "15m": (15, TimeFrameUnit.Minute),
        "1h": (1, TimeFrameUnit.Hour),
        "1d": (1, TimeFrameUnit.Day),
    }
)
#: Free plan: 200 requests per minute.
_DEFAULT_INTERVAL: Final = 60.0 / 200.0


class AlpacaProvider:
    """Historical stock and crypto bars from Alpaca's market data API."""

    name: Final = PROVIDER

    def __init__(
        self,
        *,
        api_key: str | None = None,
        secret_key: str | None = None,
        base_url: str | None = None,
        feed: str | None = None,
        adjustment: str = "raw",
        retry_policy: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._api_key = api_key or os.environ.get(KEY_ENV) or None
        self._secret_key = secret_key or os.environ.get(SECRET_ENV) or None
        self._base_url = base_url or os.environ.get(URL_ENV) or None
        self._feed = DataFeed(feed) if feed else None
        self._adjustment = Adjustment(adjustment)
        self._policy = retry_policy if retry_policy is not None else RetryPolicy()
        self._limiter = (
            rate_limiter if rate_limiter is not None else RateLimiter.every(_DEFAULT_INTERVAL)
        )
        self._sleep = sleep
        self._rng = rng
        self._stock: StockHistoricalDataClient | None = None
        self._crypto: CryptoHistoricalDataClient | None = None

    def fetch_bars(
        self, symbol: str, start: datetime, end: datetime, timeframe: str
    ) -> pd.DataFrame:
        """Bars of ``symbol`` in ``[start, end)``; ``"BASE/QUOTE"`` symbols are crypto."""
        tf = check_timeframe(timeframe, PROVIDER)
        lo, hi = check_range(start, end, PROVIDER)
        symbol = symbol.strip().upper()
        fetch = self._crypto_bars if "/" in symbol else self._stock_bars
        barset = call_with_retry(
            partial(fetch, symbol, lo, hi, tf),
            classify=_classify,
            policy=self._policy,
            sleep=self._sleep,
            rng=self._rng,
            limiter=self._limiter,
        )
        others = sorted(set(barset.data) - {symbol})
        if others:
            raise ProviderError(
                f"{PROVIDER}: asked for {symbol} bars, the response holds bars of "
                f"{', '.join(others)}",
                provider=PROVIDER,
            )
        bars = barset.data.get(symbol, [])
        if not bars:
            return empty_bars(("vwap",))
        return normalize_bars(_frame(bars), lo, hi, tf, source=f"{PROVIDER} {symbol}")

    def _stock_bars(self, symbol: str, lo: pd.Timestamp, hi: pd.Timestamp, tf: Timeframe) -> BarSet:
        request = StockBarsRequest(
            symbol_or_symbols=symbol,
            timeframe=_timeframe(tf),
            start=lo.to_pydatetime(),
            end=hi.to_pydatetime(),
            adjustment=self._adjustment,
            feed=self._feed,
        )
        return _as_barset(self._stock_client().get_stock_bars(request))

    def _crypto_bars(
        self, symbol: str, lo: pd.Timestamp, hi: pd.Timestamp, tf: Timeframe
    ) -> BarSet:
        request = CryptoBarsRequest(
            symbol_or_symbols=symbol,
            timeframe=_timeframe(tf),
            start=lo.to_pydatetime(),
            end=hi.to_pydatetime(),
        )
        return _as_barset(self._crypto_client().get_crypto_bars(request))

    def _stock_client(self) -> StockHistoricalDataClient:
        if self._stock is None:
            if not (self._api_key and self._secret_key):
                raise ProviderAuthError(
                    f"{PROVIDER}: stock data needs an API key pair. {_AUTH_HINT}",
                    provider=PROVIDER,
                )
            self._stock = _StockClient(
                api_key=self._api_key, secret_key=self._secret_key, url_override=self._base_url
            )
            _disable_sdk_retries(self._stock)
        return self._stock

    def _crypto_client(self) -> CryptoHistoricalDataClient:
        if self._crypto is None:
            self._crypto = _CryptoClient(
                api_key=self._api_key, secret_key=self._secret_key, url_override=self._base_url
            )
            _disable_sdk_retries(self._crypto)
        return self._crypto


class _NullBarsAreEmpty(RESTClient):
    """Reads a page's ``"bars": null`` (or a symbol mapped to null) as no bars: alpaca-py's
    pager would fail on it (``None.items()``, ``len(None)``) before any bar is parsed."""

    def get(self, path: str, data: dict[str, Any] | str | None = None, **kwargs: Any) -> HTTPResult:
        response = super().get(path, data, **kwargs)
        if isinstance(response, dict) and "bars" in response:
            bars = response["bars"] or {}
            response["bars"] = {sym: rows or [] for sym, rows in bars.items()}
        return response


class _StockClient(_NullBarsAreEmpty, StockHistoricalDataClient):
    """alpaca-py's stock data client, reading null bars as none."""


class _CryptoClient(_NullBarsAreEmpty, CryptoHistoricalDataClient):
    """alpaca-py's crypto data client, reading null bars as none."""


def _disable_sdk_retries(client: RESTClient) -> None:
    """alpaca-py retries 429/504 itself with a fixed sleep and no Retry-After; its
    constructors do not expose that, so turn it off and let ``call_with_retry`` decide."""
    client._retry = 0


def _timeframe(tf: Timeframe) -> TimeFrame:
    amount, unit = _TIMEFRAMES[tf]
    return TimeFrame(amount, unit)


def _as_barset(result: object) -> BarSet:
    if not isinstance(result, BarSet):
        raise ProviderError(
            f"{PROVIDER}: unexpected response type {type(result).__name__}", provider=PROVIDER
        )
    return result


def _frame(bars: list[Bar]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "vwap": [b.vwap for b in bars],
        },
        index=pd.DatetimeIndex([b.timestamp for b in bars]),
    )


def _classify(exc: Exception) -> ProviderError:
    if isinstance(exc, APIError):
        return _api_error(exc)
    transient = (
        requests.Timeout,
        requests.ConnectionError,
        requests.exceptions.ChunkedEncodingError,
    )
    if isinstance(exc, transient):
        return ProviderUnavailableError(
            f"{PROVIDER}: cannot reach the data API: {exc}", provider=PROVIDER
        )
    return ProviderError(f"{PROVIDER}: {type(exc).__name__}: {exc}", provider=PROVIDER)


def _api_error(exc: APIError) -> ProviderError:
    status = exc.status_code
    if status is None:
        return ProviderError(f"{PROVIDER}: {exc}", provider=PROVIDER)
    response = exc.response
    headers: Mapping[str, str] = response.headers if response is not None else {}
    return error_for_status(
        PROVIDER,
        status,
        _message(str(exc)),
        retry_after=_retry_after(headers, status),
        auth_hint=_AUTH_HINT,
    )


def _message(body: str) -> str:
    """Alpaca's error ``message`` field, or the raw body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return body


def _retry_after(headers: Mapping[str, str], status: int) -> float | None:
    """Retry-After, else on a 429 Alpaca's ``X-RateLimit-Reset`` (epoch seconds) minus now."""
    lowered = {k.lower(): v for k, v in headers.items()}
    delay = parse_retry_after(lowered.get("retry-after"))
    if delay is not None:
        return delay
    reset = lowered.get("x-ratelimit-reset")
    if reset is None or status != 429:
        return None
    try:
        return max(0.0, float(reset) - time.time())
    except ValueError:
        return None
