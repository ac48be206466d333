"""``GET /anomalies``: recorded anomalies, filtered by run, symbol, type, minimum
severity and time, newest first."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import Connection, func, select

from alphapulse.api.queries import json_value
from alphapulse.api.responses import declared
from alphapulse.api.state import get_store
from alphapulse.api.times import When, to_ns
from alphapulse.core.storable import StorableText as Text
from alphapulse.store import Store
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


class AnomalyItem(BaseModel):
    run_id: str
    timestamp: str | None
    symbol: str
    type: str
    severity: str | None
    score: float | None
    message: str | None
    values: dict[str, Any] | None


class AnomalyList(BaseModel):
    items: list[AnomalyItem]
    total: int
    limit: int
    offset: int


def _item(row: Any) -> dict[str, Any]:
    detail = row.detail if isinstance(row.detail, dict) else {}
    return {
        "run_id": row.run_id,
        "timestamp": json_value("ts", row.ts),
        "symbol": row.symbol,
        "type": row.kind,
        "severity": detail.get("severity"),
        "score": json_value("score", row.score),
        "message": detail.get("message"),
        "values": detail.get("values"),
    }


def build_router() -> APIRouter:
    """The ``/anomalies`` route."""
    router = APIRouter(tags=["anomalies"])

    @router.get(
        "/anomalies",
        response_model=AnomalyList,
        responses=declared(422),
        summary="Recorded anomalies",
    )
    def get_anomalies(
        store: Annotated[Store, Depends(get_store)],
        run: Annotated[str | None, Query(max_length=64, description="run id"), Text] = None,
        symbol: Annotated[str | None, Query(max_length=32), Text] = None,
        type: Annotated[
            str | None, Query(max_length=64, description="e.g. price_jump"), Text
        ] = None,
        severity: Annotated[
            Literal["low", "medium", "high", "critical"] | None,
            Query(description="minimum severity"),
        ] = None,
        start: Annotated[When, Query(description="from (ISO 8601, naive = UTC)")] = None,
        end: Annotated[When, Query(description="until (ISO 8601, naive = UTC)")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> dict[str, Any]:
        t = TABLES["anomalies"]
        where = []
        if run is not None:
            where.append(t.c.run_id == run)
        if symbol is not None:
            where.append(t.c.symbol == symbol)
        if type is not None:
            where.append(t.c.kind == type)
        if severity is not None:
            allowed = SEVERITIES[SEVERITIES.index(severity.upper()) :]
            where.append(t.c.detail["severity"].as_string().in_(allowed))
        lo, hi = to_ns(start), to_ns(end)
        if lo is not None:
            where.append(t.c.ts >= lo)
        if hi is not None:
            where.append(t.c.ts <= hi)
        query = (
            select(t.c.run_id, t.c.ts, t.c.symbol, t.c.kind, t.c.score, t.c.detail)
            .where(*where)
            .order_by(t.c.ts.desc(), t.c.id)
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(t).where(*where)

        def read(conn: Connection) -> tuple[list[dict[str, Any]], int]:
            rows = [_item(r) for r in conn.execute(query)]
            return rows, int(conn.execute(count).scalar_one())

        items, total = run_tx(store.engine, read, write=False)
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    return router
