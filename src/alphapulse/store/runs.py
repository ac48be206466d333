"""Runs and their outputs: provenance, orders, fills (with accounting), trades, equity
snapshots, risk events, signals, predictions and anomalies.

Every writer upserts on the table's natural key, so writing the same outputs twice is a
no-op. Fills are booked into ``positions``/``portfolio_cash`` in the same transaction as
they are inserted: by the ``trg_fills_apply`` trigger on PostgreSQL, by
:func:`alphapulse.store.accounting.apply_fill` on SQLite. A fill whose ``fill_key`` is
already stored is skipped and not booked again.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd
from sqlalchemy import Connection, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite

from alphapulse import __version__
from alphapulse.core.errors import DataError
from alphapulse.store.accounting import CashState, FillEvent, PositionState, apply_fill
from alphapulse.store.accounting_sql import CALL_SNAPSHOT
from alphapulse.store.engine import is_postgres
from alphapulse.store.frames import Col, frame_records, json_safe
from alphapulse.store.schema import TABLES
from alphapulse.store.validate import check_name

RUN_STATUSES: Final = ("running", "finished", "failed", "cancelled")
ENV_CODE_VERSION: Final = "ALPHAPULSE_CODE_VERSION"

ORDER_COLS: Final = (
    Col("order_id", "int", required=True, sources=("order_id", "id")),
    Col("created_ts", "ns", sources=("created_at", "created_ts", "timestamp")),
    Col("symbol", "symbol", required=True),
    Col("side", "side", required=True),
    Col("type", "str"),
    Col("quantity", "float"),
    Col("notional", "float"),
    Col("limit_price", "float"),
    Col("stop_price", "float"),
    Col("tif", "str"),
    Col("status", "str"),
    Col("filled_qty", "float"),
    Col("avg_fill_price", "float"),
    Col("parent_id", "int"),
    Col("tag", "str"),
    Col("reason", "str"),
)
FILL_COLS: Final = (
    Col("fill_key", "str", sources=("fill_key", "fill_id")),
    Col("order_id", "int"),
    Col("ts", "ns", required=True, sources=("timestamp", "ts")),
    Col("symbol", "symbol", required=True),
    Col("side", "side", required=True),
    Col("quantity", "float", required=True),
    Col("price", "float", required=True),
    Col("fee", "float", default=0.0),
    Col("slippage", "float", default=0.0),
    Col("liquidity", "str"),
    Col("tag", "str"),
)
TRADE_COLS: Final = (
    Col("trade_no", "int", sources=("trade_no", "trade_id")),
    Col("symbol", "symbol", required=True),
    Col("side", "str", required=True),
    Col("entry_ts", "ns", required=True, sources=("entry_time", "entry_ts")),
    Col("entry_price", "float", required=True),
    Col("exit_ts", "ns", required=True, sources=("exit_time", "exit_ts")),
    Col("exit_price", "float", required=True),
    Col("quantity", "float", required=True),
    Col("pnl", "float", required=True),
    Col("fees", "float"),
    Col("return_pct", "float"),
    Col("bars_held", "int"),
    Col("position", "int"),
)
SNAPSHOT_COLS: Final = (
    Col("ts", "ns", required=True, sources=("timestamp", "ts")),
    Col("cash", "float", required=True),
    Col("equity", "float", required=True),
    Col("market_value", "float"),
    Col("gross_exposure", "float"),
    Col("net_exposure", "float"),
)
RISK_COLS: Final = (
    Col("seq", "int"),
    Col("ts", "ns", required=True, sources=("timestamp", "ts")),
    Col("kind", "key", required=True, sources=("kind", "rule")),
    Col("symbol", "symbol"),
    Col("severity", "str", default="info"),
    Col("message", "str", sources=("message", "reason")),
    Col("value", "float"),
    Col("detail", "json"),
)
SIGNAL_COLS: Final = (
    Col("ts", "ns", required=True, sources=("timestamp", "ts")),
    Col("symbol", "symbol", required=True),
    Col("name", "key", default="signal"),
    Col("value", "float"),
)
PREDICTION_COLS: Final = (
    Col("ts", "ns", required=True, sources=("timestamp", "ts")),
    Col("symbol", "symbol", required=True),
    Col("model", "key", required=True),
    Col("value", "float"),
    Col("confidence", "float"),
)
ANOMALY_COLS: Final = (
    Col("ts", "ns", required=True, sources=("timestamp", "ts")),
    Col("symbol", "str", default=""),
    Col("kind", "key", required=True),
    Col("score", "float"),
    Col("detail", "json"),
)

EXECUTION_KEY: Final = ("run_id", "strategy", "parent_id")
_EXECUTION_FIGURES: Final = (
    "duration_s", "fill_ratio", "avg_price", "end_price", "interval_vwap", "slippage_bps",
    "vwap_slippage_bps", "participation", "fees", "spread_cost", "impact_cost", "timing_cost",
    "opportunity_cost", "shortfall", "shortfall_bps",
)  # fmt: skip
EXECUTION_COLS: Final = (
    Col("parent_id", "int", required=True),
    Col("symbol", "symbol", required=True),
    Col("side", "side", required=True),
    Col("algo", "str", required=True),
    Col("urgency", "str"),
    Col("status", "str", required=True),
    Col("reason", "str"),
    Col("decision_ts", "ns", required=True, sources=("decision_time", "decision_ts")),
    Col("end_ts", "ns", sources=("end_time", "end_ts")),
    Col("quantity", "float", required=True),
    Col("filled", "float", required=True),
    Col("n_children", "int", required=True),
    Col("arrival_price", "float", required=True),
    *(Col(name, "float") for name in _EXECUTION_FIGURES),
)

REGIME_KEY: Final = ("run_id", "strategy", "ts", "symbol")
REGIME_COLS: Final = (
    Col("ts", "ns", required=True, sources=("timestamp", "ts")),
    Col("symbol", "key", required=True),
    Col("regime", "key", required=True),
    Col("probabilities", "json"),
    Col("bars_since_change", "int", required=True, sources=("bars_since", "bars_since_change")),
)


# -- helpers ----------------------------------------------------------------------------
def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    update: bool = True,
) -> int:
    """Insert ``rows``; on a key conflict update the other columns (``update``; the last
    of duplicate keys wins) or keep the stored row (the first wins). Rows written."""
    unique: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if update or key not in unique:
            unique[key] = row
    if not unique:
        return 0
    values = list(unique.values()) if update else [r for r in rows if _first_of(r, keys, unique)]
    ins = (postgresql.insert if is_postgres(conn) else sqlite.insert)(table)
    if update:
        cols = [c for c in values[0] if c not in keys]
        stmt = ins.on_conflict_do_update(
            index_elements=list(keys), set_={c: ins.excluded[c] for c in cols}
        )
    else:
        stmt = ins.on_conflict_do_nothing(index_elements=list(keys))
    # RETURNING counts what was written on both backends (DO NOTHING returns no row).
    result = conn.execute(stmt.returning(table.c[keys[0]]), values)
    return len(result.all())


def _first_of(
    row: Mapping[str, Any], keys: Sequence[str], first: dict[tuple[Any, ...], Mapping[str, Any]]
) -> bool:
    return first[tuple(row[k] for k in keys)] is row


def code_version() -> str:
    """``$ALPHAPULSE_CODE_VERSION``, else the git commit of the source tree (``-dirty``
    when tracked files changed), else the package version."""
    if env := os.environ.get(ENV_CODE_VERSION):
        return env
    here = Path(__file__).resolve().parent
    try:
        sha = _git(here, "rev-parse", "HEAD")
        dirty = _git(here, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return f"alphapulse-{__version__}"
    return f"{sha}-dirty" if dirty else sha


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def check_run_id(run_id: object) -> str:
    """A run id: 1-64 of ``A-Za-z0-9_.:-``."""
    return check_name(run_id, field="run_id")


# -- runs -------------------------------------------------------------------------------
def record_run(
    conn: Connection,
    *,
    run_id: str,
    name: str,
    config: Mapping[str, Any] | None,
    code_version: str | None,
    data_hash: str | None,
    status: str,
    initial_cash: float | None,
    started_at: datetime,
) -> None:
    """Create or update a run; create its cash account when ``initial_cash`` is given."""
    if status not in RUN_STATUSES:
        raise DataError(f"bad run status {status!r}: {RUN_STATUSES}", field="status", rule="status")
    row = {
        "id": run_id,
        "name": name,
        "config": json_safe(config),
        "code_version": code_version,
        "data_hash": data_hash,
        "status": status,
        "initial_cash": initial_cash,
        "started_at": started_at,
        "metrics": None,  # a restarted run is running again: no end, no result yet
        "finished_at": None,
    }
    upsert(conn, TABLES["runs"], [row], ["id"])
    if initial_cash is not None:
        account = {
            "run_id": run_id,
            "initial_cash": initial_cash,
            "cash": initial_cash,
            "fees": 0.0,
            "n_fills": 0,
        }
        upsert(conn, TABLES["portfolio_cash"], [account], ["run_id"], update=False)


def finish_run(
    conn: Connection,
    run_id: str,
    *,
    status: str,
    metrics: Mapping[str, Any] | None,
    finished_at: datetime,
) -> None:
    """Set a run's final status, metrics and end time."""
    if status not in RUN_STATUSES:
        raise DataError(f"bad run status {status!r}: {RUN_STATUSES}", field="status", rule="status")
    runs = TABLES["runs"]
    result = conn.execute(
        runs.update()
        .where(runs.c.id == run_id)
        .values(status=status, metrics=json_safe(metrics), finished_at=finished_at)
    )
    if result.rowcount != 1:
        raise DataError(f"unknown run {run_id!r}", field="run_id", rule="exists")


