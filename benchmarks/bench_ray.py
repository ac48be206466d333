"""Local processes against Ray on this machine: a parameter sweep (SMA grid, every
symbol of sp500_daily_2013_2018) and a multi-strategy backtest (4 strategies).

    .venv/bin/python benchmarks/bench_ray.py [--cpus 2] [--symbols 20]

Wall seconds, best of 2 after a warm-up (numba compiled, Ray workers started); Ray's
start-up and the first local map (the fork-server pool starting, kept for later maps)
are reported on their own. Results are checked equal to the in-process run."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from alphapulse.config import parse_config
from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.engine.runner import run_backtest
from alphapulse.executor import ExecutorConfig, get_executor
from alphapulse.executor.local import LocalExecutor
from alphapulse.sweep.grid import sweep_sma

DATASET = "sp500_daily_2013_2018"


def best(fn: Callable[[], Any], n: int = 2) -> tuple[float, Any]:
    fn()
    times, out = [], None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--symbols", type=int, default=20)
    a = ap.parse_args()
    symbols = dataset_symbols(DATASET)[: a.symbols]
    panel = load_panel(DATASET, symbols)
    fast, slow = list(range(5, 50, 5)), list(range(20, 200, 10))
    raw = {
        "name": "bench", "data": {"source": DATASET, "symbols": symbols},
        "strategies": [
            {"strategy": "buy_and_hold"},
            {"strategy": "sma_cross", "name": "sma", "params": {"fast": 20, "slow": 100}},
            {"strategy": "mean_reversion", "name": "mr"},
            {"strategy": "momentum", "name": "mom"},
        ],
    }  # fmt: skip
    print(f"panel: {panel.n_symbols} symbols x {panel.n_bars} bars; grid {len(fast)}x{len(slow)}")
    rows: list[tuple[str, float]] = []
    t_in, ref = best(lambda: sweep_sma(panel, fast, slow))
    rows.append(("sweep, in process (numba threads)", t_in))
    t = time.perf_counter()  # the fork-server pool starts here (numba threads are running)
    assert sweep_sma(panel, fast, slow, executor=LocalExecutor(a.cpus)).equals(ref)
    t_first = time.perf_counter() - t
    rows.append((f"sweep, local {a.cpus} processes, first map (pool start)", t_first))
    t_loc, got = best(lambda: sweep_sma(panel, fast, slow, executor=LocalExecutor(a.cpus)))
    assert got.equals(ref)
    rows.append((f"sweep, local {a.cpus} processes (pool kept)", t_loc))
    cfg = parse_config(raw)
    t_bt1, bt = best(lambda: run_backtest(cfg, panel, workers=1), 1)
    rows.append(("backtest 4 strategies, 1 process", t_bt1))
    t_btn, _ = best(lambda: run_backtest(cfg, panel, workers=a.cpus), 1)
    rows.append((f"backtest 4 strategies, local {a.cpus} processes", t_btn))
    t = time.perf_counter()
    ray_ex = get_executor(ExecutorConfig(kind="ray", num_cpus=a.cpus))
    rows.append(("ray.init (local head)", time.perf_counter() - t))
    t_ray, got = best(lambda: sweep_sma(panel, fast, slow, executor=ray_ex))
    assert got.equals(ref)
    rows.append((f"sweep, Ray {a.cpus} CPUs", t_ray))
    cfg_ray = parse_config({**raw, "executor": {"kind": "ray"}})
    t_btr, btr = best(lambda: run_backtest(cfg_ray, panel), 1)
    for k in bt:
        np.testing.assert_array_equal(bt[k].equity, btr[k].equity)
    rows.append((f"backtest 4 strategies, Ray {a.cpus} CPUs", t_btr))
    for name, sec in rows:
        print(f"{name:<45} {sec:8.2f} s")


if __name__ == "__main__":
    main()
