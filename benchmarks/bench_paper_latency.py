"""Paper-trading decision latency: time from a cross-section's arrival (the row is
ready) to its orders (every strategy stepped: History append, venue matching, marks,
risk, signals, targets, orders), on a 50-symbol S&P 500 daily replay at full speed.
The database commit comes after the decision and is timed separately (``--db``).

.venv/bin/python benchmarks/bench_paper_latency.py [--symbols 50] [--db sqlite:///x.sqlite]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import numpy as np

from alphapulse.config import parse_config
from alphapulse.data.catalog import dataset_symbols
from alphapulse.live.session import run_session

CASES: dict[str, tuple[list[dict[str, Any]], dict[str, Any] | None]] = {
    "sma_cross, no risk stage": ([{"strategy": "sma_cross"}], None),
    "sma_cross + full risk stage": (
        [{"strategy": "sma_cross"}],
        {"stops": {"stop_loss": {"value": 0.05}, "trailing": True}},
    ),
    "4 strategies + risk (last one's orders)": (
        [
            {"strategy": "buy_and_hold"},
            {"strategy": "sma_cross", "params": {"fast": 20, "slow": 100}},
            {"strategy": "mean_reversion", "params": {"window": 20, "entry_z": 2.0}},
            {"strategy": "momentum", "params": {"lookback": 126, "rebalance_every": 21}},
        ],
        {},
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--db", default=None, help="also journal to this database (commit timing)")
    args = ap.parse_args()
    symbols = dataset_symbols("sp500_daily_2013_2018")[: args.symbols]
    print(f"{len(symbols)} symbols, sp500_daily_2013_2018 replayed at full speed")
    print(f"{'case':42s} {'steps':>6s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for name, (strategies, risk) in CASES.items():
        raw: dict[str, Any] = {
            "name": "bench-latency",
            "data": {"source": "sp500_daily_2013_2018", "symbols": symbols},
            "initial_cash": 1_000_000,
            "execution": {"commission": {"model": "per_share", "per_share": 0.005},
                          "slippage": {"model": "fixed_bps", "bps": 2},
                          "max_participation": 0.05},
            "strategies": strategies,
            "paper": {"feed": "replay", "speed": 0, "session": f"bench-{time.time_ns()}"},
        }  # fmt: skip
        if risk is not None:
            raw["risk"] = risk
        cfg = parse_config(raw)
        t0 = time.perf_counter()
        done = run_session(cfg, persist=args.db is not None, db_url=args.db)
        wall = time.perf_counter() - t0
        lat = np.array(done.runtime.latency.samples) * 1e3
        p50, p90, p99 = np.percentile(lat, [50, 90, 99])
        print(f"{name:42s} {len(lat):6d} {p50:8.3f} {p90:8.3f} {p99:8.3f} {lat.max():8.3f}"
              f"   (run {wall:.1f} s)")  # fmt: skip
    print("target: p99 < 5 ms without ML")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
