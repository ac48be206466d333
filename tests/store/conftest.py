"""Store test fixtures: every ``store`` test runs on SQLite (a temp file) and PostgreSQL.

PostgreSQL comes from ``$ALPHAPULSE_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Schemas are named with a
session-unique prefix and all dropped at the end of the session: ``store`` shares one
migrated schema, emptied before each test; ``store_url``/``pg_url`` give a
fresh empty schema for tests of migrations and of several processes. When the server
cannot be reached the PostgreSQL tests are skipped, except under ``CI=true``, where they
fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import DEFAULT_PG_URL, PG_URL_ENV, create_schema, session_schemas

from alphapulse.store import Store, open_store
from alphapulse.store.schema import Base

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_session() -> Iterator[tuple[str, str]]:
    """``(database URL, schema prefix)`` of this test session."""
    yield from session_schemas(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))


@pytest.fixture
def pg_url(pg_session: tuple[str, str]) -> str:
    """URL of a fresh, empty PostgreSQL schema."""
    return create_schema(*pg_session)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def pg_shared_store(pg_session: tuple[str, str]) -> Iterator[Store]:
    """One migrated PostgreSQL store for the session (see ``store``)."""
    with open_store(create_schema(*pg_session)) as s:
        yield s


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store on each backend."""
    if request.param == "sqlite":
        with open_store(f"sqlite:///{tmp_path / 'store.sqlite'}") as s:
            yield s
        return
    shared: Store = request.getfixturevalue("pg_shared_store")
    with shared.engine.begin() as conn:  # DELETE beats TRUNCATE on tiny tables
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield shared
