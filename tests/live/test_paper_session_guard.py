"""A persisted paper session is one config and one process: a restart with a config that
trades differently is refused naming the changed keys (nothing written), a second
process on a running session is refused naming the holder, and a SIGKILLed holder
leaves no stale lock."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text

from alphapulse.config import parse_config
from alphapulse.live.identity import (
    SessionConfigError,
    canonical_config,
    config_changes,
    config_hash,
)
from alphapulse.live.journal import run_id_for
from alphapulse.live.lock import SessionBusyError, SessionLock, advisory_key, dead_here
from alphapulse.live.session import run_session
from alphapulse.store import Store, open_store
from alphapulse.store.schema import TABLES
from tests.store.store_helpers import create_schema

from .helpers import paper_cfg

ROOT = Path(__file__).resolve().parents[2]
DATA = {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT", "XOM"],
        "start": "2016-01-01", "end": "2016-04-30"}  # fmt: skip
ONE = [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}]


def _raw(**over: Any) -> dict[str, Any]:
    return paper_cfg(data=DATA, strategies=ONE, **over)


def _counts(store: Store, run_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with store.engine.connect() as conn:
        for name in ("orders", "fills", "portfolio_snapshots", "bus_outbox"):
            t = TABLES[name]
            where = t.c.session == "paper-test" if name == "bus_outbox" else t.c.run_id == run_id
            out[name] = conn.execute(select(func.count()).select_from(t).where(where)).scalar()
    out["cash"] = store.read_cash(run_id)
    run = store.read_run(run_id)
    assert run is not None
    out["initial_cash"] = run["initial_cash"]
    return out


def test_changed_config_is_refused_and_writes_nothing(db_url: str, shared_data: Path) -> None:
    done = run_session(parse_config(_raw()), db_url=db_url)
    rid = done.run_ids["sma_cross"]
    with open_store(db_url) as store:
        before = _counts(store, rid)
    assert before["fills"] > 0 and before["bus_outbox"] > 0

    changed = _raw(initial_cash=50_000.0)
    changed["strategies"] = [{"strategy": "sma_cross", "params": {"fast": 7, "slow": 20}}]
    with pytest.raises(SessionConfigError) as err:
        run_session(parse_config(changed), db_url=db_url)
    msg = str(err.value)
    assert "'paper-test'" in msg and "--session NEW_NAME" in msg and "\n" not in msg
    assert "initial_cash: 100000.0 -> 50000.0" in msg
    assert "strategies.0.params.fast: 5 -> 7" in msg
    with open_store(db_url) as store:
        assert _counts(store, rid) == before  # nothing mixed in

    # keys that do not change what is traded resume the session
    pacing = _raw(workers=2)
    pacing["paper"] = {**pacing["paper"], "speed": 1000.0, "bus": "memory"}
    again = run_session(parse_config(pacing), db_url=db_url)
    assert again.run_ids == done.run_ids and again.runtime.completed
    # the changed config runs as a new session, beside the old one
    changed["paper"] = {**changed["paper"], "session": "fast7"}
    other = run_session(parse_config(changed), db_url=db_url)
    assert other.run_ids["sma_cross"] == run_id_for("fast7", "sma_cross")
    with open_store(db_url) as store:
        assert _counts(store, rid) == before
        cash = store.read_cash(other.run_ids["sma_cross"])
        assert cash is not None and cash["cash"] == pytest.approx(
            other.results["sma_cross"].cash[-1]
        )


def test_config_changes_name_every_differing_key() -> None:
    a = canonical_config(parse_config(_raw()))
    b = canonical_config(parse_config(_raw(fill_at="close", paper={"feed": "replay", "speed": 5})))
    assert config_changes(a, a) == []
    assert config_changes(a, b) == ['fill_at: "next_open" -> "close"']  # speed is ignored
    assert config_changes({**a, "new_key": None}, a) == []  # a newer version's optional key
    explicit = parse_config(_raw(fill_at="next_open", workers=3))
    assert config_hash(canonical_config(explicit, defaults=False)) == config_hash(
        canonical_config(parse_config(_raw()), defaults=False)
    )
    extra = {**a, "strategies": [*a["strategies"], {"strategy": "momentum"}]}
    assert config_changes(a, extra) == ['strategies.1.strategy: "(unset)" -> "momentum"']


def _cli(config: Path, db_url: str, *args: str) -> subprocess.Popen[bytes]:
    code = "from alphapulse.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "paper", str(config), "--db", db_url, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "ALPHAPULSE_CODE_VERSION": "test", "COLUMNS": "400"},
    )


def _steps(store: Store) -> int:
    snaps = TABLES["portfolio_snapshots"]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(snaps)).scalar() or 0)


def _error_line(proc: subprocess.Popen[bytes]) -> str:
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err.decode()[-2000:]
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_second_process_is_refused_and_a_killed_holder_leaves_no_lock(
    db_url: str, tmp_path: Path, shared_data: Path
) -> None:
    raw = _raw()
    config = tmp_path / "paper.yaml"
    config.write_text(yaml.safe_dump(raw))
    holder = _cli(config, db_url, "--speed", "86400")  # a bar a second: minutes
    try:
        with open_store(db_url) as store:
            deadline = time.monotonic() + 120
            while _steps(store) == 0 and holder.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert holder.poll() is None and _steps(store) > 0
            second = _cli(config, db_url, "--speed", "0")
            line = _error_line(second)
            assert "'paper-test' is already running" in line and f"pid={holder.pid}@" in line
            assert holder.poll() is None  # the holder was not disturbed
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=30)
            held = _steps(store)

            # no stale lock: the next start resumes and finishes the session
            done = run_session(parse_config(raw), db_url=db_url)
            assert done.runtime.completed and done.runtime.steps > 0
            assert _steps(store) > held
            assert store.read_run(run_id_for("paper-test", "sma_cross"))["status"] == "finished"

        changed = yaml.safe_load(config.read_text())
        changed["initial_cash"] = 1.0e6
        config.write_text(yaml.safe_dump(changed))
        line = _error_line(_cli(config, db_url))
        assert "initial_cash: 100000.0 -> 1000000.0" in line and "--session NEW_NAME" in line
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def _hold(store: Store, session: str, name: str) -> Any:
    """A connection named ``name`` holding the session's advisory lock."""
    conn = store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": name})
    key = advisory_key(session, str(conn.execute(text("SELECT current_schema()")).scalar()))
    assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
    return conn


