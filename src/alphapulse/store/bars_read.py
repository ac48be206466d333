"""Bar reads: range queries served from the block cache, falling back to ``bars`` rows.

One read transaction (SQLite WAL snapshot / PostgreSQL REPEATABLE READ) loads the
series row, the cached blocks of the range and, for missing blocks, the bars themselves
(PostgreSQL: binary ``COPY`` decoded by numpy; SQLite: ``fetchall`` read by one
``np.fromiter``). Blocks rebuilt that way are then stored in a short second
transaction, but only if the series version is unchanged (no write happened since the
snapshot) and the lock is free within 50 ms; otherwise the reader just returns its
result without caching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Final

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from alphapulse.store import blocks, pgcopy
from alphapulse.store.blocks import BarArrays
from alphapulse.store.engine import driver_connection, is_lock_timeout, is_postgres, run_tx
from alphapulse.store.schema import TABLES

CACHE_LOCK_WAIT_MS: Final = 50
#: A missing block range is read whole (and cached) unless the query wants under 1/4.
WHOLE_BLOCK_FRACTION: Final = 0.25
_RANGE: Final = "symbol = {p} AND timeframe = {p} AND ts >= {p} AND ts < {p} ORDER BY ts"
_PG_COPY: Final = (
    "COPY (SELECT ts, open, high, low, close, volume, COALESCE(vwap, 'NaN'),"
    " COALESCE(CAST(trade_count AS float8), 'NaN') FROM bars WHERE "
    + _RANGE.format(p="%s")
    + ") TO STDOUT (FORMAT BINARY)"
)
_PG_KINDS: Final[tuple[pgcopy.Kind, ...]] = ("int8", *(("float8",) * 7))
_BLOCKS_SELECT: Final = (
    "SELECT block_start, n_rows, flags, payload FROM bar_blocks"
    " WHERE symbol = {p} AND timeframe = {p} AND block_start BETWEEN {p} AND {p}"
)
#: SQLite: every value as a float64 so that one ``np.fromiter`` reads the whole result;
#: ``ts`` split into exact 32-bit halves, NULL as +inf (stored values are finite).
_SQLITE_SELECT: Final = (
    "SELECT ts >> 32, ts & 4294967295, open, high, low, close, volume,"
    " IFNULL(vwap, 9e999), IFNULL(trade_count, 9e999) FROM bars WHERE " + _RANGE.format(p="?")
)


@dataclass
class _Snapshot:
    """What one read transaction saw."""

    version: int | None = None
    parts: list[BarArrays] = field(default_factory=list)
    built: list[tuple[int, BarArrays]] = field(default_factory=list)


def read_bars(
    engine: Engine, symbol: str, timeframe: str, start: int | None, end: int | None
) -> pd.DataFrame:
    """Bars of one series with ``start <= ts < end`` (ns; ``None``: unbounded)."""
    snap = run_tx(engine, lambda conn: _read(conn, symbol, timeframe, start, end), write=False)
    if snap.built and snap.version is not None:
        _store_blocks(engine, symbol, timeframe, snap.version, snap.built)
    return to_frame([part.between(start, end) for part in snap.parts])


def to_frame(parts: Sequence[BarArrays]) -> pd.DataFrame:
    """The bars of ``parts`` (in time order) as a DataFrame on a UTC ``DatetimeIndex``
    named ``timestamp``, float64 columns ``open high low close volume`` and
    ``vwap``/``trade_count`` when any value is set. Values are copied once, straight
    into the frame's single 2-D block."""
    parts = [p for p in parts if len(p)]
    names = [*blocks.PRICE_COLUMNS]
    for optional in ("vwap", "trade_count"):
        if any(not np.isnan(getattr(p, optional)).all() for p in parts):
            names.append(optional)
    n = sum(len(p) for p in parts)
    ts = np.empty(n, dtype=np.int64)
    values = np.empty((len(names), n), dtype=np.float64)
    at = 0
    for part in parts:
        stop = at + len(part)
        ts[at:stop] = part.ts
        for i, name in enumerate(names):
            values[i, at:stop] = getattr(part, name)
        at = stop
    index = pd.DatetimeIndex(ts.view("datetime64[ns]"), name="timestamp").tz_localize("UTC")
    return pd.DataFrame(values.T, index=index, columns=names, copy=False)


