"""The compose database role of the app services (``deploy/postgres-init``): run as the
postgres image runs it, against the local server, in a database of its own; the role
migrates and writes the store, and is no superuser and cannot make roles or databases."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql
from sqlalchemy.engine import make_url

from alphapulse.store import open_store
from tests.store.store_helpers import (
    DEFAULT_PG_URL,
    PG_URL_ENV,
    bars_frame,
    libpq_conninfo,
    pg_unreachable,
)

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "postgres-init" / "10-app-role.sh"
pytestmark = pytest.mark.postgres


@pytest.fixture
def app_db() -> Iterator[tuple[str, str]]:
    """(admin URL, name) of a fresh database and of the app role the script makes in it
    (both dropped afterwards)."""
    url = make_url(os.environ.get(PG_URL_ENV, DEFAULT_PG_URL))
    try:
        admin = psycopg.connect(libpq_conninfo(str(url)), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pg_unreachable(str(exc))
        raise AssertionError("unreachable") from exc
    name = f"aprole_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.render_as_string(hide_password=False), name
    finally:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        admin.close()


def test_app_role_migrates_and_writes_without_privileges(app_db: tuple[str, str]) -> None:
    admin_url, name = app_db
    url = make_url(admin_url)
    env = {
        **os.environ,
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_DB": name,
        "APP_DB_USER": name,
        "APP_DB_PASSWORD": "pw'with\"quotes",
    }
    done = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    app_url = url.set(username=name, password="pw'with\"quotes", database=name)
    with open_store(app_url.render_as_string(hide_password=False)) as store:
        assert store.upsert_bars(bars_frame(["AAA"], 5), "1m") == 5
        assert len(store.read_bars("AAA", "1m")) == 5
    app = libpq_conninfo(app_url.render_as_string(hide_password=False))
    with psycopg.connect(app, autocommit=True) as conn:
        flags = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
            (name,),
        ).fetchone()
        assert flags == (False, False, False)
        for stmt in ("CREATE ROLE aprole_intruder", f"CREATE DATABASE {name}_b"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(stmt)
