"""Alpaca news client against recorded ``/v1beta1/news`` pages served on localhost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from tests.data.providers.conftest import FakeClock, RecordedServer

from alphapulse.data.providers.errors import ProviderAuthError
from alphapulse.data.providers.retry import RateLimiter, RetryPolicy
from alphapulse.news.alpaca_news import AlpacaNewsSource

NEWS = "/v1beta1/news"
CASSETTE = json.loads((Path(__file__).parent / "fixtures/alpaca_news_MSFT_TSLA.json").read_text())
PAGES = [i["response"]["body"] for i in CASSETTE["interactions"]]
TOKEN = PAGES[0]["next_page_token"]


@pytest.fixture
def server() -> Iterator[RecordedServer]:
    srv = RecordedServer().start()
    yield srv
    srv.stop()


def source(server: RecordedServer, sleeps: list[float], clock: FakeClock) -> AlpacaNewsSource:
    return AlpacaNewsSource(
        api_key="PKTEST",
        secret_key="secret",
        base_url=server.url,
        retry_policy=RetryPolicy(max_attempts=3, base_delay=0.5, jitter=0.0),
        rate_limiter=RateLimiter.every(0.25, clock=clock, sleep=clock.sleep),
        sleep=sleeps.append,
    )


def serve_pages(server: RecordedServer) -> None:
    server.inject(NEWS, (200, PAGES[0]))
    server.inject(NEWS, (200, PAGES[1]), where={"page_token": TOKEN})


def test_pages_are_followed_and_items_normalised(server: RecordedServer) -> None:
    serve_pages(server)
    clock, sleeps = FakeClock(), []
    table = source(server, sleeps, clock).fetch(
        ["msft", "TSLA"], datetime(2022, 1, 1), datetime(2022, 2, 1)
    )
    assert table["symbol"].tolist() == ["TSLA", "MSFT", "TSLA"]  # ATVI and F not asked for
    assert table["source"].tolist() == ["benzinga", "benzinga", "reuters"]
    first = table.iloc[0]
    assert first["published_at"] == pd.Timestamp("2022-01-02 14:31:09", tz="UTC")
    assert first["known_at"] == first["published_at"]
    assert table["known_at"].is_monotonic_increasing
    seen = server.requests_to(NEWS)
    assert [r.query.get("page_token") for r in seen] == [None, TOKEN]
    assert (
        seen[0].query["symbols"] == "MSFT,TSLA" and seen[0].headers["APCA-API-KEY-ID"] == "PKTEST"
    )
    assert sleeps == [] and clock.sleeps == []
    serve_pages(server)
    source_again = source(server, sleeps, clock)
    source_again._limiter = src_limiter = RateLimiter.every(0.25, clock=clock, sleep=clock.sleep)
    src_limiter.acquire()
    source_again.fetch(["TSLA"])
    assert clock.sleeps == [0.25]  # a second call right away waits for the rate limiter


def test_429_is_retried_after_retry_after(server: RecordedServer) -> None:
    server.inject(NEWS, (429, {"message": "too many requests"}, {"Retry-After": "2"}))
    serve_pages(server)
    sleeps: list[float] = []
    table = source(server, sleeps, FakeClock()).fetch(["TSLA"])
    assert sleeps == [2.0] and len(table) == 2


def test_min_delay_moves_known_at(server: RecordedServer) -> None:
    serve_pages(server)
    src = source(server, [], FakeClock())
    src._min_delay = pd.Timedelta(minutes=5)
    table = src.fetch(["MSFT"])
    assert (table["known_at"] - table["published_at"]).tolist() == [pd.Timedelta(minutes=5)]


def test_auth_error_is_not_retried(server: RecordedServer) -> None:
    server.inject(NEWS, (403, {"message": "forbidden"}))
    sleeps: list[float] = []
    with pytest.raises(ProviderAuthError, match="HTTP 403"):
        source(server, sleeps, FakeClock()).fetch(["TSLA"])
    assert sleeps == [] and len(server.requests_to(NEWS)) == 1
