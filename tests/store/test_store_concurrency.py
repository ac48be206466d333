"""Several processes writing overlapping bar batches while another reads: no lost,
duplicated or torn rows on either backend."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
from sqlalchemy import text
from store_helpers import CONC_MINUTES, CONC_SYMBOLS, check_rows, run_reader, run_writer

from alphapulse.store import open_store

WRITERS = 3
#: fork starts workers in milliseconds; they open their own store (no shared connection).
START_METHOD = "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def test_concurrent_writers_and_reader(store_url: str) -> None:
    # the workers also race to create the schema: migrations serialise themselves
    ctx = mp.get_context(START_METHOD)
    start, stop = ctx.Barrier(WRITERS + 1), ctx.Event()
    writers = [ctx.Process(target=run_writer, args=(store_url, w, start)) for w in range(WRITERS)]
    reader = ctx.Process(target=run_reader, args=(store_url, WRITERS, start, stop))
    for p in [*writers, reader]:
        p.start()
    for p in writers:
        p.join(timeout=90)
    stop.set()
    reader.join(timeout=30)
    assert [p.exitcode for p in [*writers, reader]] == [0] * (WRITERS + 1)

    with open_store(store_url) as store, store.engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM bars")).scalar_one()
        distinct = conn.execute(
            text("SELECT count(*) FROM (SELECT DISTINCT symbol, ts FROM bars) k")
        ).scalar_one()
    # every key written by some writer is stored exactly once
    assert total == distinct == len(CONC_SYMBOLS) * CONC_MINUTES
    with open_store(store_url) as store:
        for j, symbol in enumerate(CONC_SYMBOLS):
            frame = store.read_bars(symbol, "1m")
            assert len(frame) == CONC_MINUTES
            check_rows(frame, j, WRITERS)  # each row is one writer's values, entirely
            store.clear_bar_cache(symbol)  # and the cache agrees with the rows
            assert np.array_equal(store.read_bars(symbol, "1m").to_numpy(), frame.to_numpy())
