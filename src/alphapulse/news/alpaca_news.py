"""Alpaca news (Benzinga feed) through alpaca-py's ``NewsClient``, with the providers'
retry policy and rate limiter. Each article becomes one item per requested symbol it
mentions, known at ``created_at`` (+ ``min_delay``), its ``source`` kept for credibility."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from datetime import datetime
from functools import partial

import pandas as pd
from alpaca.data.historical.news import NewsClient
from alpaca.data.models.news import NewsSet
from alpaca.data.requests import NewsRequest

from alphapulse.data.providers.alpaca_client import (
    _DEFAULT_INTERVAL,
    KEY_ENV,
    SECRET_ENV,
    URL_ENV,
    _classify,
    _disable_sdk_retries,
)
from alphapulse.data.providers.errors import ProviderError
from alphapulse.data.providers.retry import RateLimiter, RetryPolicy, Sleep, call_with_retry
from alphapulse.news import items


class AlpacaNewsSource:
    """Historical news of some symbols from Alpaca's ``/v1beta1/news`` endpoint."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        secret_key: str | None = None,
        base_url: str | None = None,
        min_delay: pd.Timedelta | None = None,
        retry_policy: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = NewsClient(
            api_key=api_key or os.environ.get(KEY_ENV) or None,
            secret_key=secret_key or os.environ.get(SECRET_ENV) or None,
            url_override=base_url or os.environ.get(URL_ENV) or None,
        )
        _disable_sdk_retries(self._client)
        self._min_delay = min_delay
        self._policy = retry_policy if retry_policy is not None else RetryPolicy()
        self._limiter = rate_limiter or RateLimiter.every(_DEFAULT_INTERVAL)
        self._sleep = sleep
        self._rng = rng

    def fetch(
        self, symbols: Sequence[str], start: datetime | None = None, end: datetime | None = None
    ) -> pd.DataFrame:
        wanted = [s.strip().upper() for s in symbols]
        request = NewsRequest(start=start, end=end, symbols=",".join(wanted), sort="asc")
        result = call_with_retry(
            partial(self._client.get_news, request),
            classify=_classify,
            policy=self._policy,
            sleep=self._sleep,
            rng=self._rng,
            limiter=self._limiter,
        )
        if not isinstance(result, NewsSet):
            raise ProviderError(
                f"alpaca news: unexpected {type(result).__name__}", provider="alpaca"
            )
        rows = [
            {
                "id": f"{a.id}:{sym}",
                "symbol": sym,
                "headline": a.headline,
                "source": a.source,
                "published_at": a.created_at,
            }
            for a in result.data.get("news", [])
            for sym in a.symbols
            if sym in wanted and a.headline.strip()
        ]
        if not rows:
            return items.empty()
        return items.normalize(pd.DataFrame(rows), min_delay=self._min_delay)
