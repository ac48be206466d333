"""Per-bar cost of the simulated venue: proportional to open orders, not to symbols.

.venv/bin/python benchmarks/bench_venue.py
"""

from __future__ import annotations

import time

import numpy as np

from alphapulse.engine.bars import BarSlice
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.model.orders import Order, OrderType, Side
from alphapulse.portfolio.ledger import Ledger


def per_bar_us(n_symbols: int, n_orders: int, bars: int = 200) -> float:
    symbols = tuple(f"S{i}" for i in range(n_symbols))
    venue = SimulatedVenue(ExecutionConfig(), symbols)
    for k in range(n_orders):
        sid = (k * 7919) % n_symbols
        venue.submit(
            Order(
                venue.next_order_id(),
                symbols[sid],
                sid,
                Side.BUY,
                1.0,
                0,
                type=OrderType.LIMIT,
                limit_price=1.0,
            )
        )
    px = np.random.default_rng(0).uniform(50, 150, n_symbols)
    vol = np.full(n_symbols, 1e6)
    account = Ledger(n_symbols, 1e12)
    t0 = time.perf_counter()
    for i in range(bars):
        venue.process_bar(BarSlice(i, i + 1, 0, px, px + 1, px - 1, px, vol), account)
    return (time.perf_counter() - t0) / bars * 1e6


def main() -> None:
    for n_symbols in (1_000, 50_000, 200_000):
        for n_orders in (10, 1_000):
            us = per_bar_us(n_symbols, n_orders)
            print(f"{n_symbols:>8,} symbols {n_orders:>6,} open orders: {us:9.1f} us per bar")


if __name__ == "__main__":
    main()
