"""Crypto exchange bars through the official ``ccxt`` library (``fetch_ohlcv``).

Pages are fetched by ``since`` + ``limit`` until ``end``; each page is one retried call,
spaced by a rate limiter that defaults to the exchange's ``rateLimit`` (ccxt's own
``enableRateLimit`` throttle stays on too). Symbols are ccxt unified (``"BTC/USDT"``).
Optional credentials come from the arguments or ``<EXCHANGE>_API_KEY`` /
``<EXCHANGE>_API_SECRET`` (e.g. ``BINANCE_API_KEY``). ``base_url`` replaces the origin
of every URL in ``exchange.urls['api']``, keeping each path.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import ccxt
import pandas as pd
import requests

from alphapulse.core.errors import ConfigError
from alphapulse.data.providers.base import (
    check_range,
    check_timeframe,
    empty_bars,
    normalize_bars,
)
from alphapulse.data.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitError,
    ProviderUnavailableError,
)
from alphapulse.data.providers.retry import (
    RateLimiter,
    RetryPolicy,
    Sleep,
    call_with_retry,
    retry_after_from_headers,
)

PROVIDER: Final = "ccxt"
_COLUMNS: Final = ("open", "high", "low", "close", "volume")


class _LastResponse:
    """``requests`` response hook remembering the last status and headers per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._local.status = response.status_code
        self._local.headers = dict(response.headers)

    def clear(self) -> None:
        self._local.status = None
        self._local.headers = None

    @property
    def status(self) -> int | None:
        status: int | None = getattr(self._local, "status", None)
        return status

    @property
    def headers(self) -> dict[str, str] | None:
        headers: dict[str, str] | None = getattr(self._local, "headers", None)
        return headers


class CCXTProvider:
    """Historical OHLCV bars from any ccxt exchange (Binance by default)."""

    name: Final = PROVIDER

    def __init__(
        self,
        exchange: str = "binance",
        *,
        api_key: str | None = None,
        secret: str | None = None,
        base_url: str | None = None,
        page_limit: int = 1000,
        enable_rate_limit: bool = True,
        timeout_ms: int = 30_000,
        options: Mapping[str, Any] | None = None,
        retry_policy: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if exchange not in ccxt.exchanges:
            raise ConfigError(f"{PROVIDER}: unknown exchange {exchange!r}")
        if page_limit < 1:
            raise ConfigError(f"{PROVIDER}: page_limit must be positive, got {page_limit}")
        self.exchange_id = exchange
        env = exchange.upper()
        self._key_env, self._secret_env = f"{env}_API_KEY", f"{env}_API_SECRET"
        config: dict[str, Any] = {
            "enableRateLimit": enable_rate_limit,
            "timeout": timeout_ms,
            "enableLastJsonResponse": True,  # to tell a body that is not JSON from []
        }
        key = api_key or os.environ.get(self._key_env)
        secret_value = secret or os.environ.get(self._secret_env)
        if key and secret_value:
            config.update(apiKey=key, secret=secret_value)
        if options:
            config["options"] = dict(options)
        self.exchange: Any = getattr(ccxt, exchange)(config)
        if base_url:
            self.exchange.urls = {
                **self.exchange.urls,
                "api": _rebase(self.exchange.urls["api"], base_url),
            }
        self._last = _LastResponse()
        self.exchange.session.hooks["response"].append(self._last)
        self._page_limit = page_limit
        self._policy = retry_policy if retry_policy is not None else RetryPolicy()
        self._limiter = (
            rate_limiter
            if rate_limiter is not None
            else RateLimiter.every(max(self.exchange.rateLimit, 1) / 1000.0)
        )
        self._sleep = sleep
        self._rng = rng

    def fetch_bars(
        self, symbol: str, start: datetime, end: datetime, timeframe: str
    ) -> pd.DataFrame:
        """Bars of ``symbol`` in ``[start, end)``, paging by ``since`` until ``end``."""
        tf = check_timeframe(timeframe, PROVIDER)
        lo, hi = check_range(start, end, PROVIDER)
        self._retrying(self.exchange.load_markets)
        if not self.exchange.has.get("fetchOHLCV"):
            raise ConfigError(f"{PROVIDER}: {self.exchange_id} does not offer OHLCV history")
        timeframes = self.exchange.timeframes or {}
        if tf not in timeframes:
            raise ConfigError(f"{PROVIDER}: {self.exchange_id} has no {tf!r} candles")
        step = int(self.exchange.parse_timeframe(tf) * 1000)
        since, end_ms = _ms(lo), _ms(hi)
        rows: list[list[Any]] = []
        while since < end_ms:
            limit = min(self._page_limit, math.ceil((end_ms - since) / step))
            page = self._retrying(partial(self.exchange.fetch_ohlcv, symbol, tf, since, limit))
            self._check_page(since)
            if not page:
                break
            rows.extend(page)
            last = int(page[-1][0])
            if last < since:
                break
            since = last + step
        if not rows:
            return empty_bars()
        frame = pd.DataFrame(
            [row[1:6] for row in rows],
            columns=list(_COLUMNS),
            index=pd.to_datetime([int(row[0]) for row in rows], unit="ms", utc=True),
        )
        return normalize_bars(frame, lo, hi, tf, source=f"{PROVIDER}/{self.exchange_id} {symbol}")

    def _check_page(self, since: int) -> None:
        """Refuse a page whose body was not JSON: ccxt reads it as no candles."""
        body = self.exchange.last_http_response
        if self.exchange.last_json_response is None and isinstance(body, str) and body.strip():
            page = pd.Timestamp(since, unit="ms", tz="UTC").isoformat()
            raise ProviderError(
                f"{PROVIDER}/{self.exchange_id}: malformed OHLCV response to the page from "
                f"{page}: the body is not JSON: {body[:80]!r}",
                provider=PROVIDER,
            )

    def _retrying(self, fn: Any) -> Any:
        def attempt() -> Any:
            self._last.clear()
            return fn()

        return call_with_retry(
            attempt,
            classify=self._classify,
            policy=self._policy,
            sleep=self._sleep,
            rng=self._rng,
            limiter=self._limiter,
        )

    def _classify(self, exc: Exception) -> ProviderError:
        status = self._last.status
        retry_after = retry_after_from_headers(self._last.headers)
        where = f"{PROVIDER}/{self.exchange_id}"
        if isinstance(exc, ccxt.AuthenticationError):
            return ProviderAuthError(
                f"{where} rejected the credentials: {exc}. Set {self._key_env} and "
                f"{self._secret_env} (or pass api_key= and secret=); public candles need no key.",
                provider=PROVIDER,
                status=status,
            )
        if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
            return ProviderRateLimitError(
                f"{where} rate limit exceeded (HTTP {status}): {exc}",
                provider=PROVIDER,
                status=status,
                retry_after=retry_after,
            )
        transient_status = status is not None and (status == 408 or status >= 500)
        if transient_status or (isinstance(exc, ccxt.NetworkError) and status is None):
            return ProviderUnavailableError(
                f"{where} unavailable: {exc}",
                provider=PROVIDER,
                status=status,
                retry_after=retry_after,
            )
        return ProviderError(
            f"{where}: {type(exc).__name__}: {exc}", provider=PROVIDER, status=status
        )


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def _rebase(api: Any, base_url: str) -> Any:
    """Every URL in ccxt's ``urls['api']`` structure with its origin replaced."""
    if isinstance(api, str):
        parts, base = urlsplit(api), urlsplit(base_url)
        path = base.path.rstrip("/") + parts.path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))
    if isinstance(api, dict):
        return {key: _rebase(value, base_url) for key, value in api.items()}
    return api
