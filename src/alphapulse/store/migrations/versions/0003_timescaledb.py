"""PostgreSQL only: make ``bars`` a TimescaleDB hypertable when the extension exists.

Skipped cleanly (a log line, no error) when TimescaleDB is not installed on the server or
cannot be created. The time dimension is the BIGINT ``ts`` (ns) in 7-day chunks.

Revision ID: 0003_timescaledb
Revises: 0002_pg_accounting
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "0003_timescaledb"
down_revision: str | None = "0002_pg_accounting"
branch_labels = None
depends_on = None

log = logging.getLogger("alphapulse.store.migrations")
CHUNK_NS = 7 * 24 * 3600 * 1_000_000_000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).scalar()
    if not available:
        log.info("TimescaleDB is not available on this server; bars stay a plain table")
        return
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    except DBAPIError as exc:
        log.warning("TimescaleDB could not be enabled (%s); bars stay a plain table", exc.orig)
        return
    schema = bind.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'timescaledb'"
        )
    ).scalar_one()
    create = bind.dialect.identifier_preparer.quote_schema(schema) + ".create_hypertable"
    bind.execute(
        text(
            f"SELECT {create}(CAST(:tbl AS regclass), CAST(:col AS name),"
            " chunk_time_interval => CAST(:chunk AS bigint),"
            " migrate_data => true, if_not_exists => true)"
        ),
        {"tbl": "bars", "col": "ts", "chunk": CHUNK_NS},
    )
    log.info("bars is a TimescaleDB hypertable")


def downgrade() -> None:
    """Nothing to undo: a hypertable is dropped with ``bars`` by 0001's downgrade."""