@pytest.mark.postgres
def test_a_dead_local_holder_is_waited_for_and_a_live_one_refused(
    pg_session: tuple[str, str],
) -> None:
    """A SIGKILLed holder's connection can outlive it for a moment: a lock held under the
    name of a process of this host that is gone is waited for, not refused; one held by
    a live process is refused at once, naming it."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid no longer runs
    here = socket.gethostname()
    assert dead_here(f"alphapulse paper pid={gone.pid}@{here}")
    assert not dead_here(f"alphapulse paper pid={os.getpid()}@{here}")
    assert not dead_here(f"alphapulse paper pid={gone.pid}@another-host")
    assert not dead_here("psql")
    with open_store(create_schema(*pg_session)) as store:
        stale = _hold(store, "s1", f"alphapulse paper pid={gone.pid}@{here}")
        closer = threading.Timer(0.5, stale.close)  # the server sees the connection end
        closer.start()
        lock = SessionLock(store, "s1")
        try:
            lock.acquire()  # waits for the stale connection instead of refusing
        finally:
            closer.join()
            lock.release()
        live = _hold(store, "s2", f"alphapulse paper pid={os.getpid()}@{here}")
        try:
            with pytest.raises(SessionBusyError, match=f"pid={os.getpid()}@"):
                SessionLock(store, "s2").acquire()
        finally:
            live.close()


@pytest.mark.postgres
def test_stores_in_one_database_lock_their_sessions_apart(pg_session: tuple[str, str]) -> None:
    """Advisory locks are database-wide; the key includes the store's schema, so two
    stores kept as schemas of one database run a session of the same name at once,
    while a second holder in the same store is still refused (and can take it after
    the release)."""
    with open_store(create_schema(*pg_session)) as a, open_store(create_schema(*pg_session)) as b:
        first, other = SessionLock(a, "paper"), SessionLock(b, "paper")
        first.acquire()
        try:
            other.acquire()  # another store: not blocked
            other.release()
            with pytest.raises(SessionBusyError, match="'paper' is already running"):
                SessionLock(a, "paper").acquire()
        finally:
            first.release()
        again = SessionLock(a, "paper")
        again.acquire()
        again.release()
