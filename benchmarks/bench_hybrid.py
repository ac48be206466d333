"""Decision latency of the hybrid (HMM on the cross-sectional mean, three experts) on 50
symbols, bar by bar: p50/p99 of ``on_bar`` over bars without a refit, and the scheduled
HMM refits timed on their own (backtest: synchronous refits). ``--paper``: paper mode,
refits in a background thread (``--process``: a spawned process), so every bar counts
(refit bars included); the load average is printed with the figures. Wall time
(perf_counter) and the deciding thread's CPU time (thread_time) per bar: on a shared
machine the wall p99 is mostly the scheduler (the bar waits for a core), the CPU p99 is
the decision's own work. ``--gap-ms``: sleep between bars as a live feed would (a bar
arrives, the session wakes and decides), instead of deciding back to back; paper runs
need it (back to back, 1000 bars take ~0.2 s, before most background fits complete).

    .venv/bin/python benchmarks/bench_hybrid.py [--bars 1000] [--paper [--process]] [--gap-ms 0]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from alphapulse.data.catalog import load_panel
from alphapulse.engine.context import Context, History
from alphapulse.regimes.hmm import features
from alphapulse.strategies.registry import load_strategy

EXPERTS = [
    {"strategy": "sma_cross", "name": "trend", "params": {"fast": 20, "slow": 100}},
    {"strategy": "mean_reversion", "name": "revert", "params": {"window": 20}},
    {"strategy": "momentum", "name": "mom", "params": {"lookback": 126, "rebalance_every": 5}},
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1000)
    ap.add_argument("--paper", action="store_true", help="background HMM refits")
    ap.add_argument("--process", action="store_true", help="with --paper: fit in a process")
    ap.add_argument("--gap-ms", type=float, default=0.0, help="sleep between bars")
    args = ap.parse_args()
    from pathlib import Path

    syms = sorted(
        p.name.split("_")[0]
        for p in Path("/work/shared/data/sp500_daily_2013_2018").glob("*_data.csv.gz")
    )[:50]
    panel = load_panel("sp500_daily_2013_2018", syms)
    fields = {k: v[: args.bars] for k, v in panel.fields.items()}
    close = fields["close"]
    fields["close_ffill"] = close.copy()
    hist = History(fields, panel.timestamps[: args.bars])
    hyb = load_strategy(
        "hybrid",
        {
            "experts": EXPERTS,
            "detector": {"kind": "hmm", "n_states": 2, "min_train": 250, "refit_every": 63},
            "regimes": {
                "calm": {"weights": {"trend": 1, "revert": 1, "mom": 1}},
                "high_vol": {"weights": {"revert": 1}, "gross": 0.5},
            },
            "fuser": "risk_budget",
        },
    )
    det = hyb.detector  # type: ignore[attr-defined]
    if args.paper and args.process:  # no GIL shared with the decisions
        ctx_mp = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(1, mp_context=ctx_mp)
        pool.submit(features, np.zeros(3), 2).result()  # start it and import hmmlearn
        det.background(pool)
    elif args.paper:
        hyb.paper_mode()  # type: ignore[attr-defined]
    n = len(syms)
    lat, cpu, refit = [], [], []
    for t in range(args.bars):
        hist.advance(t + 1)
        ctx = Context(
            t,
            int(panel.timestamps[t]),
            tuple(syms),
            hist,
            np.zeros(n),
            np.zeros(n),
            close[t],
            1e6,
            1e6,
        )
        fits = det.n_fits
        if args.gap_ms:
            time.sleep(args.gap_ms / 1e3)
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        hyb.on_bar(ctx)
        dt = (time.perf_counter_ns() - t0) / 1e6
        dc = (time.thread_time_ns() - c0) / 1e6
        if t >= 10:  # first calls load the compiled kernels
            if det.n_fits != fits and not args.paper:
                refit.append(dt)
            else:
                lat.append(dt)
                cpu.append(dc)
    lat_a, cpu_a = np.array(lat), np.array(cpu)
    where = "process" if args.process else "thread"
    mode = f"paper (refits in a {where})" if args.paper else "backtest (synchronous refits)"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    gap = f", {args.gap_ms:g} ms between bars" if args.gap_ms else ""
    print(f"{mode}: {n} symbols, {args.bars} bars{gap}, {det.n_fits} fits; load average {load}")
    for what, a in (("wall", lat_a), ("CPU", cpu_a)):
        print(
            f"decision {what} ms: p50 {np.percentile(a, 50):.3f}  p99 {np.percentile(a, 99):.3f}"
            f"  max {a.max():.3f}"
        )
    if refit:
        print(f"refit bars ms (fit + decision): mean {np.mean(refit):.1f}  max {np.max(refit):.1f}")
    if args.paper and det.n_fits < 2:
        print("few background fits completed before the last bar: rerun with --gap-ms 2")
    if args.paper and args.process:
        pool.shutdown()


if __name__ == "__main__":
    main()
