"""Bulk bar import throughput of the store (bars/s), fresh and repeated (idempotent).

    .venv/bin/python benchmarks/bench_store_import.py                       # SQLite
    .venv/bin/python benchmarks/bench_store_import.py \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/test             # PostgreSQL
    ... --real      # the 14 files of ../shared/data/intraday_1min_2024 instead

Each run uses a scratch database (temp SQLite file / fresh PostgreSQL schema). One
``upsert_bars`` call (one transaction) per symbol-year of 1-minute bars.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store_common import DATA_DIR, real_bars, scratch_database, synthetic_bars

from alphapulse.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--symbols", type=int, default=10, help="synthetic symbols (1 year each)")
    parser.add_argument("--real", action="store_true", help="import the intraday_1min_2024 files")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="intraday_1min_2024 folder")
    args = parser.parse_args()

    if args.real:
        frames = [real_bars(p) for p in sorted(args.data.glob("*_1min_2024.csv.gz"))]
    else:
        frames = [synthetic_bars(f"SYM{i:03d}", seed=i) for i in range(args.symbols)]
    total = sum(len(f) for f in frames)
    print(f"{len(frames)} symbols, {total:,} bars ({'real' if args.real else 'synthetic'})")

    with scratch_database(args.url) as url, open_store(url) as store:
        print(f"backend: {store.backend}")
        for label in ("fresh import", "re-run (identical, no-op)"):
            start = time.perf_counter()
            written = sum(store.upsert_bars(f, "1m") for f in frames)
            elapsed = time.perf_counter() - start
            rate = total / elapsed
            print(f"{label:28s} {rate:12,.0f} bars/s  ({elapsed:.2f} s, {written:,} written)")
        prices = ("open", "high", "low", "close")
        changed = [f.assign(**{c: f[c] * 1.001 for c in prices}) for f in frames[:2]]
        n = sum(len(f) for f in changed)
        start = time.perf_counter()
        written = sum(store.upsert_bars(f, "1m") for f in changed)
        elapsed = time.perf_counter() - start
        print(
            f"{'update (all values change)':28s} {n / elapsed:12,.0f} bars/s  ({written:,} written)"
        )
        check = store.read_bars(frames[-1]["symbol"].iloc[0], "1m")
        assert len(check) == len(frames[-1]), "row count mismatch"


if __name__ == "__main__":
    main()
