"""Sweep-kernel throughput against the event engine on the S&P 500 daily dataset.

Grid: fast 5..50 step 5 x slow 20..200 step 10 (pairs with fast >= slow skipped), every
pair on every symbol (each its own single-symbol, all-in portfolio). The event engine
runs the same strategy on one symbol; its time per run is extrapolated to the grid.

    .venv/bin/python benchmarks/bench_sweep.py [--symbols 495] [--repeat 3] [--threads N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numba

from alphapulse.config import parse_config
from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.engine.runner import run_strategy
from alphapulse.sweep import Costs, SymbolBars, run_sma_cross, sweep_sma

RATE = 0.0005
BPS = 1.0
CASH = 100_000.0


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="sp500_daily_2013_2018")
    ap.add_argument("--symbols", type=int, default=495, help="first N symbols of the dataset")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    ap.add_argument("--engine-symbol", default="AAPL")
    args = ap.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)

    t0 = time.perf_counter()
    symbols = dataset_symbols(args.dataset)[: args.symbols]
    panel = load_panel(args.dataset, symbols)
    load_s = time.perf_counter() - t0
    fast, slow = list(range(5, 51, 5)), list(range(20, 201, 10))
    pairs = [(f, s) for f in fast for s in slow if f < s]
    fa, sl = [p[0] for p in pairs], [p[1] for p in pairs]
    costs = Costs(CASH, RATE, BPS)

    t = time.perf_counter()
    run_sma_cross(SymbolBars.from_panel(panel, panel.symbols[0]), fa, sl, costs)
    warm_s = time.perf_counter() - t  # numba compile, or loading its on-disk cache

    bars = [SymbolBars.from_panel(panel, s) for s in panel.symbols]
    n_runs = len(pairs) * len(bars)
    n_steps = len(pairs) * sum(b.n_bars for b in bars)

    def kernels_only() -> None:
        for b in bars:
            run_sma_cross(b, fa, sl, costs)

    def full_api() -> None:
        sweep_sma(panel, fast, slow, initial_cash=CASH, commission_rate=RATE, slippage_bps=BPS)

    kern_s = _best(kernels_only, args.repeat)
    api_s = _best(full_api, args.repeat)

    cfg = parse_config(
        {
            "data": {"source": args.dataset, "symbols": [args.engine_symbol]},
            "initial_cash": CASH,
            "execution": {
                "commission": {"model": "percent", "rate": RATE},
                "slippage": {"model": "fixed_bps", "bps": BPS},
            },
            "strategies": [{"strategy": "sma_cross", "params": {"fast": 10, "slow": 100}}],
        }
    )
    own = load_panel(args.dataset, [args.engine_symbol])
    eng_s = _best(lambda: run_strategy(cfg, cfg.strategies[0], own), args.repeat)
    eng_total = eng_s * n_runs

    print(f"load {panel.n_symbols} symbols x {panel.n_bars} bars: {load_s:.2f} s")
    print(
        f"numba threads {numba.get_num_threads()}, warm-up (compile or cache load): {warm_s:.2f} s"
    )
    print(
        f"grid: {len(pairs)} pairs x {len(bars)} symbols = {n_runs:,} runs, {n_steps:,} bar-steps"
    )
    print(
        f"kernels only (no curves): best of {args.repeat}: {kern_s:.3f} s, "
        f"{n_runs / kern_s:,.0f} runs/s, {n_steps / kern_s / 1e6:.1f} M bar-steps/s"
    )
    print(
        f"sweep_sma (curves + sharpe + DataFrame): best of {args.repeat}: {api_s:.3f} s, "
        f"{n_runs / api_s:,.0f} runs/s"
    )
    print(
        f"event engine, one run ({args.engine_symbol} {own.n_bars} bars): {eng_s * 1e3:.1f} ms "
        f"-> grid extrapolated {eng_total:,.0f} s ({eng_total / 3600:.2f} h); "
        f"speed-up {eng_total / kern_s:,.0f}x (kernels), {eng_total / api_s:,.0f}x (sweep_sma)"
    )


if __name__ == "__main__":
    main()
