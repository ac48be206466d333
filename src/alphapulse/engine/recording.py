"""Record backtest runs in the database (runs, orders, fills, trades, snapshots, risk
events, executions of algorithm-worked parents, strategy regimes), next to the files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from alphapulse.analytics.execution_quality import execution_frame
from alphapulse.config import BacktestConfig
from alphapulse.data.panel import Panel
from alphapulse.engine.loop import RunResult
from alphapulse.engine.outputs import (
    equity_frame,
    fills_frame,
    orders_frame,
    risk_events_frame,
    trades_frame,
)
from alphapulse.store import Store, runs
from alphapulse.store.engine import run_tx


def data_hash(panel: Panel) -> str:
    """The digest of the exact bars a run saw (``Panel.digest``)."""
    return panel.digest()


def record_run(
    store: Store,
    cfg: BacktestConfig,
    label: str,
    result: RunResult,
    summary: dict[str, Any],
    digest: str,
    *,
    run_id: str | None = None,
    started_at: datetime | None = None,
    anomalies: pd.DataFrame | None = None,
    regimes: pd.DataFrame | None = None,
) -> str:
    """Store one strategy's run; returns the run id (``run_id``: fill in a run row
    created earlier, e.g. by the API when it accepted the job; ``anomalies``: the run's
    anomalies.csv frame, for the ``anomalies`` table; ``regimes``: the strategy's
    regimes.csv frame, for the ``regimes`` table)."""
    config = cfg.model_dump(mode="json")
    config["strategies"] = [
        s for s in config["strategies"] if (s.get("name") or s["strategy"]) == label
    ]
    run_id = store.record_run(
        f"{cfg.name}/{label}",
        config,
        run_id=run_id,
        data_hash=digest,
        initial_cash=result.initial_cash,
        started_at=started_at,
    )
    events = risk_events_frame(result)
    events["symbol"] = events["symbol"].replace("", None)  # portfolio-wide events
    store.write_run_outputs(
        run_id,
        orders_frame(result),
        fills_frame(result),
        trades_frame(result),
        equity_frame(result),
        events if len(events) else None,
    )
    if result.executions:
        rows = runs.execution_records(
            execution_frame(result.executions, result.fills), run_id, label
        )
        run_tx(store.engine, lambda conn: runs.write_executions(conn, rows))
    if regimes is not None and len(regimes):
        reg = runs.regime_records(regimes, run_id, label)
        run_tx(store.engine, lambda conn: runs.write_regimes(conn, reg))
    if anomalies is not None and len(anomalies):
        from alphapulse.anomaly.sinks import store_frame

        store.record_anomalies(run_id, store_frame(anomalies))
    store.finish_run(run_id, metrics=summary)
    return run_id