def read_run(conn: Connection, run_id: str) -> dict[str, Any] | None:
    """A run's row as a dict."""
    runs = TABLES["runs"]
    row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
    return dict(row) if row is not None else None


# -- executions -------------------------------------------------------------------------
def execution_records(df: pd.DataFrame | None, run_id: str, strategy: str) -> list[dict[str, Any]]:
    """Validated ``executions`` rows of an ``executions.csv``-shaped frame."""
    tag = {"run_id": run_id, "strategy": strategy}
    return [{**r, **tag} for r in frame_records(df, EXECUTION_COLS, what="executions frame")]


def write_executions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Upsert parent-order rows (the latest state of a parent wins)."""
    return upsert(conn, TABLES["executions"], rows, EXECUTION_KEY)


# -- regimes ----------------------------------------------------------------------------
def regime_records(df: pd.DataFrame | None, run_id: str, strategy: str) -> list[dict[str, Any]]:
    """Validated ``regimes`` rows of a ``regimes.csv``-shaped frame (timestamp, symbol,
    regime, bars_since, p_<label>...): the ``p_`` columns become one probabilities
    object per row (null when every probability is NaN, i.e. warmup)."""
    if df is None or df.empty:
        return []
    labels = [c for c in df.columns if str(c).startswith("p_")]
    probs = df[labels].to_numpy(dtype=float, na_value=float("nan"))
    names = [str(c)[2:] for c in labels]
    objs = [
        None if pd.isna(row).all() else dict(zip(names, row.tolist(), strict=True)) for row in probs
    ]
    frame = df.drop(columns=labels).assign(probabilities=pd.Series(objs, index=df.index))
    tag = {"run_id": run_id, "strategy": strategy}
    return [{**r, **tag} for r in frame_records(frame, REGIME_COLS, what="regimes frame")]


def write_regimes(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Upsert regime rows (re-recording a run adds nothing)."""
    return upsert(conn, TABLES["regimes"], rows, REGIME_KEY)


