"""Report speed: the tearsheet of a 495-symbol, 5-year run (S&P 500 daily, sma_cross) and
1,000 stationary-bootstrap resamples of its returns.

.venv/bin/python benchmarks/bench_report.py [--strategy sma_cross] [--repeat 3]

The backtest runs once (not timed) and its outputs are written with write_outputs; then
``build_report`` (reading the run folder back included), the same with a benchmark and
the prices for MAE/MFE read from the dataset, and ``robustness`` are timed.
Targets: report < 10 s, bootstrap block < 5 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from alphapulse.analytics.metrics import simple_returns
from alphapulse.analytics.report import build_report, load_run
from alphapulse.analytics.robustness import robustness
from alphapulse.analytics.run_robustness import sweep_inputs
from alphapulse.cli_report import write_report
from alphapulse.config import parse_config
from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.engine.outputs import write_outputs
from alphapulse.engine.runner import run_strategy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="sp500_daily_2013_2018")
    ap.add_argument("--strategy", default="sma_cross")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    panel = load_panel(args.dataset, dataset_symbols(args.dataset))
    cfg = parse_config(
        {
            "data": {"source": args.dataset},
            "initial_cash": 10_000_000,
            "execution": {"max_participation": 0.05},
            "strategies": [{"strategy": args.strategy}],
        }
    )
    t = time.perf_counter()
    r = run_strategy(cfg, cfg.strategies[0], panel)
    print(
        f"backtest {panel.n_symbols} symbols x {panel.n_bars} bars: {time.perf_counter() - t:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        t = time.perf_counter()
        inputs = sweep_inputs([r.equity], panel["volume"], panel["close"])
        write_outputs(r, run_dir, robustness=inputs)
        print(f"write_outputs (robustness block included): {time.perf_counter() - t:.2f} s")
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            run = load_run(run_dir)
            page = build_report(run)
            (run_dir / "report.html").write_text(page)
            best = min(best, time.perf_counter() - t)
        n_trades = len(run.table("trades"))
        t = time.perf_counter()
        write_report(run, run_dir / "full.html", dataset=args.dataset, benchmark="AAPL")
        full = time.perf_counter() - t
        size = (run_dir / "report.html").stat().st_size / 1e6
    print(f"report: {best:.2f} s (best of {args.repeat}; {n_trades:,} trades, {size:.1f} MB)")
    print(
        f"report with --benchmark AAPL --data (prices read, MAE/MFE of every trade): {full:.2f} s"
    )
    returns = simple_returns(np.asarray(r.equity))
    pnl = np.random.default_rng(0).normal(0, 1000, max(n_trades, 2))
    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        robustness(returns, 252.0, trade_pnl=pnl, initial_cash=r.initial_cash, n_resamples=1000)
        best = min(best, time.perf_counter() - t)
    print(f"robustness block, 1,000 resamples of {len(returns):,} returns: {best:.2f} s")


if __name__ == "__main__":
    main()
