"""Engines and transactions: URL resolution, SQLite pragmas and BEGIN modes, retries.

SQLite runs in WAL mode with a busy timeout; pysqlite's own transaction handling is
switched off so every SQLAlchemy transaction starts with an explicit ``BEGIN IMMEDIATE``
(writers: the write lock is taken up front, so a read-then-write transaction never fails
with SQLITE_BUSY half-way) or ``BEGIN DEFERRED`` (readers: a WAL snapshot, no lock).
PostgreSQL goes through psycopg 3; write transactions that lose a deadlock or a
serialization race are retried.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from alphapulse.core.errors import ConfigError

ENV_URL: Final = "ALPHAPULSE_DB_URL"
DEFAULT_SQLITE_FILE: Final = "alphapulse.sqlite"
BUSY_TIMEOUT_MS: Final = 30_000
#: Execution option read by the SQLite ``begin`` hook: "IMMEDIATE" or "DEFERRED".
BEGIN_OPTION: Final = "alphapulse_sqlite_begin"
_BEGIN_SQL: Final = MappingProxyType({"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN DEFERRED"})
_SQLITE_PRAGMAS: Final = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",  # durable at checkpoints; never corrupts in WAL mode
    "PRAGMA foreign_keys = ON",
    "PRAGMA cache_size = -65536",  # 64 MiB page cache
    "PRAGMA temp_store = MEMORY",
    "PRAGMA mmap_size = 268435456",
)
#: SQLSTATEs worth retrying: deadlock_detected, serialization_failure.
_RETRY_SQLSTATES: Final = frozenset({"40P01", "40001"})
#: SQLSTATE lock_not_available (lock_timeout) and SQLite's "database is locked".
_LOCK_SQLSTATES: Final = frozenset({"55P03"})

T = TypeVar("T")


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url``, else ``$ALPHAPULSE_DB_URL``, else ``./alphapulse.sqlite``.

    A bare path means a SQLite file; ``postgresql://`` is routed to psycopg 3.
    """
    if url is None:
        url = os.environ.get(ENV_URL) or DEFAULT_SQLITE_FILE
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_store_engine(url: str) -> Engine:
    """A SQLAlchemy engine for a SQLite file or a PostgreSQL database (psycopg 3)."""
    sa_url = make_url(resolve_url(url))
    backend = sa_url.get_backend_name()
    if backend == "sqlite":
        memory = sa_url.database in (None, "", ":memory:")
        engine = create_engine(
            sa_url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            poolclass=StaticPool if memory else None,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        if sa_url.get_driver_name() != "psycopg":
            raise ConfigError(
                f"PostgreSQL URLs must use psycopg 3 (postgresql+psycopg://), got {url}"
            )
        return create_engine(sa_url, pool_pre_ping=True)
    raise ConfigError(f"unsupported database backend {backend!r}; use sqlite or postgresql")


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_on_begin)
    for pragma in _SQLITE_PRAGMAS:
        dbapi_conn.execute(pragma)


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
    conn.exec_driver_sql(_BEGIN_SQL[mode])


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    """Whether the connection or engine talks to PostgreSQL."""
    return conn_or_engine.dialect.name == "postgresql"


def driver_connection(conn: Connection) -> Any:
    """The DBAPI driver connection (``sqlite3.Connection`` or ``psycopg.Connection``)
    behind ``conn``, sharing its transaction."""
    return conn.connection.driver_connection


def run_tx(
    engine: Engine,
    fn: Callable[[Connection], T],
    *,
    write: bool = True,
    attempts: int = 5,
    lock_wait_ms: int | None = None,
) -> T:
    """Run ``fn`` in one transaction and commit; retry on deadlock/serialization failure.

    ``write=False`` gives a consistent read snapshot: SQLite ``BEGIN DEFERRED`` (WAL),
    PostgreSQL ``REPEATABLE READ``. ``lock_wait_ms`` caps how long the transaction waits
    for locks (SQLite busy timeout, PostgreSQL ``lock_timeout``). ``fn`` must be safe to
    re-run when ``attempts > 1``.
    """
    for attempt in range(attempts):
        try:
            with engine.connect() as conn, _sqlite_busy_wait(conn, lock_wait_ms):
                _set_mode(conn, write)
                with conn.begin():
                    if lock_wait_ms is not None and is_postgres(conn):
                        conn.execute(
                            text("SELECT set_config('lock_timeout', :value, true)"),
                            {"value": f"{int(lock_wait_ms)}ms"},
                        )
                    return fn(conn)
        except DBAPIError as exc:
            if attempt + 1 >= attempts or sqlstate(exc) not in _RETRY_SQLSTATES:
                raise
            time.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _sqlite_busy_wait(conn: Connection, wait_ms: int | None) -> Iterator[None]:
    """Temporarily shorten SQLite's busy timeout (set before BEGIN IMMEDIATE runs)."""
    if wait_ms is None or conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _set_mode(conn: Connection, write: bool) -> None:
    if conn.dialect.name == "sqlite":
        conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE" if write else "DEFERRED"})
    elif not write:
        conn.execution_options(isolation_level="REPEATABLE READ")


def sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of a wrapped driver error, when the driver reports one."""
    return getattr(exc.orig, "sqlstate", None)


def is_lock_timeout(exc: DBAPIError) -> bool:
    """Whether ``exc`` means "could not get a lock in time" on either backend."""
    if sqlstate(exc) in _LOCK_SQLSTATES:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text
