"""Bus test fixtures. Redis comes from ``$ALPHAPULSE_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``); every test gets its own key prefix and its keys are
deleted afterwards. When the server cannot be reached the Redis tests are skipped,
except under ``CI=true``, where they fail."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from alphapulse.bus import Bus, InProcessBus, RedisStreamsBus

REDIS_URL_ENV = "ALPHAPULSE_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test server's URL; skips (fails under ``CI=true``) when it is unreachable."""
    url = os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        if _under_ci():
            pytest.fail(f"Redis is required under CI=true: {url}: {exc}", pytrace=False)
        pytest.skip(f"Redis not available at {url}: {exc}")
    return url


@pytest.fixture
def redis_admin(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the test server."""
    with redis.Redis.from_url(redis_url) as client:
        yield client


@pytest.fixture
def redis_prefix(redis_admin: redis.Redis) -> Iterator[str]:
    """A key prefix unique to this test; its keys are deleted afterwards."""
    prefix = f"aptest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = list(redis_admin.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis_admin.delete(*keys)


@pytest.fixture
def make_redis_bus(redis_url: str, redis_prefix: str) -> Iterator[Callable[..., RedisStreamsBus]]:
    """A factory of ``RedisStreamsBus`` under this test's prefix (closed afterwards)."""
    made: list[RedisStreamsBus] = []

    def make(**options: Any) -> RedisStreamsBus:
        bus = RedisStreamsBus(redis_url, prefix=redis_prefix, **options)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        bus.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def any_bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    """Each implementation in turn."""
    if request.param == "memory":
        with InProcessBus() as bus:
            yield bus
        return
    yield request.getfixturevalue("make_redis_bus")()
