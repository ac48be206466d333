"""Event-engine throughput on the whole S&P 500 daily dataset (495 symbols x 1259 bars).

.venv/bin/python benchmarks/bench_engine.py [--strategy sma_cross] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from alphapulse.config import parse_config
from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.engine.runner import run_strategy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="sp500_daily_2013_2018")
    ap.add_argument("--strategy", default="sma_cross")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    symbols = dataset_symbols(args.dataset)
    panel = load_panel(args.dataset, symbols)
    load_s = time.perf_counter() - t0
    cfg = parse_config(
        {
            "data": {"source": args.dataset},
            "initial_cash": 10_000_000,
            "execution": {"max_participation": 0.05},
            "strategies": [{"strategy": args.strategy}],
        }
    )
    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        r = run_strategy(cfg, cfg.strategies[0], panel)
        best = min(best, time.perf_counter() - t)
    cells = panel.n_bars * panel.n_symbols
    print(f"load {panel.n_symbols} symbols x {panel.n_bars} bars: {load_s:.2f} s")
    print(
        f"{args.strategy}: best of {args.repeat}: {best:.3f} s, "
        f"{panel.n_bars / best:,.0f} steps/s, "
        f"{cells / best / 1e6:.2f} M symbol-bars/s, {len(r.fills)} fills"
    )


if __name__ == "__main__":
    main()
