"""Range-query latency of ``Store.read_bars`` (p50/p99 ms) for one symbol-year of
1-minute bars (~98k rows), with other symbols stored alongside.

    .venv/bin/python benchmarks/bench_store_query.py                        # SQLite
    .venv/bin/python benchmarks/bench_store_query.py \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/test             # PostgreSQL

Reported: the first (cold) full-year read, which rebuilds the block cache; warm
full-year reads; random 1-month and 1-day windows; and, for reference, the uncached
row path (the same query straight from ``bars``, no cache involved).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store_common import percentiles, scratch_database, synthetic_bars

from alphapulse.store import Store, open_store
from alphapulse.store.bars_read import _select_rows, to_frame
from alphapulse.store.engine import run_tx

DAY_NS = 86_400 * 10**9


def timed(fn: object, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def uncached(store: Store, symbol: str) -> None:
    run_tx(
        store.engine,
        lambda conn: to_frame([_select_rows(conn, symbol, "1m", -(2**62), 2**62)]),
        write=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--symbols", type=int, default=5, help="symbols stored (1 year each)")
    parser.add_argument("-n", type=int, default=200, help="queries per measurement")
    args = parser.parse_args()
    rng = np.random.default_rng(1)

    with scratch_database(args.url) as url, open_store(url) as store:
        frames = [synthetic_bars(f"SYM{i:03d}", seed=i) for i in range(args.symbols)]
        for frame in frames:
            store.upsert_bars(frame, "1m")
        symbol = "SYM000"
        ts = frames[0]["timestamp"]
        first, last = int(ts.iloc[0].value), int(ts.iloc[-1].value)
        print(f"backend: {store.backend}; {symbol}: {len(frames[0]):,} bars")

        start = time.perf_counter()
        year = store.read_bars(symbol, "1m")
        print(f"cold full year (builds cache): {(time.perf_counter() - start) * 1e3:7.2f} ms")
        assert len(year) == len(frames[0])
        print(
            "warm full year:     ",
            percentiles(timed(lambda: store.read_bars(symbol, "1m"), args.n)),
        )

        def window(days: int) -> None:
            lo = int(rng.integers(first, last - days * DAY_NS))
            store.read_bars(symbol, "1m", lo, lo + days * DAY_NS)

        print("random 30-day range:", percentiles(timed(lambda: window(30), args.n)))
        print("random 1-day range: ", percentiles(timed(lambda: window(1), args.n)))
        print("uncached full year: ", percentiles(timed(lambda: uncached(store, symbol), 20)))


if __name__ == "__main__":
    main()
