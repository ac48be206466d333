"""Strategy switches: a paper strategy switched off or on, at the bar it took effect.

Revision ID: 0008_strategy_switches
Revises: 0007_trade_positions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import id_type, key_string

revision = "0008_strategy_switches"
down_revision: str | None = "0007_trade_positions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "strategy_switches",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", key_string(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("run_id", "ts"),
    )


def downgrade() -> None:
    op.drop_table("strategy_switches")
