"""Run the packaged Alembic migrations programmatically."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
#: Alembic keeps the running migration's context in process globals (``alembic.context``,
#: ``alembic.op``): two threads migrating at once (two paper sessions starting in the
#: API server) would swap them. One migration at a time per process.
_ONE_AT_A_TIME: Final = threading.Lock()


def alembic_config() -> Config:
    """The packaged ``alembic.ini`` (``script_location`` is its own folder)."""
    return Config(str(MIGRATIONS_DIR / "alembic.ini"))


def head_revision() -> str:
    """The newest revision shipped with the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` before the first migration)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` in one transaction (safe to run concurrently,
    from processes or threads)."""
    _run(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the database to ``revision`` (``"base"`` drops everything)."""
    _run(engine, lambda cfg: command.downgrade(cfg, revision))


def _run(engine: Engine, action: Callable[[Config], None]) -> None:
    cfg = alembic_config()
    with _ONE_AT_A_TIME, engine.connect() as conn:
        cfg.attributes["connection"] = conn
        action(cfg)
        if conn.in_transaction():
            conn.commit()
