"""Fault injection: a connection that dies inside a write, a migration that fails half-way,
writers of one series racing. Nothing already stored is lost or corrupted; a failed
write leaves no trace but its ``failed`` import row; the block cache never serves what a
failed write would have written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, inspect, text
from store_helpers import MINUTE, T0, bars_frame

from alphapulse.store import Store, bars, imports, migrate, open_store, runs
from alphapulse.store.conflicts import BarConflictError, OnConflict
from alphapulse.store.engine import create_store_engine, driver_connection, is_postgres
from alphapulse.store.schema import Base

#: What the write fails with: PostgreSQL terminated the backend; SQLite's connection closed.
DROPPED = r"(?i)terminat|closed"
SNAPSHOT_TABLES = ("bars", "bar_series", "bar_blocks", "orders", "fills", "positions")


def drop_connection(conn: Connection) -> None:
    """The connection dies mid-transaction: PostgreSQL terminates this backend (the
    client sees the server hang up); SQLite's connection is closed under SQLAlchemy."""
    if is_postgres(conn):
        conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
    else:
        driver_connection(conn).close()
        conn.exec_driver_sql("SELECT 1")  # fails like the next statement would


def dying_after(fn: Callable[..., Any], calls: int) -> Callable[..., Any]:
    """``fn``, but the connection (its first argument) dies after its ``calls``-th call."""
    done = 0

    def wrapped(conn: Connection, *args: Any, **kwargs: Any) -> Any:
        nonlocal done
        result = fn(conn, *args, **kwargs)
        done += 1
        if done == calls:
            drop_connection(conn)
        return result

    return wrapped


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a bar or run write touches, in a stable order."""
    with store.engine.connect() as conn:
        return {
            t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}"))), key=repr)
            for t in SNAPSHOT_TABLES
        }


def cached_frame(store: Store) -> pd.DataFrame:
    """Store bars of OLD and read them, so their blocks are cached."""
    store.upsert_bars(bars_frame(["OLD"], 300), "1m")
    frame = store.read_bars("OLD", "1m")
    assert snapshot(store)["bar_blocks"]  # the read cached them
    return frame


def test_connection_lost_mid_import_stores_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    before_frame = cached_frame(store)
    before = snapshot(store)
    new = [bars_frame(["OLD", "NEW"], 100, start=250 + 100 * i, seed=9 + i) for i in range(4)]
    monkeypatch.setattr(imports, "import_batch", dying_after(imports.import_batch, 2))
    with pytest.raises(Exception, match=DROPPED):
        store.import_bars(new, "1m", import_id="cut", on_conflict="replace")
    monkeypatch.undo()
    assert snapshot(store) == before  # no bars, no series row or version bump, cache kept
    pd.testing.assert_frame_equal(store.read_bars("OLD", "1m"), before_frame)
    assert store.read_imports().set_index("import_id").loc["cut", "status"] == "failed"

    summary = store.import_bars(new, "1m", import_id="cut", on_conflict="replace")
    assert summary.status == "completed"
    expected = pd.concat([bars_frame(["OLD"], 300), *new]).query("symbol == 'OLD'")
    expected = expected.drop_duplicates("timestamp", keep="last").set_index("timestamp")
    got = store.read_bars("OLD", "1m")  # the new values, not the cached old blocks
    pd.testing.assert_frame_equal(got, expected.drop(columns="symbol"), check_names=False)


def test_connection_lost_mid_upsert_keeps_the_stored_series(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    before_frame = cached_frame(store)
    before = snapshot(store)
    changed = bars_frame(["OLD"], 300, seed=5)
    monkeypatch.setattr(bars, "_write", dying_after(bars._write, 1))  # bars and blocks done
    with pytest.raises(Exception, match=DROPPED):
        store.upsert_bars(changed, "1m")
    monkeypatch.undo()
    assert snapshot(store) == before
    pd.testing.assert_frame_equal(store.read_bars("OLD", "1m"), before_frame)
    assert store.upsert_bars(changed, "1m") == 300  # the store works on a fresh connection
    got = store.read_bars("OLD", "1m")
    assert got["close"].tolist() == changed["close"].tolist()


def test_connection_lost_mid_run_write_leaves_no_half_run(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = store.record_run("cut", initial_cash=10_000.0)
    ts = pd.to_datetime([T0, T0 + MINUTE], unit="ns", utc=True)
    orders = pd.DataFrame({"order_id": [1, 2], "symbol": "AAA", "side": ["buy", "sell"]})
    fills = pd.DataFrame(
        {"order_id": [1, 2], "timestamp": ts, "symbol": "AAA", "side": ["buy", "sell"],
         "quantity": 10.0, "price": [100.0, 101.0]}
    )  # fmt: skip
    cash = store.read_cash(run_id)
    before = snapshot(store)
    monkeypatch.setattr(runs, "insert_fills", dying_after(runs.insert_fills, 1))
    with pytest.raises(Exception, match=DROPPED):
        store.write_run_outputs(run_id, orders, fills, None, None)
    monkeypatch.undo()
    assert snapshot(store) == before and store.read_cash(run_id) == cash  # no orders/fills
    counts = store.write_run_outputs(run_id, orders, fills, None, None)
    assert (counts["orders"], counts["fills"]) == (2, 2)
    assert store.read_positions(run_id)["realized_pnl"].tolist() == [10.0]


def test_failed_migration_rolls_back_and_a_restart_completes(store_url: str) -> None:
    """A revision that fails half-way leaves the database at the previous revision with
    none of its tables; the next open migrates to head."""
    engine = create_store_engine(store_url)
    head = migrate.head_revision()
    revision = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(head)
    previous = revision.down_revision if revision is not None else None
    assert isinstance(previous, str)
    try:
        migrate.upgrade(engine, previous)
        tables = set(inspect(engine).get_table_names())

        def fail_late(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE ALEMBIC_VERSION"):
                raise RuntimeError("injected: the server went away")

        event.listen(engine, "before_cursor_execute", fail_late)
        with pytest.raises(RuntimeError, match="injected"):
            migrate.upgrade(engine)
        event.remove(engine, "before_cursor_execute", fail_late)
        assert migrate.current_revision(engine) == previous
        assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        assert migrate.current_revision(store.engine) == head
        assert set(inspect(store.engine).get_table_names()) >= set(Base.metadata.tables)


def _race(writers: list[Callable[[], Any]]) -> list[BaseException | None]:
    """Run the writers in threads at once; each one's exception (or None)."""
    start = threading.Barrier(len(writers))
    results: list[BaseException | None] = [None] * len(writers)

    def go(i: int) -> None:
        start.wait()
        try:
            writers[i]()
        except BaseException as exc:  # reported to the test, not lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("policy", ["replace", "reject"])