def _read(conn: Connection, symbol: str, tf: str, start: int | None, end: int | None) -> _Snapshot:
    series = TABLES["bar_series"]
    row = conn.execute(
        select(series.c.first_ts, series.c.last_ts, series.c.version).where(
            series.c.symbol == symbol, series.c.timeframe == tf
        )
    ).first()
    if row is None:
        return _Snapshot()
    lo = row.first_ts if start is None else max(start, row.first_ts)
    hi = row.last_ts + 1 if end is None else min(end, row.last_ts + 1)  # exclusive
    snap = _Snapshot(version=row.version)
    series_span = (row.first_ts, row.last_ts + 1)
    if lo >= hi:
        return snap
    span = blocks.block_span(tf)
    first_key = int(blocks.block_starts(np.array([lo]), span)[0])
    last_key = int(blocks.block_starts(np.array([hi - 1]), span)[0])
    cached = _cached_blocks(conn, symbol, tf, first_key, last_key)
    missing_from: int | None = None
    for key in range(first_key, last_key + span, span):
        if key in cached:
            if missing_from is not None:
                _read_missing(conn, snap, (symbol, tf), (missing_from, key), (lo, hi), series_span)
                missing_from = None
            snap.parts.append(cached[key])
        elif missing_from is None:
            missing_from = key
    if missing_from is not None:
        _read_missing(
            conn, snap, (symbol, tf), (missing_from, last_key + span), (lo, hi), series_span
        )
    return snap


def _cached_blocks(
    conn: Connection, symbol: str, tf: str, first_key: int, last_key: int
) -> dict[int, BarArrays]:
    params = (symbol, tf, first_key, last_key)
    if is_postgres(conn):  # binary protocol: bytea arrives as raw bytes, not hex text
        raw: psycopg.Connection[Any] = driver_connection(conn)
        with raw.cursor(binary=True) as cur:
            rows = cur.execute(_BLOCKS_SELECT.format(p="%s"), params).fetchall()
    else:
        rows = driver_connection(conn).execute(_BLOCKS_SELECT.format(p="?"), params).fetchall()
    return {key: blocks.unpack(n, flags, bytes(payload)) for key, n, flags, payload in rows}


def _read_missing(
    conn: Connection,
    snap: _Snapshot,
    series: tuple[str, str],
    keys: tuple[int, int],
    wanted: tuple[int, int],
    stored: tuple[int, int],
) -> None:
    """Read the bars of the uncached blocks ``[keys[0], keys[1])``: whole, to cache them,
    unless the query wants under ``WHOLE_BLOCK_FRACTION`` of the stored time span there."""
    symbol, tf = series
    lo, hi = max(wanted[0], keys[0]), min(wanted[1], keys[1])
    available = min(stored[1], keys[1]) - max(stored[0], keys[0])
    if (hi - lo) < WHOLE_BLOCK_FRACTION * available:
        snap.parts.append(_select_rows(conn, symbol, tf, lo, hi))
        return
    bars = _select_rows(conn, symbol, tf, keys[0], keys[1])
    snap.parts.append(bars)
    snap.built.extend(blocks.split(bars, blocks.block_span(tf)))


def _select_rows(conn: Connection, symbol: str, tf: str, lo: int, hi: int) -> BarArrays:
    params = (symbol, tf, lo, hi)
    if is_postgres(conn):
        raw: psycopg.Connection[Any] = driver_connection(conn)
        with raw.cursor() as cur, cur.copy(_PG_COPY, params) as copy:
            stream = b"".join(bytes(chunk) for chunk in copy)
        ts, *floats = pgcopy.decode(stream, _PG_KINDS)
        return BarArrays(ts.astype(np.int64), *(f.astype(np.float64) for f in floats))
    rows = driver_connection(conn).execute(_SQLITE_SELECT, params).fetchall()
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=9 * len(rows))
    cols = flat.reshape(len(rows), 9).T.copy()
    cols[7:][np.isinf(cols[7:])] = np.nan
    ts = (cols[0].astype(np.int64) << 32) | cols[1].astype(np.int64)
    return BarArrays(ts, *cols[2:])


def _store_blocks(
    engine: Engine, symbol: str, tf: str, version: int, built: list[tuple[int, BarArrays]]
) -> None:
    """Cache rebuilt blocks if the series is still at ``version``; never wait long."""

    if not built:
        return

    def store(conn: Connection) -> None:
        series = TABLES["bar_series"]
        current = conn.execute(
            select(series.c.version)
            .where(series.c.symbol == symbol, series.c.timeframe == tf)
            .with_for_update(read=True)
        ).scalar()
        if current != version:
            return
        table = TABLES["bar_blocks"]
        ins = (postgresql.insert if is_postgres(conn) else sqlite.insert)(table)
        stmt = ins.on_conflict_do_update(
            index_elements=["symbol", "timeframe", "block_start"],
            set_={c: ins.excluded[c] for c in ("n_rows", "flags", "payload")},
        )
        rows = []
        for key, bars in built:
            n_rows, flags, payload = blocks.pack(bars)
            rows.append(
                {
                    "symbol": symbol,
                    "timeframe": tf,
                    "block_start": key,
                    "n_rows": n_rows,
                    "flags": flags,
                    "payload": payload,
                }
            )
        conn.execute(stmt, rows)

    try:
        run_tx(engine, store, attempts=1, lock_wait_ms=CACHE_LOCK_WAIT_MS)
    except DBAPIError as exc:
        if not is_lock_timeout(exc):
            raise
