"""Read-side queries of the live views: marked positions, the latest rows of a run's
tables, working orders and the latest equity snapshot (JSON values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Connection, select

from alphapulse.api.queries import json_value
from alphapulse.store import Store
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

OPEN_STATUSES: Final = ("pending", "working", "partially_filled")
#: Newest-first order of each table the live views read.
_NEWEST: Final = {
    "fills": "ts",
    "orders": "order_id",
    "risk_events": "seq",
    "signals": "ts",
    "anomalies": "ts",
    "regimes": "ts",
    "portfolio_snapshots": "ts",
}


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [{k: json_value(k, v) for k, v in r.items()} for r in conn.execute(query).mappings()]


def read_rows(store: Store, query: Any) -> list[dict[str, Any]]:
    """The rows of a select as JSON values (one read transaction)."""
    return run_tx(store.engine, lambda conn: _rows(conn, query), write=False)


def marked_positions(
    store: Store, run_ids: Sequence[str], prices: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Open positions of ``run_ids`` with ``price`` (the last close seen), market value
    and unrealised P&L ((price - average cost) x quantity); None without a price."""
    t = TABLES["positions"]
    query = (
        select(t.c.run_id, t.c.symbol, t.c.quantity, t.c.avg_price, t.c.realized_pnl, t.c.fees)
        .where(t.c.run_id.in_(list(run_ids)), t.c.quantity != 0)
        .order_by(t.c.run_id, t.c.symbol)
    )
    rows = read_rows(store, query)
    for row in rows:
        price = prices.get(row["symbol"])
        qty, avg = float(row["quantity"]), float(row["avg_price"])
        row["price"] = price
        row["market_value"] = None if price is None else price * qty
        row["unrealized_pnl"] = None if price is None else (price - avg) * qty
    return rows


def latest_rows(
    store: Store, table: str, run_ids: Sequence[str], limit: int = 20, **equal: Any
) -> list[dict[str, Any]]:
    """The newest ``limit`` rows of ``table`` over ``run_ids`` (with ``run_id``)."""
    t = TABLES[table]
    where = [t.c.run_id.in_(list(run_ids)), *(t.c[k] == v for k, v in equal.items())]
    query = select(t).where(*where).order_by(t.c[_NEWEST[table]].desc()).limit(limit)
    return read_rows(store, query)


def working_orders(store: Store, run_ids: Sequence[str], limit: int = 50) -> list[dict[str, Any]]:
    """Orders of ``run_ids`` that can still fill, newest first."""
    t = TABLES["orders"]
    query = (
        select(t)
        .where(t.c.run_id.in_(list(run_ids)), t.c.status.in_(OPEN_STATUSES))
        .order_by(t.c.order_id.desc())
        .limit(limit)
    )
    return read_rows(store, query)


DAY_NS: Final = 86_400 * 10**9


def latest_snapshots(store: Store, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each run's latest equity snapshot with ``day_pnl``: equity minus the equity at
    the last snapshot before that (UTC) day."""
    t = TABLES["portfolio_snapshots"]

    def read(conn: Connection) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for rid in run_ids:
            last = (
                conn.execute(select(t).where(t.c.run_id == rid).order_by(t.c.ts.desc()).limit(1))
                .mappings()
                .first()
            )
            if last is None:
                continue
            day = int(last["ts"]) // DAY_NS * DAY_NS
            base = conn.execute(
                select(t.c.equity)
                .where(t.c.run_id == rid, t.c.ts < day)
                .order_by(t.c.ts.desc())
                .limit(1)
            ).first()
            row = {k: json_value(k, v) for k, v in last.items()}
            row["day_pnl"] = None if base is None else float(last["equity"]) - float(base[0])
            out[rid] = row
        return out

    return run_tx(store.engine, read, write=False)