# -- fills and accounting ---------------------------------------------------------------
def fill_records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Validated fill rows; missing ``fill_key``s become ``<order_id>@<ts>`` plus ``#n``
    for the n-th repeat of that pair in the frame (deterministic across re-runs)."""
    rows = frame_records(df, FILL_COLS, what="fills frame")
    seen: dict[str, int] = {}
    for row in rows:
        if row["fill_key"] is None:
            base = f"{row['order_id']}@{row['ts']}"
            n = seen.get(base, 0)
            seen[base] = n + 1
            row["fill_key"] = base if n == 0 else f"{base}#{n}"
        _check_fill(row)
    return rows


def fill_record(fill: Any, key: str | None) -> dict[str, Any]:
    """One fill (an engine ``Fill`` or a mapping with the fills-frame columns) as a row."""
    if isinstance(fill, Mapping):
        data = dict(fill)
    else:
        data = {
            "order_id": fill.order_id,
            "ts": fill.ts_ns,
            "symbol": fill.symbol,
            "side": fill.side,
            "quantity": fill.quantity,
            "price": fill.price,
            "fee": fill.fee,
            "slippage": getattr(fill, "slippage", 0.0),
            "liquidity": getattr(fill, "liquidity", None),
            "tag": getattr(fill, "tag", None) or None,
        }
    if key is not None:
        data["fill_key"] = key
    return fill_records(pd.DataFrame([data]))[0]


def _check_fill(row: Mapping[str, Any]) -> None:
    for name in ("quantity", "price"):
        if not row[name] > 0:
            raise DataError(f"{name} must be > 0, got {row[name]}", field=name, rule="positive")
    if row["fee"] is None or row["fee"] < 0:
        raise DataError(f"fee must be >= 0, got {row['fee']}", field="fee", rule="non_negative")


def insert_fills(conn: Connection, run_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert fills not yet stored (by ``fill_key``) and book them; the number booked."""
    rows = [{**r, "run_id": run_id, "slippage": r["slippage"] or 0.0} for r in rows]
    if not rows:
        return 0
    if is_postgres(conn):  # the trigger books each inserted row, in statement order
        return upsert(conn, TABLES["fills"], rows, ["run_id", "fill_key"], update=False)
    fills = TABLES["fills"]
    stored = set(conn.execute(select(fills.c.fill_key).where(fills.c.run_id == run_id)).scalars())
    fresh: list[Mapping[str, Any]] = []
    for row in rows:
        if row["fill_key"] not in stored:
            stored.add(row["fill_key"])
            fresh.append(row)
    if fresh:
        conn.execute(fills.insert(), fresh)
        _book_python(conn, run_id, fresh)
    return len(fresh)


