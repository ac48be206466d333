"""Persisted strategy on/off switches, read by the paper runtime.

The flags live in a small ``strategy_states`` table next to the store's own tables (on its
own ``MetaData``, created on first use, outside the Alembic history). A strategy without a
row is enabled. Usage from the runtime::

    from alphapulse.api.control import is_enabled
    if not is_enabled(store, "sma_cross"):   # a Store, an Engine or a database URL
        ...  # skip this strategy's orders
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from alphapulse.store import Store
from alphapulse.store.engine import create_store_engine, run_tx

TABLE_NAME: Final = "strategy_states"
_METADATA = MetaData()
STATES = Table(
    TABLE_NAME,
    _METADATA,
    Column("name", String(200), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
StoreLike = Store | Engine | str


def ensure_table(engine: Engine) -> None:
    """Create ``strategy_states`` if it is missing (idempotent)."""
    _METADATA.create_all(engine, tables=[STATES], checkfirst=True)


def is_enabled(store: StoreLike, name: str) -> bool:
    """Whether strategy ``name`` is enabled (default True: no row, or no table yet)."""
    states = strategy_states(store, [name])
    return states.get(name, True)


def strategy_states(store: StoreLike, names: list[str] | None = None) -> dict[str, bool]:
    """Stored flags (of ``names`` when given); strategies never switched are absent."""
    query = select(STATES.c.name, STATES.c.enabled)
    if names is not None:
        query = query.where(STATES.c.name.in_(names))
    engine, owned = _engine(store)
    try:
        try:
            rows = run_tx(engine, lambda conn: conn.execute(query).all(), write=False)
        except DBAPIError:
            if inspect(engine).has_table(TABLE_NAME):
                raise
            return {}
        return {str(n): bool(e) for n, e in rows}
    finally:
        if owned:
            engine.dispose()


def set_enabled(store: StoreLike, name: str, enabled: bool) -> None:
    """Switch strategy ``name`` on or off (upsert, one transaction)."""
    engine, owned = _engine(store)
    try:
        ensure_table(engine)
        row = {"name": name, "enabled": enabled, "updated_at": datetime.now(UTC)}

        def write(conn: Connection) -> None:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            ins = dialect.insert(STATES).values(row)
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["name"],
                    set_={"enabled": ins.excluded.enabled, "updated_at": ins.excluded.updated_at},
                )
            )

        run_tx(engine, write)
    finally:
        if owned:
            engine.dispose()


def _engine(store: StoreLike) -> tuple[Engine, bool]:
    if isinstance(store, Store):
        return store.engine, False
    if isinstance(store, Engine):
        return store, False
    return create_store_engine(store), True
