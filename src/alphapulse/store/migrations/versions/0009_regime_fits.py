"""Regime fits: each model a paper strategy's HMM swapped in (data bar, first-used bar).

Revision ID: 0009_regime_fits
Revises: 0008_strategy_switches
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import id_type, key_string

revision = "0009_regime_fits"
down_revision: str | None = "0008_strategy_switches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regime_fits",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", key_string(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("strategy", key_string(200), nullable=False),
        sa.Column("data_until", sa.BigInteger(), nullable=False),
        sa.Column("used_from", sa.BigInteger(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.UniqueConstraint("run_id", "strategy", "data_until"),
    )


def downgrade() -> None:
    op.drop_table("regime_fits")
