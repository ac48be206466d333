"""Fixtures of the service tests: a fresh PostgreSQL schema and a unique Redis key
prefix per test (PostgreSQL/Redis skipped when unreachable, except under ``CI=true``)."""

from __future__ import annotations

import pytest

from tests.live.conftest import pg_session
from tests.store.store_helpers import create_schema


@pytest.fixture
def pg_url(pg_session: tuple[str, str]) -> str:
    """URL of a fresh, empty PostgreSQL schema."""
    return create_schema(*pg_session)


from tests.bus.conftest import redis_admin, redis_prefix, redis_url  # noqa: E402

__all__ = ["pg_session", "redis_admin", "redis_prefix", "redis_url"]