def _book_python(conn: Connection, run_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
    positions, cash_table = TABLES["positions"], TABLES["portfolio_cash"]
    symbols = sorted({r["symbol"] for r in rows})
    state = {
        r.symbol: PositionState(r.quantity, r.avg_price, r.realized_pnl, r.fees, r.last_fill_ts)
        for r in conn.execute(
            select(positions).where(positions.c.run_id == run_id, positions.c.symbol.in_(symbols))
        )
    }
    c = conn.execute(select(cash_table).where(cash_table.c.run_id == run_id)).first()
    cash = (
        CashState(c.initial_cash, c.cash, c.fees, c.n_fills, c.last_fill_ts) if c else CashState()
    )
    for r in rows:
        event = FillEvent(r["symbol"], r["side"], r["quantity"], r["price"], r["fee"], r["ts"])
        state[r["symbol"]], cash = apply_fill(state.get(r["symbol"], PositionState()), cash, event)
    upsert(
        conn,
        positions,
        [{"run_id": run_id, "symbol": s, **vars(state[s])} for s in symbols],
        ["run_id", "symbol"],
    )
    upsert(conn, cash_table, [{"run_id": run_id, **vars(cash)}], ["run_id"])


# -- snapshots --------------------------------------------------------------------------
def take_snapshot(conn: Connection, run_id: str, ts: int) -> dict[str, float]:
    """Mark the run's positions to market at ``ts`` and store the snapshot."""
    if is_postgres(conn):
        row = conn.execute(text(CALL_SNAPSHOT), {"run_id": run_id, "ts": ts}).mappings().one()
        return {k: float(v) for k, v in row.items()}
    return _snapshot_python(conn, run_id, ts)


def _snapshot_python(conn: Connection, run_id: str, ts: int) -> dict[str, float]:
    """The SQLite twin of ``take_portfolio_snapshot`` (same prices, same summation order)."""
    cash_table, runs, positions = TABLES["portfolio_cash"], TABLES["runs"], TABLES["positions"]
    cash = conn.execute(select(cash_table.c.cash).where(cash_table.c.run_id == run_id)).scalar()
    if cash is None:
        initial = conn.execute(select(runs.c.initial_cash).where(runs.c.id == run_id)).scalar()
        cash = 0.0 if initial is None else float(initial)
    market_value = gross = 0.0
    held = conn.execute(
        select(positions.c.symbol, positions.c.quantity, positions.c.avg_price)
        .where(positions.c.run_id == run_id, positions.c.quantity != 0)
        .order_by(positions.c.symbol)
    )
    for symbol, quantity, avg_price in held:
        price = _last_close(conn, symbol, ts)
        value = quantity * (avg_price if price is None else price)
        market_value = market_value + value
        gross = gross + abs(value)
    snap = {
        "cash": cash,
        "market_value": market_value,
        "equity": cash + market_value,
        "gross_exposure": gross,
        "net_exposure": market_value,
    }
    upsert(
        conn,
        TABLES["portfolio_snapshots"],
        [{"run_id": run_id, "ts": ts, **snap}],
        ["run_id", "ts"],
    )
    return snap


def _last_close(conn: Connection, symbol: str, ts: int) -> float | None:
    series, bars = TABLES["bar_series"], TABLES["bars"]
    best: tuple[int, int, float] | None = None  # (-bar ts, timeframe ns, close)
    for timeframe, tf_ns in conn.execute(
        select(series.c.timeframe, series.c.timeframe_ns).where(series.c.symbol == symbol)
    ):
        row = conn.execute(
            select(bars.c.ts, bars.c.close)
            .where(bars.c.symbol == symbol, bars.c.timeframe == timeframe, bars.c.ts <= ts)
            .order_by(bars.c.ts.desc())
            .limit(1)
        ).first()
        if row is not None and (best is None or (-row.ts, tf_ns) < best[:2]):
            best = (-row.ts, tf_ns, row.close)
    return None if best is None else best[2]


# -- output frames ----------------------------------------------------------------------
def snapshot_records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Equity-curve rows; ``market_value`` defaults to ``equity - cash``."""
    rows = frame_records(df, SNAPSHOT_COLS, what="equity frame")
    for row in rows:
        if row["market_value"] is None:
            row["market_value"] = row["equity"] - row["cash"]
    return rows


def numbered(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Fill a missing sequence column ``key`` with the row position."""
    for i, row in enumerate(rows):
        if row[key] is None:
            row[key] = i
    return rows


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
