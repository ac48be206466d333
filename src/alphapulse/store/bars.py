"""Bar writes: the fast, idempotent bulk upsert into ``bars``.

``write_bars``: ``ON CONFLICT (symbol, timeframe, ts) DO UPDATE`` — the last write wins,
but only rows whose values actually differ are rewritten, so repeating a write changes
nothing and reports 0 rows. ``import_batch`` first finds the bars that differ from stored
ones and applies the import's policy (reject, skip or replace; ``store.conflicts``). Optional
columns (``vwap``, ``trade_count``) are only written when the batch carries them.

Per batch, in the caller's transaction: register the symbols in ``instruments``, upsert
their ``bar_series`` rows (this row lock orders concurrent writers of a series and bumps
its version), bulk-write the bars, and delete the cached blocks the batch touched.

* SQLite: one ``executemany`` of the upsert (the write lock is already held).
* PostgreSQL: numpy-encoded binary ``COPY``. When no stored bar lies in the batch's time
  range of any of its symbols (fresh imports, appends) the rows are copied straight into
  ``bars`` (COPY's batched heap inserts: no staging, far less WAL). Otherwise, or if that
  COPY still meets a duplicate, they are copied into a temp staging table and merged with
  one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``. Small batches skip COPY and use a
  pipelined ``executemany`` of the upsert.

SQL text is assembled only from the fixed column names below; values are always bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import psycopg
from sqlalchemy import Connection, Table, bindparam, case, delete, func
from sqlalchemy.dialects import postgresql, sqlite

from alphapulse.store import blocks, pgcopy
from alphapulse.store.conflicts import Conflicts, OnConflict, find_conflicts, take
from alphapulse.store.engine import driver_connection, is_postgres
from alphapulse.store.schema import TABLES
from alphapulse.store.validate import BarBatch, timeframe_ns

#: Below this many rows PostgreSQL uses a pipelined executemany instead of COPY.
COPY_MIN_ROWS: Final = 2_000
_KEY: Final = ("symbol", "timeframe", "ts")
_STAGE: Final = "alphapulse_bar_stage"
_STAGE_DDL: Final = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (sym int4, ts int8, open float8, high float8,"
    " low float8, close float8, volume float8, vwap float8, trade_count float8) ON COMMIT DROP"
)
_STAGE_COPY: Final = f"COPY {_STAGE} FROM STDIN (FORMAT BINARY)"
_STAGE_KINDS: Final[tuple[pgcopy.Kind, ...]] = ("int4", "int8", *(("float8",) * 7))
_STAGE_EXPR: Final = MappingProxyType(
    {
        "symbol": "(%s::text[])[s.sym + 1]",
        "timeframe": "%s",
        "vwap": "NULLIF(s.vwap, 'NaN')",
        "trade_count": "CAST(NULLIF(s.trade_count, 'NaN') AS bigint)",
    }
)
_EXISTS: Final = (
    "SELECT EXISTS (SELECT 1 FROM bars WHERE symbol = %s AND timeframe = %s"
    " AND ts BETWEEN %s AND %s)"
)


def write_bars(conn: Connection, batch: BarBatch) -> int:
    """Upsert a validated batch inside the caller's transaction; rows inserted or changed."""
    if not len(batch):
        return 0
    _register_instruments(conn, batch.symbols)
    _touch_series(conn, batch)
    return _write(conn, batch)


@dataclass(frozen=True)
class BatchWrite:
    """Rows written and the conflicts met (replaced, skipped or, for reject, refused)."""

    written: int
    conflicts: Conflicts


def import_batch(conn: Connection, batch: BarBatch, on_conflict: OnConflict) -> BatchWrite:
    """Write a batch under a conflict policy (see ``store.conflicts``), in the caller's
    transaction; with ``reject`` and any conflict nothing is written (the caller raises)."""
    if not len(batch):
        return BatchWrite(0, Conflicts.empty())
    _register_instruments(conn, batch.symbols)
    _touch_series(conn, batch)  # the series lock first: no writer slips in between
    mask, found = find_conflicts(conn, batch)
    if len(found) and on_conflict == "reject":
        return BatchWrite(0, found)
    if len(found) and on_conflict == "skip":
        batch = take(batch, ~mask)
    return BatchWrite(_write(conn, batch) if len(batch) else 0, found)


