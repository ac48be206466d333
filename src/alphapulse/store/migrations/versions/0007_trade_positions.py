"""Trades: the symbol's position (flat to flat) each round trip closes part of.

Revision ID: 0007_trade_positions
Revises: 0006_regimes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_trade_positions"
down_revision: str | None = "0006_regimes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("trades", sa.Column("position", sa.Integer()))


def downgrade() -> None:
    op.drop_column("trades", "position")
