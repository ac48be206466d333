"""Executions: one row per parent order worked by an execution algorithm.

Revision ID: 0005_executions
Revises: 0004_paper_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import id_type, key_string

revision = "0005_executions"
down_revision: str | None = "0004_paper_sessions"
branch_labels = None
depends_on = None

FLOATS = (
    "duration_s", "fill_ratio", "avg_price", "end_price", "interval_vwap", "slippage_bps",
    "vwap_slippage_bps", "participation", "fees", "spread_cost", "impact_cost", "timing_cost",
    "opportunity_cost", "shortfall", "shortfall_bps",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "executions",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", key_string(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("strategy", key_string(200), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=False),
        sa.Column("symbol", key_string(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("algo", sa.String(16), nullable=False),
        sa.Column("urgency", sa.String(8)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("decision_ts", sa.BigInteger(), nullable=False),
        sa.Column("end_ts", sa.BigInteger()),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("filled", sa.Double(), nullable=False),
        sa.Column("n_children", sa.Integer(), nullable=False),
        sa.Column("arrival_price", sa.Double(), nullable=False),
        *(sa.Column(name, sa.Double()) for name in FLOATS),
        sa.UniqueConstraint("run_id", "strategy", "parent_id"),
    )


def downgrade() -> None:
    op.drop_table("executions")