def _write(conn: Connection, batch: BarBatch) -> int:
    written = _pg_write(conn, batch) if is_postgres(conn) else _sqlite_write(conn, batch)
    _invalidate_blocks(conn, batch)
    return written


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if is_postgres(conn) else sqlite.insert)(table)


def _register_instruments(conn: Connection, symbols: tuple[str, ...]) -> None:
    stmt = _insert(conn, TABLES["instruments"]).on_conflict_do_nothing(index_elements=["symbol"])
    conn.execute(stmt, [{"symbol": s} for s in symbols])


def _touch_series(conn: Connection, batch: BarBatch) -> None:
    """Create or extend each series and bump its version (taking its row lock)."""
    table = TABLES["bar_series"]
    ins = _insert(conn, table)
    stmt = ins.on_conflict_do_update(
        index_elements=["symbol", "timeframe"],
        set_={
            "first_ts": case(
                (ins.excluded.first_ts < table.c.first_ts, ins.excluded.first_ts),
                else_=table.c.first_ts,
            ),
            "last_ts": case(
                (ins.excluded.last_ts > table.c.last_ts, ins.excluded.last_ts),
                else_=table.c.last_ts,
            ),
            "version": table.c.version + 1,
            "updated_at": func.current_timestamp(),
        },
    )
    tf_ns = timeframe_ns(batch.timeframe)
    rows = [
        {
            "symbol": symbol,
            "timeframe": batch.timeframe,
            "timeframe_ns": tf_ns,
            "first_ts": int(batch.ts[a]),
            "last_ts": int(batch.ts[b - 1]),
            "version": 1,
        }
        for symbol, a, b in batch.symbol_slices()
    ]
    conn.execute(stmt, rows)


def _invalidate_blocks(conn: Connection, batch: BarBatch) -> None:
    table = TABLES["bar_blocks"]
    span = blocks.block_span(batch.timeframe)
    keys = [
        {"s": symbol, "k": int(k)}
        for symbol, a, b in batch.symbol_slices()
        for k in np.unique(blocks.block_starts(batch.ts[a:b], span))
    ]
    stmt = delete(table).where(
        table.c.symbol == bindparam("s"),
        table.c.timeframe == batch.timeframe,
        table.c.block_start == bindparam("k"),
    )
    conn.execute(stmt, keys)


def _value_columns(batch: BarBatch) -> list[str]:
    optional = [c for c in ("vwap", "trade_count") if getattr(batch, c) is not None]
    return ["open", "high", "low", "close", "volume", *optional]


def _conflict_clause(values: list[str], distinct: str) -> str:
    sets = ", ".join(f"{c} = excluded.{c}" for c in values)
    old = ", ".join(f"bars.{c}" for c in values)
    new = ", ".join(f"excluded.{c}" for c in values)
    return (
        f" ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET {sets}"
        f" WHERE ({old}) {distinct} ({new})"
    )


def _row_lists(batch: BarBatch, values: list[str]) -> list[list[Any]]:
    symbols = np.array(batch.symbols, dtype=object)[batch.codes].tolist()
    return [symbols, batch.ts.tolist(), *(getattr(batch, c).tolist() for c in values)]


# -- SQLite -----------------------------------------------------------------------------
def _sqlite_write(conn: Connection, batch: BarBatch) -> int:
    values = _value_columns(batch)
    columns = [*_KEY, *values]
    sql = (
        f"INSERT INTO bars ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        + _conflict_clause(values, "IS NOT")
    )
    symbols, ts, *arrays = _row_lists(batch, values)
    # NaN binds as NULL in SQLite; whole floats in INTEGER columns are stored as integers.
    rows = zip(symbols, repeat(batch.timeframe), ts, *arrays, strict=False)
    cursor = driver_connection(conn).executemany(sql, rows)
    return int(cursor.rowcount)


# -- PostgreSQL -------------------------------------------------------------------------
def _pg_write(conn: Connection, batch: BarBatch) -> int:
    if len(batch) < COPY_MIN_ROWS:
        return _pg_executemany(conn, batch)
    raw: psycopg.Connection[Any] = driver_connection(conn)
    with raw.cursor() as cur:
        if _no_stored_bars(cur, batch) and _no_missing_optionals(batch):
            try:
                with conn.begin_nested(), cur.copy(_direct_copy_sql(batch)) as copy:
                    copy.write(_direct_stream(batch))
                return len(batch)
            except psycopg.errors.UniqueViolation:
                pass  # written meanwhile outside the series lock: merge instead
        cur.execute(_STAGE_DDL)
        cur.execute(f"TRUNCATE {_STAGE}")
        with cur.copy(_STAGE_COPY) as copy:
            copy.write(_stage_stream(batch))
        cur.execute(_stage_insert(batch), _stage_params(batch))
        return int(cur.rowcount)


