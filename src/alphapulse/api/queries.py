"""Read-side queries for the API: paginated run lists and run-scoped tables as JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import Connection, func, select

from alphapulse.api.security import redact
from alphapulse.store import Store
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

#: Public endpoint name -> store table.
RUN_TABLE_ROUTES: Final = {
    "orders": "orders",
    "fills": "fills",
    "trades": "trades",
    "positions": "positions",
    "portfolio": "portfolio_snapshots",
    "signals": "signals",
    "risk-events": "risk_events",
}
_RUN_FIELDS: Final = (
    "id", "name", "status", "code_version", "data_hash", "initial_cash", "started_at",
    "finished_at",
)  # fmt: skip


def json_value(column: str, value: Any) -> Any:
    """A stored value as JSON: ns timestamps (``ts``, ``*_ts``) as ISO-8601 UTC strings,
    non-finite floats as null, datetimes as ISO strings."""
    if value is None:
        return None
    if (column == "ts" or column.endswith("_ts")) and isinstance(value, int):
        return datetime.fromtimestamp(value / 1e9, UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def run_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run's public fields (no config or metrics; the error of a failed run)."""
    out = {k: json_value(k, row.get(k)) for k in _RUN_FIELDS}
    metrics = row.get("metrics")
    if row.get("status") in ("failed", "cancelled") and isinstance(metrics, dict):
        out["error"] = redact(metrics.get("error"))
    return out


def run_detail(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run's status with its (redacted) configuration."""
    return {**run_summary(row), "config": redact(row.get("config"))}


def list_runs(
    store: Store, *, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Runs, newest first, and how many match in all."""
    runs = TABLES["runs"]
    cols = [runs.c[k] for k in (*_RUN_FIELDS, "metrics")]
    where = [] if status is None else [runs.c.status == status]
    query = (
        select(*cols)
        .where(*where)
        .order_by(runs.c.started_at.desc(), runs.c.id)
        .limit(limit)
        .offset(offset)
    )
    count = select(func.count()).select_from(runs).where(*where)

    def read(conn: Connection) -> tuple[list[dict[str, Any]], int]:
        rows = [run_summary(dict(r)) for r in conn.execute(query).mappings()]
        return rows, int(conn.execute(count).scalar_one())

    return run_tx(store.engine, read, write=False)


def run_and_cash(store: Store, run_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A run's row and its cash account (JSON values), read in one snapshot."""
    runs, cash = TABLES["runs"], TABLES["portfolio_cash"]
    cash_cols = [c for c in cash.columns if c.name != "run_id"]

    def read(conn: Connection) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        run = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        if run is None:
            return None, None
        acct = conn.execute(select(*cash_cols).where(cash.c.run_id == run_id)).mappings().first()
        account = None if acct is None else {k: json_value(k, v) for k, v in acct.items()}
        return dict(run), account

    return run_tx(store.engine, read, write=False)


def read_page(
    store: Store, table: str, run_id: str, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a run-scoped table in key order, and its total row count."""
    t = TABLES[table]
    cols = [c for c in t.columns if c.name != "run_id"]
    query = (
        select(*cols)
        .where(t.c.run_id == run_id)
        .order_by(*t.primary_key.columns)
        .limit(limit)
        .offset(offset)
    )
    count = select(func.count()).select_from(t).where(t.c.run_id == run_id)

    def read(conn: Connection) -> tuple[list[dict[str, Any]], int]:
        rows = [{k: json_value(k, v) for k, v in r.items()} for r in conn.execute(query).mappings()]
        return rows, int(conn.execute(count).scalar_one())

    return run_tx(store.engine, read, write=False)
