"""Schema: Alembic upgrade/downgrade on both backends, migrations match the models."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, text

from alphapulse.store import open_store
from alphapulse.store.engine import create_store_engine, resolve_url
from alphapulse.store.migrate import (
    MIGRATIONS_DIR,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from alphapulse.store.schema import Base

TABLES = {
    "instruments", "bars", "bar_series", "bar_blocks", "corporate_actions", "quarantine",
    "imports", "runs", "portfolio_cash", "orders", "fills", "trades", "positions",
    "portfolio_snapshots", "signals", "predictions", "anomalies", "risk_events",
}  # fmt: skip
RUN_SCOPED = TABLES - {
    "instruments", "bars", "bar_series", "bar_blocks", "corporate_actions", "quarantine",
    "imports", "runs",
}  # fmt: skip


def _pg_objects(url: str) -> set[str]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = current_schema()"
                    " UNION ALL SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
                    " AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace ="
                    " (SELECT oid FROM pg_namespace WHERE nspname = current_schema()))"
                )
            )
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def test_upgrade_creates_the_schema(store_url: str) -> None:
    with open_store(store_url) as store:
        assert current_revision(store.engine) == head_revision()
        names = set(inspect(store.engine).get_table_names())
        assert names >= TABLES
        for table in RUN_SCOPED:
            fks = inspect(store.engine).get_foreign_keys(table)
            assert any(fk["referred_table"] == "runs" for fk in fks), table
        with store.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == []
    if store_url.startswith("postgresql"):
        assert {
            "alphapulse_apply_fill",
            "take_portfolio_snapshot",
            "trg_fills_apply",
        } <= _pg_objects(store_url)


def test_downgrade_and_upgrade_again(store_url: str) -> None:
    engine = create_store_engine(store_url)
    try:
        upgrade(engine)
        downgrade(engine, "0001_initial")
        assert current_revision(engine) == "0001_initial"
        if store_url.startswith("postgresql"):
            assert "take_portfolio_snapshot" not in _pg_objects(store_url)
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_open_store_twice_is_a_no_op(store_url: str) -> None:
    with open_store(store_url) as first:
        first.record_run("keep", run_id="r1")
    with open_store(store_url) as second:
        assert second.read_run("r1") is not None


@pytest.mark.postgres
def test_timescaledb_is_optional(pg_url: str) -> None:
    """The hypertable revision runs whether or not the extension exists."""
    with open_store(pg_url) as store, store.engine.connect() as conn:
        available = conn.execute(
            text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")
        ).scalar_one()
        installed = conn.execute(
            text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
        ).scalar_one()
        if not available:
            assert installed == 0
        elif installed:
            hyper = conn.execute(
                text(
                    "SELECT count(*) FROM timescaledb_information.hypertables"
                    " WHERE hypertable_name = 'bars'"
                )
            ).scalar_one()
            assert hyper == 1


def test_sqlite_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALPHAPULSE_DB_URL", raising=False)
    assert resolve_url(None) == "sqlite:///alphapulse.sqlite"
    with open_store() as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "alphapulse.sqlite").exists()
    monkeypatch.setenv("ALPHAPULSE_DB_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    with open_store() as store:
        assert store.backend == "sqlite"
    assert (tmp_path / "env.sqlite").exists()
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_migrations_are_packaged() -> None:
    assert (MIGRATIONS_DIR / "alembic.ini").is_file()
    assert (MIGRATIONS_DIR / "env.py").is_file()
    from alembic.script import ScriptDirectory

    from alphapulse.store.migrate import alembic_config

    files = {p.stem for p in (MIGRATIONS_DIR / "versions").glob("0*.py")}
    chain = {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    assert len(files) >= 4 and files == chain  # every file is one revision of one chain


def test_an_upgrade_is_one_transaction_on_sqlite(tmp_path: Path) -> None:
    """Version check and every revision in one BEGIN IMMEDIATE (the write lock held from
    the check to the commit), so concurrent migrators cannot run a revision twice."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'one.sqlite'}")
    begins: list[object] = []
    event.listen(engine, "begin", begins.append)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    assert len(begins) == 2  # the upgrade, then current_revision's read


def test_threads_migrating_at_once_each_reach_head(tmp_path: Path) -> None:
    """Alembic's migration context is a process global: threads upgrading at once (paper
    sessions started together in the API server) swapped it and failed (KeyError
    'config', tables created twice)."""
    engines = [create_store_engine(f"sqlite:///{tmp_path / f'{i}.sqlite'}") for i in range(4)]
    errors: list[BaseException] = []

    def migrate(engine: Engine) -> None:
        try:
            upgrade(engine)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert [current_revision(e) for e in engines] == [head_revision()] * len(engines)
    finally:
        for e in engines:
            e.dispose()
