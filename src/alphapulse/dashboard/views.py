"""Data the pages show, read from the store (JSON-ready dicts and lists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from sqlalchemy import Connection, func, select

from alphapulse.analytics.drawdown import drawdown
from alphapulse.api.live_queries import latest_rows, latest_snapshots, read_rows
from alphapulse.api.queries import json_value, run_summary
from alphapulse.risk.guards import HALT_KINDS
from alphapulse.store import Store
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

#: Metrics shown next to a run (keys of ``summary.json``).
KEY_METRICS: Final = ("total_return", "cagr", "sharpe", "max_drawdown", "n_trades", "total_fees")
PAGE: Final = 50


def metric_view(metrics: Any) -> dict[str, Any]:
    m = metrics if isinstance(metrics, dict) else {}
    return {k: json_value(k, m.get(k)) for k in KEY_METRICS}


def run_list(
    store: Store, *, status: str | None, name: str | None, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of runs (newest first) with their key metrics, and the match count."""
    runs = TABLES["runs"]
    where = []
    if status:
        where.append(runs.c.status == status)
    if name:
        where.append(runs.c.name.contains(name, autoescape=True))
    cols = [c for c in runs.columns if c.name != "config"]
    query = (
        select(*cols)
        .where(*where)
        .order_by(runs.c.started_at.desc(), runs.c.id)
        .limit(PAGE)
        .offset(offset)
    )
    count = select(func.count()).select_from(runs).where(*where)

    def read(conn: Connection) -> tuple[list[dict[str, Any]], int]:
        rows = []
        for r in conn.execute(query).mappings():
            rows.append({**run_summary(dict(r)), **metric_view(r["metrics"])})
        return rows, int(conn.execute(count).scalar_one())

    return run_tx(store.engine, read, write=False)


def equity_curve(store: Store, run_id: str) -> dict[str, list[Any]]:
    """Time (ISO), equity and drawdown of a run's snapshots, for the charts."""
    t = TABLES["portfolio_snapshots"]
    query = select(t.c.ts, t.c.equity).where(t.c.run_id == run_id).order_by(t.c.ts)
    rows = run_tx(store.engine, lambda conn: conn.execute(query).all(), write=False)
    eq = np.array([float(r[1]) for r in rows], dtype=np.float64)
    return {
        "x": [json_value("ts", int(r[0])) for r in rows],
        "equity": eq.round(2).tolist(),
        "drawdown": drawdown(eq).round(6).tolist(),  # 0 while the peak is not positive
    }


def run_rows(store: Store, table: str, run_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """The first ``limit`` rows of a run's table in key order (no ``run_id``)."""
    from alphapulse.api.queries import read_page

    rows, _ = read_page(store, table, run_id, limit=limit, offset=0)
    return rows


def kill_switch(store: Store, run_ids: Sequence[str]) -> dict[str, str]:
    """``halted`` (a halting guard fired: kill switch, error burst...) or ``armed``."""
    t = TABLES["risk_events"]
    query = select(t.c.run_id).where(t.c.run_id.in_(list(run_ids)), t.c.kind.in_(HALT_KINDS))
    hit = run_tx(store.engine, lambda conn: {r[0] for r in conn.execute(query)}, write=False)
    return {rid: "halted" if rid in hit else "armed" for rid in run_ids}


def session_cards(store: Store, sessions: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per strategy of each session: equity, day P&L, exposure, kill switch."""
    ids = [rid for s in sessions for rid in s.run_ids.values()]
    snaps = latest_snapshots(store, ids)
    kills = kill_switch(store, ids)
    out = []
    for s in sessions:
        for label, rid in s.run_ids.items():
            snap = snaps.get(rid, {})
            equity = snap.get("equity")
            gross = snap.get("gross_exposure")
            out.append(
                {
                    "session": s.name,
                    "status": s.status,
                    "strategy": label,
                    "run_id": rid,
                    "equity": equity,
                    "day_pnl": snap.get("day_pnl"),
                    "exposure": None if not equity or gross is None else gross / equity,
                    "kill_switch": kills[rid],
                }
            )
    return out


def recent_events(store: Store, limit: int = 10) -> dict[str, list[dict[str, Any]]]:
    """The latest anomalies (alerts) and risk events over all runs."""
    out = {}
    for table in ("anomalies", "risk_events"):
        t = TABLES[table]
        out[table] = read_rows(store, select(t).order_by(t.c.ts.desc()).limit(limit))
    return out


def reports_regimes(cfg: Any) -> bool:
    """Whether a strategy of ``cfg`` reports regimes (``regime_state``: the hybrid
    with a detector)."""
    from alphapulse.strategies.registry import strategy_class

    return any(
        hasattr(strategy_class(s.strategy), "regime_state") and s.params.get("detector")
        for s in cfg.strategies
    )


def live_tables(store: Store, session: Any) -> dict[str, Any]:
    """Everything the live page shows about a paper session; ``regimes`` and
    ``anomalies`` are None unless the session's config asks for them."""
    from alphapulse.api.live_queries import marked_positions, working_orders

    ids = list(session.run_ids.values())
    cfg = session.cfg
    return {
        "cards": session_cards(store, [session]),
        "positions": marked_positions(store, ids, session.prices),
        "orders": working_orders(store, ids),
        "fills": latest_rows(store, "fills", ids),
        "signals": latest_rows(store, "signals", ids),
        "risk_events": latest_rows(store, "risk_events", ids),
        "regimes": latest_rows(store, "regimes", ids) if reports_regimes(cfg) else None,
        "anomalies": None if cfg.anomalies is None else latest_rows(store, "anomalies", ids),
    }
