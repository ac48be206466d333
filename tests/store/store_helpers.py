"""Helpers of the store tests: PostgreSQL availability policy, scratch schemas, bar
frames and the worker processes of the concurrency and interruption tests (importable
by name so ``multiprocessing`` spawn children can run them)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

PG_URL_ENV = "ALPHAPULSE_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC in ns
MINUTE = 60_000_000_000


def pg_unreachable(reason: str) -> None:
    """Skip a PostgreSQL test locally; fail it under CI (``CI=true``)."""
    if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


def libpq_conninfo(url: str) -> str:
    """A libpq URL (no SQLAlchemy driver suffix) for ``psycopg.connect``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_schema(base_url: str, prefix: str) -> str:
    """A URL whose connections use a new, empty schema ``<prefix>_<random>``."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_conninfo(base_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    # Test-only: commits need not wait for the WAL flush (the schema is thrown away).
    options = f"-csearch_path={schema} -csynchronous_commit=off"
    return (
        make_url(base_url)
        .update_query_dict({"options": options})
        .render_as_string(hide_password=False)
    )


def session_schemas(url: str) -> Iterator[tuple[str, str]]:
    """``(url, prefix)`` for this test session's schemas; drops them all afterwards.

    Each test gets its own schema (fresh migrations, full isolation); they share a
    session-unique prefix so concurrent sessions (xdist, other checkouts) never collide.
    """
    try:
        admin = psycopg.connect(libpq_conninfo(url), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pg_unreachable(f"{make_url(url).render_as_string()}: {exc}")
        raise AssertionError("unreachable") from exc
    prefix = f"aptest_{uuid.uuid4().hex[:8]}"
    try:
        yield url, prefix
    finally:
        rows = admin.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix + "_",)
        ).fetchall()
        admin.execute("SET synchronous_commit = off")
        for i in range(0, len(rows), 8):  # a few per transaction: bounded lock table use
            names = sql.SQL(", ").join(sql.Identifier(r[0]) for r in rows[i : i + 8])
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(names))
        admin.close()


def bars_frame(
    symbols: list[str], n: int, *, start: int = 0, seed: int = 0, writer: int | None = None
) -> pd.DataFrame:
    """``n`` one-minute bars per symbol from minute ``start``. With ``writer`` the values
    encode (writer, symbol, minute) so a stored row can be traced to its writer."""
    rng = np.random.default_rng(seed)
    frames = []
    for j, symbol in enumerate(symbols):
        minutes = np.arange(start, start + n)
        if writer is None:
            close = 100 + np.cumsum(rng.normal(0, 0.1, n))
            open_ = close + rng.normal(0, 0.05, n)
            volume = rng.integers(1, 1000, n).astype(float)
        else:
            close = _traced_close(writer, j, minutes)
            open_ = close - 0.25
            volume = np.full(n, float(writer))
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "timestamp": pd.to_datetime(T0 + minutes * MINUTE, unit="ns", utc=True),
                    "open": open_,
                    "high": np.maximum(open_, close) + 0.5,
                    "low": np.minimum(open_, close) - 0.5,
                    "close": close,
                    "volume": volume,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _traced_close(writer: Any, symbol_index: int, minutes: Any) -> Any:
    """A close that encodes (writer, symbol, minute); 1 + so every price is positive."""
    return 1.0 + writer * 1_000_000.0 + symbol_index * 100_000.0 + minutes


# -- worker processes -------------------------------------------------------------------
CONC_SYMBOLS = ["AAA", "BBB"]
CONC_MINUTES = 6_000


def writer_batches(writer: int) -> list[tuple[int, int]]:
    """Overlapping ``(start, n)`` minute ranges, in a writer-specific order; big batches
    take PostgreSQL's COPY path, small ones the executemany path."""
    ranges = [(s, 2_500) for s in range(0, CONC_MINUTES - 2_500 + 1, 700)]
    ranges += [(s, 400) for s in range(100, CONC_MINUTES - 400, 900)]
    order = np.random.default_rng(writer).permutation(len(ranges))
    return [ranges[i] for i in order]


def run_writer(url: str, writer: int, start: object) -> None:
    """Write this writer's overlapping batches (one transaction each) once all workers
    are ready (``start``: a multiprocessing Barrier)."""
    from alphapulse.store import open_store

    with open_store(url) as store:
        start.wait()  # type: ignore[attr-defined]
        for first, n in writer_batches(writer):
            store.upsert_bars(bars_frame(CONC_SYMBOLS, n, start=first, writer=writer), "1m")


def run_reader(url: str, writers: int, start: object, stop: object) -> None:
    """Read while the writers write (until ``stop`` is set); exit non-zero on a torn,
    duplicated or unsorted row."""
    from alphapulse.store import open_store

    with open_store(url) as store:
        start.wait()  # type: ignore[attr-defined]
        reads = 0
        while not stop.is_set() or reads == 0:  # type: ignore[attr-defined]
            for j, symbol in enumerate(CONC_SYMBOLS):
                check_rows(store.read_bars(symbol, "1m"), j, writers)
                reads += 1


def check_rows(frame: pd.DataFrame, symbol_index: int, writers: int) -> None:
    """Every row equals exactly one writer's values for its key; no duplicates/disorder."""
    ts = frame.index.asi8
    if len(ts) and not (np.diff(ts) > 0).all():
        raise AssertionError("duplicate or unsorted timestamps")
    minutes = (ts - T0) // MINUTE
    writer = frame["volume"].to_numpy().astype(int)
    if not ((writer >= 0) & (writer < writers)).all():
        raise AssertionError("row from no writer")
    close = _traced_close(writer, symbol_index, minutes)
    expected = np.column_stack([close - 0.25, close + 0.5, close - 0.75, close])
    got = frame[["open", "high", "low", "close"]].to_numpy()
    if not np.array_equal(got, expected):
        raise AssertionError("torn row: OHLC values from more than one writer")


def run_slow_import(url: str, batches: int, atomic: bool, half_done: object) -> None:
    """Import ``batches`` batches (one transaction, or one per batch), signal after half
    of them and then hang, so the parent can kill this process mid-import."""
    from alphapulse.store import open_store

    store = open_store(url)
    frames = [bars_frame(["KIL"], 500, start=500 * i, seed=i) for i in range(batches)]

    def gen() -> Iterator[pd.DataFrame]:
        for i, frame in enumerate(frames):
            if i == batches // 2:
                half_done.set()  # type: ignore[attr-defined]
                time.sleep(600)
            yield frame

    if atomic:
        store.import_bars(gen(), "1m", import_id="kill-test")
    else:
        for frame in gen():
            store.upsert_bars(frame, "1m")
