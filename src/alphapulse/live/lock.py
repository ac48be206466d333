"""One process per paper session: :class:`SessionLock`.

- PostgreSQL: ``pg_try_advisory_lock`` keyed by the store's schema and the session (64
  bits of SHA-256; advisory locks are database-wide, so two stores kept as schemas of
  one database must not share keys), held
  by one autocommit connection named ``alphapulse paper pid=<pid>@<host>``; the server
  drops it when that connection ends, so a SIGKILLed holder leaves nothing stale. The
  holder's name comes from ``pg_locks`` + ``pg_stat_activity``. A holder that is a
  process of this host no longer running is a connection the server has not yet seen
  close: ``acquire`` waits for it (up to ``DEAD_HOLDER_WAIT_S``) instead of refusing.
- SQLite: an OS file lock (``flock``) on ``<database>.paper-<session>.lock`` that holds
  the owner's pid; the kernel releases it when the process dies, however it dies. An
  in-memory database is private to its process and needs no lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import socket
import time
from pathlib import Path
from types import TracebackType

from sqlalchemy import Connection, text

from alphapulse.core.errors import AlphaPulseError
from alphapulse.store import Store
from alphapulse.store.engine import is_postgres

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_HOLDER_SQL = text(
    "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.classid::bigint = :hi AND l.objid::bigint = :lo AND l.database ="
    " (SELECT oid FROM pg_database WHERE datname = current_database())"
)


DEAD_HOLDER_WAIT_S = 10.0  # how long the server may take to drop a dead holder's lock
_APP_PREFIX = "alphapulse paper "
_OWNER = re.compile(r"^alphapulse paper pid=(\d+)@")


class SessionBusyError(AlphaPulseError):
    """Another process runs the session."""


def owner_name() -> str:
    """This process as a lock holder: ``pid=<pid>@<host>``."""
    return f"pid={os.getpid()}@{socket.gethostname()}"


def dead_here(application_name: str) -> bool:
    """Whether a lock holder's connection name is a paper process of this host that no
    longer runs (its pid is gone). Another host, an unknown name or a live (or reused)
    pid: False."""
    m = _OWNER.match(application_name)
    if m is None:
        return False
    pid = int(m.group(1))
    if application_name != f"{_APP_PREFIX}pid={pid}@{socket.gethostname()}"[:63]:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def advisory_key(session: str, schema: str) -> int:
    """The signed 64-bit advisory-lock key of ``session`` in the store of ``schema``."""
    digest = hashlib.sha256(f"alphapulse.paper:{schema}:{session}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SessionLock:
    """Held from :meth:`acquire` (raises :class:`SessionBusyError` naming the holder)
    to :meth:`release`; also a context manager."""

    def __init__(self, store: Store, session: str) -> None:
        self.store = store
        self.session = session
        self._conn: Connection | None = None
        self._key: int | None = None  # the advisory key held (PostgreSQL)
        self._fd: int | None = None

    def acquire(self) -> None:
        if is_postgres(self.store.engine):
            self._acquire_pg()
        else:
            self._acquire_file()

    def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            finally:
                self._key = None
                conn.invalidate()  # never back to the pool with the lock
                conn.close()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # releases the flock

    def _busy(self, holder: str) -> SessionBusyError:
        return SessionBusyError(
            f"paper session {self.session!r} is already running ({holder}); stop that "
            "process first, or start a new session with --session NEW_NAME"
        )

    def _acquire_pg(self) -> None:
        deadline = time.monotonic() + DEAD_HOLDER_WAIT_S
        while True:
            row = self._try_pg()
            if row is None:
                return
            name = row[0] if row[0] is not None else ""
            if not (dead_here(name) and time.monotonic() < deadline):
                holder = f"{name or 'backend'} (backend {row[1]})" if row[1] else "holder unknown"
                raise self._busy(holder)
            time.sleep(0.05)

    def _try_pg(self) -> tuple[str | None, int | None] | None:
        """Take the lock on a new connection (None), or the holder's (application name,
        backend pid); (None, None) when it is not known."""
        conn = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            name = f"{_APP_PREFIX}{owner_name()}"[:63]
            conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": name})
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            key = advisory_key(self.session, str(schema))
            if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                self._conn, self._key = conn, key
                return None
            row = conn.execute(_HOLDER_SQL, {"hi": (key >> 32) & 0xFFFFFFFF,
                                             "lo": key & 0xFFFFFFFF}).first()  # fmt: skip
        except BaseException:
            conn.close()
            raise
        conn.close()
        return (None, None) if row is None else (row[0], row[1])

    def lock_path(self) -> Path | None:
        """The lock file of a file database (None: in-memory)."""
        database = self.store.engine.url.database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        return Path(f"{database}.paper-{_UNSAFE.sub('_', self.session)}.lock")

    def _acquire_file(self) -> None:
        path = self.lock_path()
        if path is None:
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "pid unknown"
            os.close(fd)
            raise self._busy(f"{holder}, lock file {path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, owner_name().encode(), 0)
        self._fd = fd

    def __enter__(self) -> SessionLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