def test_racing_imports_of_one_series_end_as_one_serial_order(
    store_url: str, policy: OnConflict
) -> None:
    """Two imports of overlapping, differing bars of one series at once: the result is
    one of the two serial orders; under ``reject`` the loser gets a clean conflict."""
    frames = [
        bars_frame(["RACE"], 3_000, start=0, seed=1),
        bars_frame(["RACE"], 3_000, start=1_000, seed=2),
    ]

    def serial(order: tuple[int, ...]) -> pd.DataFrame:
        merged = pd.concat([frames[i] for i in order]).drop_duplicates("timestamp", keep="last")
        return merged.drop(columns="symbol").set_index("timestamp").sort_index()

    with open_store(store_url) as a, open_store(store_url) as b:
        errors = _race(
            [
                partial(s.import_bars, [frames[i]], "1m", on_conflict=policy)
                for i, s in enumerate((a, b))
            ]
        )
        got = a.read_bars("RACE", "1m")
        with a.engine.connect() as conn:
            version = conn.execute(text("SELECT version FROM bar_series")).scalar_one()
    if policy == "replace":
        assert errors == [None, None] and version == 2
        orders: list[tuple[int, ...]] = [(0, 1), (1, 0)]
    else:
        assert errors.count(None) == 1  # the other one is refused cleanly
        assert any(isinstance(e, BarConflictError) for e in errors)
        orders = [(errors.index(None),)]
    assert any(got.equals(serial(o)) for o in orders)
