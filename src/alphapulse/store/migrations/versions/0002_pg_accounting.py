"""PostgreSQL only: the fill-accounting trigger and ``take_portfolio_snapshot``.

Revision ID: 0002_pg_accounting
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

from alphapulse.store.accounting_sql import (
    APPLY_FILL_FUNCTION_V1,
    APPLY_FILL_TRIGGER_V1,
    DROP_V1,
    SNAPSHOT_FUNCTION_V1,
)

revision = "0002_pg_accounting"
down_revision: str | None = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite books fills in Python (alphapulse.store.accounting)
    op.execute(APPLY_FILL_FUNCTION_V1)
    op.execute(APPLY_FILL_TRIGGER_V1)
    op.execute(SNAPSHOT_FUNCTION_V1)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DROP_V1:
        op.execute(statement)
