"""Initial schema: reference data, bars and their read cache, imports, runs and outputs.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import UTCDateTime, id_type, json_type, key_string

revision = "0001_initial"
down_revision: str | None = None
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP")


def _symbol(name: str = "symbol", nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, key_string(32), nullable=nullable)


def _run_id() -> sa.Column[str]:
    return sa.Column(
        "run_id", key_string(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
    )


def _id() -> sa.Column[int]:
    return sa.Column("id", id_type(), primary_key=True, autoincrement=True)


def _f(name: str, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Double(), nullable=nullable)


def _i(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("symbol", key_string(32), primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("asset_class", sa.String(32)),
        sa.Column("exchange", sa.String(32)),
        sa.Column("currency", sa.String(8)),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
    )
    op.create_table(
        "bars",
        _symbol(),
        sa.Column("timeframe", key_string(8), nullable=False),
        _i("ts"),
        _f("open"),
        _f("high"),
        _f("low"),
        _f("close"),
        _f("volume"),
        _f("vwap", nullable=True),
        _i("trade_count", nullable=True),
        sa.PrimaryKeyConstraint("symbol", "timeframe", "ts"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "bar_series",
        sa.Column("symbol", key_string(32), sa.ForeignKey("instruments.symbol"), nullable=False),
        sa.Column("timeframe", key_string(8), nullable=False),
        _i("timeframe_ns"),
        _i("first_ts"),
        _i("last_ts"),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("symbol", "timeframe"),
    )
    op.create_table(
        "bar_blocks",
        _symbol(),
        sa.Column("timeframe", key_string(8), nullable=False),
        _i("block_start"),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("flags", sa.SmallInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "timeframe", "block_start"),
        sa.ForeignKeyConstraint(
            ["symbol", "timeframe"],
            ["bar_series.symbol", "bar_series.timeframe"],
            ondelete="CASCADE",
        ),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        # Packed float arrays do not compress; store them out of line without trying.
        op.execute("ALTER TABLE bar_blocks ALTER COLUMN payload SET STORAGE EXTERNAL")
    op.create_table(
        "imports",
        sa.Column("import_id", key_string(64), primary_key=True),
        sa.Column("source", sa.String(200)),
        sa.Column("path", sa.Text()),
        sa.Column("timeframe", key_string(8)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_written", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("symbols", json_type()),
        sa.Column("detail", json_type()),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'partial')", name="status"
        ),
    )
    op.create_table(
        "corporate_actions",
        _id(),
        sa.Column("symbol", key_string(32), sa.ForeignKey("instruments.symbol"), nullable=False),
        sa.Column("ex_date", sa.Date(), nullable=False),
        sa.Column("action", key_string(32), nullable=False),
        _f("value"),
        sa.Column("currency", sa.String(8)),
        sa.Column("record_date", sa.Date()),
        sa.Column("pay_date", sa.Date()),
        sa.Column("source", sa.String(64)),
        sa.Column("import_id", key_string(64), sa.ForeignKey("imports.import_id")),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.UniqueConstraint("symbol", "ex_date", "action"),
    )
    op.create_table(
        "quarantine",
        _id(),
        sa.Column("import_id", key_string(64), sa.ForeignKey("imports.import_id"), nullable=False),
        sa.Column("file", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("row", sa.BigInteger(), server_default=sa.text("-1"), nullable=False),
        sa.Column("rule", key_string(64), nullable=False),
        sa.Column("field", key_string(64), server_default=sa.text("''"), nullable=False),
        sa.Column("value", sa.Text()),
        sa.Column("reason", sa.Text(), nullable=False),
        _symbol(nullable=True),
        _i("ts", nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=NOW, nullable=False),
        sa.UniqueConstraint("import_id", "file", "row", "rule", "field"),
    )
    op.create_table(
        "runs",
        sa.Column("id", key_string(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("config", json_type()),
        sa.Column("code_version", sa.String(64)),
        sa.Column("data_hash", sa.String(128)),
        sa.Column("status", sa.String(16), nullable=False),
        _f("initial_cash", nullable=True),
        sa.Column("metrics", json_type()),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'failed', 'cancelled')", name="status"
        ),
    )
    op.create_table(
        "portfolio_cash",
        sa.Column(
            "run_id", key_string(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        _f("initial_cash"),
        _f("cash"),
        _f("fees"),
        _i("n_fills"),
        _i("last_fill_ts", nullable=True),
    )
    op.create_table(
        "positions",
        _run_id(),
        _symbol(),
        _f("quantity"),
        _f("avg_price"),
        _f("realized_pnl"),
        _f("fees"),
        _i("last_fill_ts", nullable=True),
        sa.PrimaryKeyConstraint("run_id", "symbol"),
    )
    op.create_table(
        "orders",
        _id(),
        _run_id(),
        _i("order_id"),
        _i("created_ts", nullable=True),
        _symbol(),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("type", sa.String(16)),
        _f("quantity", nullable=True),
        _f("notional", nullable=True),
        _f("limit_price", nullable=True),
        _f("stop_price", nullable=True),
        sa.Column("tif", sa.String(8)),
        sa.Column("status", sa.String(20)),
        _f("filled_qty", nullable=True),
        _f("avg_fill_price", nullable=True),
        _i("parent_id", nullable=True),
        sa.Column("tag", sa.String(64)),
        sa.Column("reason", sa.Text()),
        sa.UniqueConstraint("run_id", "order_id"),
        sa.CheckConstraint("side IN ('buy', 'sell')", name="side"),
    )
    op.create_table(
        "fills",
        _id(),
        _run_id(),
        sa.Column("fill_key", key_string(128), nullable=False),
        _i("order_id", nullable=True),
        _i("ts"),
        _symbol(),
        sa.Column("side", sa.String(4), nullable=False),
        _f("quantity"),
        _f("price"),
        _f("fee"),
        _f("slippage"),
        sa.Column("liquidity", sa.String(8)),
        sa.Column("tag", sa.String(64)),
        sa.UniqueConstraint("run_id", "fill_key"),
        sa.CheckConstraint("side IN ('buy', 'sell')", name="side"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("price > 0", name="price_positive"),
    )
    op.create_table(
        "trades",
        _id(),
        _run_id(),
        sa.Column("trade_no", sa.Integer(), nullable=False),
        _symbol(),
        sa.Column("side", sa.String(8), nullable=False),
        _i("entry_ts"),
        _f("entry_price"),
        _i("exit_ts"),
        _f("exit_price"),
        _f("quantity"),
        _f("pnl"),
        _f("fees", nullable=True),
        _f("return_pct", nullable=True),
        sa.Column("bars_held", sa.Integer()),
        sa.UniqueConstraint("run_id", "trade_no"),
    )
    op.create_table(
        "portfolio_snapshots",
        _run_id(),
        _i("ts"),
        _f("cash"),
        _f("market_value"),
        _f("equity"),
        _f("gross_exposure", nullable=True),
        _f("net_exposure", nullable=True),
        sa.PrimaryKeyConstraint("run_id", "ts"),
    )
    op.create_table(
        "signals",
        _id(),
        _run_id(),
        _i("ts"),
        _symbol(),
        sa.Column("name", key_string(64), nullable=False),
        _f("value", nullable=True),
        sa.UniqueConstraint("run_id", "ts", "symbol", "name"),
    )
    op.create_table(
        "predictions",
        _id(),
        _run_id(),
        _i("ts"),
        _symbol(),
        sa.Column("model", key_string(64), nullable=False),
        _f("value", nullable=True),
        _f("confidence", nullable=True),
        sa.UniqueConstraint("run_id", "ts", "symbol", "model"),
    )
    op.create_table(
        "anomalies",
        _id(),
        _run_id(),
        _i("ts"),
        sa.Column("symbol", key_string(32), server_default=sa.text("''"), nullable=False),
        sa.Column("kind", key_string(64), nullable=False),
        _f("score", nullable=True),
        sa.Column("detail", json_type()),
        sa.UniqueConstraint("run_id", "ts", "symbol", "kind"),
    )
    op.create_table(
        "risk_events",
        _id(),
        _run_id(),
        sa.Column("seq", sa.Integer(), nullable=False),
        _i("ts"),
        sa.Column("kind", key_string(64), nullable=False),
        _symbol(nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text()),
        _f("value", nullable=True),
        sa.Column("detail", json_type()),
        sa.UniqueConstraint("run_id", "seq"),
    )


def downgrade() -> None:
    for table in (
        "risk_events",
        "anomalies",
        "predictions",
        "signals",
        "portfolio_snapshots",
        "trades",
        "fills",
        "orders",
        "positions",
        "portfolio_cash",
        "runs",
        "quarantine",
        "corporate_actions",
        "imports",
        "bar_blocks",
        "bar_series",
        "bars",
        "instruments",
    ):
        op.drop_table(table)
