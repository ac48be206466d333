"""API test fixtures: an app on a temp SQLite store (and on PostgreSQL for the backend
class), an authenticated client, and one tiny backtest shared by a module's tests.

PostgreSQL comes from ``$ALPHAPULSE_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets a fresh schema,
dropped afterwards. Unreachable: skipped locally, a failure under ``CI=true``.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from alphapulse.api import ApiSettings, create_app

with warnings.catch_warnings():  # starlette suggests httpx2, which is not installed here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "test-token-7d1c2e9f4b-0a8e6b2c5d3f1e7a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PG_URL_ENV = "ALPHAPULSE_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: Sent to a trust-auth server, which ignores it: it must never show up anywhere.
PG_PASSWORD = "pw-must-stay-hidden-31f9"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TINY_RUN: dict[str, Any] = {
    "name": "api-test",
    "data": {
        "source": "sp500_daily_2013_2018",
        "symbols": ["AAPL", "MSFT"],
        "start": "2015-01-01",
        "end": "2015-12-31",
    },
    "initial_cash": 100_000,
    "strategies": [
        {"strategy": "sma_cross", "name": "sma_fast", "params": {"fast": 5, "slow": 20}},
        {"strategy": "buy_and_hold"},
    ],
}


def make_client(url: str, **kwargs: Any) -> TestClient:
    """A client of a new app on ``url`` (use as a context manager: runs the lifespan)."""
    settings = ApiSettings(token=TOKEN, db_url=url, **kwargs)
    return TestClient(create_app(settings))


def wait_finished(client: TestClient, run_ids: list[str], timeout: float = 60) -> list[str]:
    """Poll ``GET /runs/{id}`` until no run is ``running``; the final statuses."""
    deadline = time.monotonic() + timeout
    while True:
        states = [client.get(f"/runs/{rid}", headers=AUTH).json()["status"] for rid in run_ids]
        if "running" not in states or time.monotonic() > deadline:
            return states
        time.sleep(0.05)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.sqlite'}"


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with make_client(sqlite_url, job_mode="thread") as c:
        yield c


# -- PostgreSQL -------------------------------------------------------------------------
def _pg_unreachable(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the test server; its URL carries a (fake) password."""
    base = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    try:
        admin = psycopg.connect(_libpq(base), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _pg_unreachable(f"{make_url(base).render_as_string()}: {exc}")
        raise AssertionError("unreachable") from exc
    schema = f"apitest_{uuid.uuid4().hex[:10]}"
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(base)
    if url.password is None:
        url = url.set(password=PG_PASSWORD)
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
