"""The ``Store`` facade: one object per database, thin methods over the repositories."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.exc import DBAPIError

from alphapulse.core.errors import DataError
from alphapulse.store import bars_read, imports, migrate, reference, runs
from alphapulse.store.bars import write_bars
from alphapulse.store.conflicts import BarConflictError, OnConflict
from alphapulse.store.engine import create_store_engine, resolve_url, run_tx
from alphapulse.store.frames import frame_records
from alphapulse.store.imports import ImportExtras, ImportSummary
from alphapulse.store.schema import RUN_TABLES, TABLES
from alphapulse.store.validate import (
    TimeLike,
    bar_batch,
    check_name,
    check_symbol,
    check_timeframe,
    to_ns,
)

log = logging.getLogger(__name__)


def open_store(url: str | None = None) -> Store:
    """Open (creating if needed) the store at ``url`` and migrate it to the newest schema.

    ``url``: a SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``) or a
    SQLite file path; default ``$ALPHAPULSE_DB_URL``, else ``./alphapulse.sqlite``.
    """
    engine = create_store_engine(resolve_url(url))
    try:
        migrate.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)


class Store:
    """Bars, reference data, imports and run outputs in SQLite or PostgreSQL.

    Every method validates its input first (``DataError`` naming the field) and then
    writes in a single transaction, so a failure leaves stored data untouched. Time
    arguments accept datetimes, ISO strings (naive = UTC) or int ns since the epoch.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine."""
        return self._engine

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def close(self) -> None:
        """Close all pooled connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._engine.url.render_as_string(hide_password=True)!r})"

    # -- bars ---------------------------------------------------------------------------
    def upsert_bars(self, df: pd.DataFrame, timeframe: str) -> int:
        """Insert or update bars (columns symbol, timestamp (tz-aware), open, high, low,
        close, volume; optional vwap, trade_count). Idempotent; rows inserted or changed."""
        batch = bar_batch(df, timeframe)
        return run_tx(self._engine, lambda conn: write_bars(conn, batch))

    def import_bars(
        self,
        frames: Iterable[pd.DataFrame],
        timeframe: str,
        *,
        import_id: str | None = None,
        source: str | None = None,
        path: str | None = None,
        on_conflict: OnConflict = "reject",
        extras: ImportExtras | None = None,
    ) -> ImportSummary:
        """Write all batches, the ``extras`` (corporate actions, quarantined rows) and the
        import summary atomically: an import that fails half-way stores nothing (and is
        recorded as ``failed``); re-running completes it.
        Bars differing from stored ones are refused (``BarConflictError``), kept (``skip``)
        or overwritten (``replace``); the summary's ``detail`` counts them."""
        summary = ImportSummary(
            import_id=check_name(import_id or uuid.uuid4().hex, field="import_id"),
            source=source,
            path=path,
            timeframe=check_timeframe(timeframe),
            status="running",
            started_at=runs.utc_now(),
        )
        try:
            return run_tx(
                self._engine,
                lambda conn: imports.import_bars(
                    conn, frames, timeframe, summary, on_conflict, extras
                ),
                attempts=1,
            )
        except BaseException as exc:
            failed = replace(
                summary,
                detail=_failure_detail(exc, on_conflict),
                status="failed",
                error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=runs.utc_now(),
            )
            try:
                run_tx(self._engine, lambda conn: imports.record_import(conn, failed))
            except DBAPIError:
                log.warning("could not record the failed import %s", summary.import_id)
            raise

    def read_bars(
        self,
        symbol: str,
        timeframe: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
    ) -> pd.DataFrame:
        """Bars of one series with ``start <= timestamp < end`` on a UTC DatetimeIndex
        named ``timestamp``; columns open, high, low, close, volume (+ vwap, trade_count
        when stored)."""
        sym, tf = check_symbol(symbol), check_timeframe(timeframe)
        lo = None if start is None else to_ns(start, field="start")
        hi = None if end is None else to_ns(end, field="end")
        return bars_read.read_bars(self._engine, sym, tf, lo, hi)

    def list_symbols(self, timeframe: str | None = None) -> list[str]:
        """Symbols with stored bars (of ``timeframe`` when given), sorted."""
        series = TABLES["bar_series"]
        query = select(series.c.symbol).distinct().order_by(series.c.symbol)
        if timeframe is not None:
            query = query.where(series.c.timeframe == check_timeframe(timeframe))
        return self._read(lambda conn: list(conn.execute(query).scalars()))

    def clear_bar_cache(self, symbol: str | None = None) -> int:
        """Drop cached bar blocks (e.g. after writing ``bars`` with raw SQL). Blocks dropped."""
        table = TABLES["bar_blocks"]
        stmt = delete(table)
        if symbol is not None:
            stmt = stmt.where(table.c.symbol == check_symbol(symbol))
        return run_tx(self._engine, lambda conn: int(conn.execute(stmt).rowcount))

    # -- reference data and imports -----------------------------------------------------
    def quarantine(self, rows_df: pd.DataFrame, import_id: str) -> int:
        """Store rejected rows (file, row, rule, field, value, reason) of an import."""
        check_name(import_id, field="import_id")
        return run_tx(self._engine, lambda conn: imports.quarantine(conn, rows_df, import_id))

    def record_import(self, summary: ImportSummary | Mapping[str, Any]) -> str:
        """Create or update an import's summary; returns its ``import_id``."""
        value = ImportSummary.coerce(summary)
        return run_tx(self._engine, lambda conn: imports.record_import(conn, value))

    def record_corporate_actions(self, df: pd.DataFrame) -> int:
        """Upsert corporate actions (symbol, ex_date, action, value, ...). Rows written."""
        return run_tx(self._engine, lambda conn: reference.record_corporate_actions(conn, df))

    def read_corporate_actions(self, symbol: str | None = None) -> pd.DataFrame:
        """Stored corporate actions, of one symbol or all."""
        sym = None if symbol is None else check_symbol(symbol)
        return self._read(lambda conn: reference.read_corporate_actions(conn, sym))

    def read_imports(self) -> pd.DataFrame:
        """All import summaries, oldest first."""
        table = TABLES["imports"]
        query = select(table).order_by(table.c.started_at, table.c.import_id)
        return self._read(lambda conn: pd.DataFrame(conn.execute(query).mappings().all()))

    def read_quarantine(self, import_id: str) -> pd.DataFrame:
        """The quarantined rows of one import."""
        table = TABLES["quarantine"]
        query = select(table).where(table.c.import_id == import_id).order_by(table.c.id)
        return self._read(lambda conn: pd.DataFrame(conn.execute(query).mappings().all()))

    # -- runs ---------------------------------------------------------------------------
    def record_run(
        self,
        name: str,
        config: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        code_version: str | None = None,
        data_hash: str | None = None,
        status: str = "running",
        initial_cash: float | None = None,
        started_at: datetime | None = None,
    ) -> str:
        """Create (or update) a run; returns its id. ``code_version`` defaults to the git
        commit; ``initial_cash`` opens the run's cash account."""
        rid = check_name(run_id or uuid.uuid4().hex, field="run_id")
        version = code_version or runs.code_version()
        started = started_at or runs.utc_now()

        def write(conn: Connection) -> str:
            runs.record_run(
                conn,
                run_id=rid,
                name=name,
                config=config,
                code_version=version,
                data_hash=data_hash,
                status=status,
                initial_cash=initial_cash,
                started_at=started,
            )
            return rid

        return run_tx(self._engine, write)

    def finish_run(
        self,
        run_id: str,
        *,
        status: str = "finished",
        metrics: Mapping[str, Any] | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        """Record a run's end: status, metrics JSON and time."""
        done = finished_at or runs.utc_now()
        run_tx(
            self._engine,
            lambda conn: runs.finish_run(
                conn, run_id, status=status, metrics=metrics, finished_at=done
            ),
        )

    def write_run_outputs(
        self,
        run_id: str,
        orders_df: pd.DataFrame | None,
        fills_df: pd.DataFrame | None,
        trades_df: pd.DataFrame | None,
        equity_df: pd.DataFrame | None,
        risk_events_df: pd.DataFrame | None = None,
    ) -> dict[str, int]:
        """Store a run's orders, fills (booked into positions and cash), round trips,
        equity curve (as portfolio snapshots) and risk events in one transaction.
        Idempotent; returns the rows written per table."""
        rid = check_name(run_id, field="run_id")
        orders = frame_records(orders_df, runs.ORDER_COLS, what="orders frame")
        fills = runs.fill_records(fills_df)
        trades = frame_records(trades_df, runs.TRADE_COLS, what="trades frame")
        snaps = runs.snapshot_records(equity_df)
        risk = frame_records(risk_events_df, runs.RISK_COLS, what="risk events frame")

        def write(conn: Connection) -> dict[str, int]:
            _require_run(conn, rid)
            tag = {"run_id": rid}
            return {
                "orders": runs.upsert(
                    conn, TABLES["orders"], [{**r, **tag} for r in orders], ["run_id", "order_id"]
                ),
                "fills": runs.insert_fills(conn, rid, fills),
                "trades": runs.upsert(
                    conn,
                    TABLES["trades"],
                    [{**r, **tag} for r in runs.numbered(trades, "trade_no")],
                    ["run_id", "trade_no"],
                ),
                "portfolio_snapshots": runs.upsert(
                    conn,
                    TABLES["portfolio_snapshots"],
                    [{**r, **tag} for r in snaps],
                    ["run_id", "ts"],
                ),
                "risk_events": runs.upsert(
                    conn,
                    TABLES["risk_events"],
                    [{**r, **tag} for r in runs.numbered(risk, "seq")],
                    ["run_id", "seq"],
                ),
            }

        return run_tx(self._engine, write)

    def record_fill(self, run_id: str, fill: Any, *, key: str | None = None) -> bool:
        """Store one fill (an engine ``Fill`` or a mapping) and book it into the run's
        position and cash, all in one transaction. ``key`` (default ``<order_id>@<ts>``)
        makes it idempotent: returns False, booking nothing, if that key is stored."""
        rid = check_name(run_id, field="run_id")
        row = runs.fill_record(fill, key)

        def write(conn: Connection) -> bool:
            _require_run(conn, rid)
            return runs.insert_fills(conn, rid, [row]) == 1

        return run_tx(self._engine, write)

    def take_portfolio_snapshot(self, run_id: str, ts: TimeLike) -> dict[str, float]:
        """Mark the run's positions at the latest closes at or before ``ts`` and store a
        snapshot (PostgreSQL: the ``take_portfolio_snapshot`` SQL function)."""
        rid = check_name(run_id, field="run_id")
        at = to_ns(ts, field="ts")

        def write(conn: Connection) -> dict[str, float]:
            _require_run(conn, rid)
            return runs.take_snapshot(conn, rid, at)

        return run_tx(self._engine, write)

    def write_signals(self, run_id: str, df: pd.DataFrame) -> int:
        """Upsert signal values (timestamp, symbol, name, value) of a run."""
        return self._write_run_rows(
            run_id, "signals", df, runs.SIGNAL_COLS, ("ts", "symbol", "name")
        )

    def write_predictions(self, run_id: str, df: pd.DataFrame) -> int:
        """Upsert predictions (timestamp, symbol, model, value, confidence) of a run."""
        return self._write_run_rows(
            run_id, "predictions", df, runs.PREDICTION_COLS, ("ts", "symbol", "model")
        )

    def record_anomalies(self, run_id: str, df: pd.DataFrame) -> int:
        """Upsert anomalies (timestamp, symbol, kind, score, detail) of a run."""
        return self._write_run_rows(
            run_id, "anomalies", df, runs.ANOMALY_COLS, ("ts", "symbol", "kind")
        )

    def read_run(self, run_id: str) -> dict[str, Any] | None:
        """A run's row (id, name, config, code_version, data_hash, status, metrics...)."""
        return self._read(lambda conn: runs.read_run(conn, run_id))

    def read_positions(self, run_id: str) -> pd.DataFrame:
        """A run's positions by symbol: quantity, avg_price, realized_pnl, fees."""
        return self.read_table("positions", run_id)

    def read_cash(self, run_id: str) -> dict[str, Any] | None:
        """A run's cash account: initial_cash, cash, fees, n_fills, last_fill_ts."""
        frame = self.read_table("portfolio_cash", run_id)
        return None if frame.empty else {str(k): v for k, v in frame.iloc[0].to_dict().items()}

    def read_table(self, table: str, run_id: str) -> pd.DataFrame:
        """All rows of one run-scoped table (``RUN_TABLES``) in key order."""
        if table not in RUN_TABLES:
            raise DataError(f"not a run table: {table!r}", field="table", rule="run_table")
        t = TABLES[table]
        query = select(t).where(t.c.run_id == run_id).order_by(*t.primary_key.columns)
        columns = [c.name for c in t.columns]
        return self._read(
            lambda conn: pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=columns)
        )

    # -- internals ----------------------------------------------------------------------
    def _read(self, fn: Any) -> Any:
        return run_tx(self._engine, fn, write=False)

    def _write_run_rows(
        self, run_id: str, table: str, df: pd.DataFrame, cols: Any, keys: tuple[str, ...]
    ) -> int:
        rid = check_name(run_id, field="run_id")
        rows = [{**r, "run_id": rid} for r in frame_records(df, cols, what=f"{table} frame")]

        def write(conn: Connection) -> int:
            _require_run(conn, rid)
            return runs.upsert(conn, TABLES[table], rows, ["run_id", *keys])

        return run_tx(self._engine, write)


def _failure_detail(exc: BaseException, on_conflict: str) -> dict[str, Any]:
    if isinstance(exc, BarConflictError):
        return {"on_conflict": on_conflict, "conflicts": len(exc.conflicts)}
    return {"on_conflict": on_conflict}


def _require_run(conn: Connection, run_id: str) -> None:
    table = TABLES["runs"]
    if conn.execute(select(table.c.id).where(table.c.id == run_id)).first() is None:
        raise DataError(f"unknown run {run_id!r}; record_run first", field="run_id", rule="exists")
