"""Failed regime fits: a background HMM fit that raised is journaled too (``failed``).

Revision ID: 0010_failed_fits
Revises: 0009_regime_fits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_failed_fits"
down_revision: str | None = "0009_regime_fits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "regime_fits",
        sa.Column("failed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("regime_fits") as batch:
        batch.drop_column("failed")
