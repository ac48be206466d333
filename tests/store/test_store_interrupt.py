"""Interrupted imports leave the store consistent; re-running completes idempotently."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import text
from store_helpers import bars_frame, run_slow_import

from alphapulse.store import Store, open_store

BATCHES = 6
START_METHOD = "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def frames() -> list[pd.DataFrame]:
    return [bars_frame(["KIL"], 500, start=500 * i, seed=i) for i in range(BATCHES)]


def count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM bars")).scalar_one())


def test_exception_half_way_rolls_back(store: Store) -> None:
    store.upsert_bars(bars_frame(["OLD"], 50), "1m")
    before = store.read_bars("OLD", "1m")

    def interrupted() -> Iterator[pd.DataFrame]:
        for i, frame in enumerate(frames()):
            if i == BATCHES // 2:
                raise KeyboardInterrupt  # e.g. Ctrl-C half-way
            yield frame

    with pytest.raises(KeyboardInterrupt):
        store.import_bars(interrupted(), "1m", import_id="imp")
    assert count(store) == 50  # nothing of the interrupted import
    pd.testing.assert_frame_equal(store.read_bars("OLD", "1m"), before)
    assert store.read_imports().set_index("import_id").loc["imp", "status"] == "failed"

    summary = store.import_bars(frames(), "1m", import_id="imp")
    assert (summary.status, summary.rows_written) == ("completed", 500 * BATCHES)
    assert store.import_bars(frames(), "1m", import_id="imp").rows_written == 0
    assert count(store) == 50 + 500 * BATCHES
    assert store.read_imports().set_index("import_id").loc["imp", "status"] == "completed"


@pytest.mark.parametrize("atomic", [True, False], ids=["one_transaction", "per_batch"])
def test_killed_import_process(store_url: str, atomic: bool) -> None:
    """SIGKILL while a transaction is open: all-or-nothing per transaction."""
    ctx = mp.get_context(START_METHOD)
    half_done = ctx.Event()
    proc = ctx.Process(target=run_slow_import, args=(store_url, BATCHES, atomic, half_done))
    proc.start()
    try:
        assert half_done.wait(timeout=60), "the import never got half-way"
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL

    with open_store(store_url) as store:
        stored = store.read_bars("KIL", "1m")
        # one transaction: nothing; per batch: exactly the committed whole batches
        assert len(stored) == (0 if atomic else 500 * (BATCHES // 2))
        written = sum(store.upsert_bars(f, "1m") for f in frames())
        assert written == 500 * BATCHES - len(stored)
        assert sum(store.upsert_bars(f, "1m") for f in frames()) == 0
        assert count(store) == 500 * BATCHES
        full = store.read_bars("KIL", "1m")
        assert full.index.is_unique and len(full) == 500 * BATCHES
