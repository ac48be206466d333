"""Alembic environment: migrate the connection the store hands over, or a URL.

All pending revisions run in one transaction. On PostgreSQL an advisory lock serialises
concurrent migrators; on SQLite the write transaction (``BEGIN IMMEDIATE``) does.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Final

from alembic import context
from sqlalchemy import Connection, text

from alphapulse.store.engine import create_store_engine, resolve_url
from alphapulse.store.schema import Base

MIGRATION_LOCK_KEY: Final = 0x414C5048  # "ALPH"


def _migrate(connection: Connection) -> None:
    # Our own transaction around the version check and every revision: without one,
    # Alembic runs SQLite's revisions one transaction each (no transactional DDL there),
    # so a concurrent migrator could run the same revision between two of them.
    outer = nullcontext() if connection.in_transaction() else connection.begin()
    with outer:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (--sql) migrations are not supported; give a database URL")
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    engine = create_store_engine(resolve_url(url or config.get_main_option("sqlalchemy.url")))
    try:
        with engine.connect() as conn:
            _migrate(conn)
    finally:
        engine.dispose()


_main()
