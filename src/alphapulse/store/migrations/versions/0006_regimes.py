"""Regimes: a strategy's regime per bar of a run (label, probabilities, bars since).

Revision ID: 0006_regimes
Revises: 0005_executions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import id_type, json_type, key_string

revision = "0006_regimes"
down_revision: str | None = "0005_executions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regimes",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", key_string(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("strategy", key_string(200), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("symbol", key_string(32), nullable=False),
        sa.Column("regime", sa.String(32), nullable=False),
        sa.Column("probabilities", json_type()),
        sa.Column("bars_since_change", sa.Integer(), nullable=False),
        sa.UniqueConstraint("run_id", "strategy", "ts", "symbol"),
    )


def downgrade() -> None:
    op.drop_table("regimes")
