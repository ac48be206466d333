"""Fixtures of the paper-trading tests: databases on SQLite and PostgreSQL under the
store tests' rules (PostgreSQL skipped when unreachable, except under ``CI=true``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.store_helpers import DEFAULT_PG_URL, PG_URL_ENV, create_schema, session_schemas

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_session() -> Iterator[tuple[str, str]]:
    yield from session_schemas(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'paper.sqlite'}"
    return create_schema(*request.getfixturevalue("pg_session"))


from tests.bus.conftest import make_redis_bus, redis_admin, redis_prefix, redis_url  # noqa: E402

__all__ = ["make_redis_bus", "redis_admin", "redis_prefix", "redis_url"]
