"""Paper sessions (config hash of each session) and the bus outbox.

Revision ID: 0004_paper_sessions
Revises: 0003_timescaledb
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import UTCDateTime, id_type, json_type, key_string

revision = "0004_paper_sessions"
down_revision: str | None = "0003_timescaledb"
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "paper_sessions",
        sa.Column("session", key_string(200), primary_key=True),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("config", json_type(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    )
    op.create_table(
        "bus_outbox",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column("session", key_string(200), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("published", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.UniqueConstraint("session", "key"),
    )
    op.create_index(
        "ix_bus_outbox_session_published_id", "bus_outbox", ["session", "published", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_bus_outbox_session_published_id", table_name="bus_outbox")
    op.drop_table("bus_outbox")
    op.drop_table("paper_sessions")