def _pg_executemany(conn: Connection, batch: BarBatch) -> int:
    values = _value_columns(batch)
    columns = [*_KEY, *values]
    placeholders = ", ".join("%s" for _ in columns)
    sql = f"INSERT INTO bars ({', '.join(columns)}) VALUES ({placeholders})" + _conflict_clause(
        values, "IS DISTINCT FROM"
    )
    symbols, ts, *arrays = _row_lists(batch, values)
    nan_to_none = [[None if v != v else v for v in arr] for arr in arrays]
    if "trade_count" in values:
        i = values.index("trade_count")
        nan_to_none[i] = [None if v is None else int(v) for v in nan_to_none[i]]
    rows = list(zip(symbols, repeat(batch.timeframe), ts, *nan_to_none, strict=False))
    raw: psycopg.Connection[Any] = driver_connection(conn)
    with raw.cursor() as cur:
        cur.executemany(sql, rows)
        return int(cur.rowcount)


def _stage_stream(batch: BarBatch) -> bytes:
    nan = np.full(len(batch), np.nan)
    columns: list[npt.NDArray[np.generic]] = [
        batch.codes,
        batch.ts,
        batch.open,
        batch.high,
        batch.low,
        batch.close,
        batch.volume,
        nan if batch.vwap is None else batch.vwap,
        nan if batch.trade_count is None else batch.trade_count,
    ]
    return pgcopy.encode(list(zip(_STAGE_KINDS, columns, strict=True)))


def _no_stored_bars(cur: psycopg.Cursor[Any], batch: BarBatch) -> bool:
    for symbol, a, b in batch.symbol_slices():
        cur.execute(_EXISTS, (symbol, batch.timeframe, int(batch.ts[a]), int(batch.ts[b - 1])))
        row = cur.fetchone()
        if row is None or row[0]:
            return False
    return True


def _stage_insert(batch: BarBatch) -> str:
    values = _value_columns(batch)
    columns = [*_KEY, *values]
    exprs = ", ".join(_STAGE_EXPR.get(c, f"s.{c}") for c in columns)
    sql = f"INSERT INTO bars ({', '.join(columns)}) SELECT {exprs} FROM {_STAGE} s"
    return sql + _conflict_clause(values, "IS DISTINCT FROM")


def _no_missing_optionals(batch: BarBatch) -> bool:
    """Whether every optional column given is complete (NULLs break fixed-width rows)."""
    return not any(
        v is not None and bool(np.isnan(v).any()) for v in (batch.vwap, batch.trade_count)
    )


def _direct_copy_sql(batch: BarBatch) -> str:
    return f"COPY bars ({', '.join([*_KEY, *_value_columns(batch)])}) FROM STDIN (FORMAT BINARY)"


def _direct_stream(batch: BarBatch) -> bytes:
    """Binary COPY rows for ``bars`` itself: symbol and timeframe are constant text within
    a symbol's slice, so each slice is one fixed-width numpy record array."""
    timeframe = batch.timeframe.encode("ascii")
    parts = [pgcopy.HEADER]
    for symbol, a, b in batch.symbol_slices():
        columns: list[tuple[pgcopy.Kind, npt.NDArray[np.generic] | bytes]] = [
            ("text", symbol.encode("ascii")),
            ("text", timeframe),
            ("int8", batch.ts[a:b]),
            *(
                ("float8", getattr(batch, c)[a:b])
                for c in ("open", "high", "low", "close", "volume")
            ),
        ]
        if batch.vwap is not None:
            columns.append(("float8", batch.vwap[a:b]))
        if batch.trade_count is not None:
            columns.append(("int8", batch.trade_count[a:b].astype(np.int64)))
        parts.append(pgcopy.encode_rows(columns, b - a))
    parts.append(pgcopy.TRAILER)
    return b"".join(parts)


def _stage_params(batch: BarBatch) -> tuple[list[str], str]:
    return list(batch.symbols), batch.timeframe
