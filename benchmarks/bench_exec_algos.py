"""Execution algorithms on real one-minute bars (``intraday_1min_2024``).

1. Implementation shortfall: every session at the first bar from 10:00 New York, each
   symbol gets a parent of 1%, 5% or 20% of its previous session's volume (buys and
   sells on alternate sessions), executed as one market order, TWAP, VWAP, POV and the
   arrival-price (IS) schedule over the rest of the day (horizon 6h, session 09:30-16:00,
   leftover cancelled: the rest counts as opportunity cost) under the square-root
   impact model (coefficient 1, 2 bps spread) and 0.5 c/share commission. Prints
   notional-weighted bps of the decided notional: fees, spread, impact, timing,
   opportunity and their sum, the implementation shortfall.
2. Speed: a 50-symbol intraday backtest (the 14 symbols repeated under new names), SMA
   crossover 30/120, without and with a VWAP ``execution:`` block (and with
   ``min_child_notional``, and with ``child_interval``): CPU seconds (best of
   ``--repeat``) and the overhead.

``--child-interval K`` also works the table's parents with a child every K bars.

.venv/bin/python benchmarks/bench_exec_algos.py [--start 2024-01-02] [--end 2024-03-01]
    [--speed-end 2024-01-31] [--repeat 3] [--skip-table] [--skip-speed] [--min-child 500000]
    [--interval 5] [--child-interval 1] [--algos market,twap,vwap,pov,is]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from alphapulse.analytics.execution_quality import execution_frame, execution_summary
from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.context import Context
from alphapulse.engine.feed import PanelFeed, session_ids
from alphapulse.engine.loop import Engine
from alphapulse.engine.runner import run_strategy
from alphapulse.execution.algos import AlgoConfig
from alphapulse.execution.algos.stage import ExecutionAlgoStage, build_stage
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.model.orders import Side
from alphapulse.model.signals import OrderRequest, Signals

DATASET = "intraday_1min_2024"
TZ = "America/New_York"
SIZES = (0.01, 0.05, 0.20)
ALGOS = ("market", "twap", "vwap", "pov", "is")
COSTS = {
    "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
    "slippage": {"model": "sqrt_impact", "coefficient": 1.0, "spread_bps": 2.0},
    "allow_short": True,
}
ALGO = {"horizon": "6h", "max_participation": 0.25, "session": ("09:30", "16:00")}


class ParentsAtTen:
    """At the first bar from 10:00 of each session: ``size`` x the previous session's
    volume per symbol, tagged with the algorithm (previous sessions only: causal)."""

    def __init__(self, panel: Panel, size: float, algo: str) -> None:
        sessions = session_ids(panel.timestamps, TZ)
        local = pd.DatetimeIndex(pd.to_datetime(panel.timestamps, utc=True)).tz_convert(TZ)
        minute = np.asarray(local.hour * 60 + local.minute)
        vol = pd.DataFrame(np.nan_to_num(panel.fields["volume"])).groupby(sessions).sum()
        prev = vol.shift(1)
        first = pd.Series(np.arange(len(sessions)))[minute >= 600].groupby(sessions[minute >= 600])
        self.when = {int(t): int(s) for s, t in first.min().items()}
        self.prev = {int(s): prev.loc[s].to_numpy() for s in prev.index}
        self.size, self.tag = size, f"algo:{algo}"

    def on_bar(self, ctx: Context) -> Signals:
        n = ctx.n_symbols
        s = self.when.get(ctx.t)
        if s is None or not np.isfinite(self.prev[s]).all():
            return Signals(np.full(n, np.nan))
        side = Side.BUY if s % 2 == 0 else Side.SELL
        orders = tuple(
            OrderRequest(i, side, float(np.floor(self.size * v)), tag=self.tag)
            for i, v in enumerate(self.prev[s])
            if self.size * v >= 1 and np.isfinite(ctx.last_prices[i])
        )
        return Signals(np.full(n, np.nan), orders=orders)


def shortfall_row(panel: Panel, size: float, algo: str, every: int = 1) -> dict[str, Any]:
    ex = ExecutionConfig.model_validate(COSTS)
    strategy = ParentsAtTen(panel, size, algo)
    feed = PanelFeed(panel, TZ)
    cfg = AlgoConfig(algo=algo, child_interval=every, **ALGO)
    stage = build_stage(cfg, ex, panel.symbols, TZ, strategy)
    engine = Engine(
        strategy=strategy,
        symbols=panel.symbols,
        history=feed.history,
        venue=SimulatedVenue(ex, panel.symbols),
        initial_cash=1e10,
        algo=stage,
    )
    r = engine.run(feed)
    df = execution_frame(r.executions, r.fills)
    s = execution_summary(df)
    return {
        "size": f"{size:.0%}",
        "algo": algo,
        "parents": s["n_parents"],
        "fill %": 100 * (s["fill_ratio"] or 0.0),
        "IS bps": s["shortfall_bps"],
        "IS sd": float(df["shortfall_bps"].std()),
        "fees": s["fees_bps"],
        "spread": s["spread_cost_bps"],
        "impact": s["impact_cost_bps"],
        "timing": s["timing_cost_bps"],
        "opport.": s["opportunity_cost_bps"],
        "vs VWAP": s["vwap_slippage_bps"],
        "particip. %": 100 * (s["participation"] or 0.0),
        "minutes": s["mean_duration_s"] / 60,
        "children": len(r.orders),
    }


def fifty_symbols(end: str) -> Panel:
    base = load_panel(DATASET, start="2024-01-02", end=end)
    reps = -(-50 // base.n_symbols)
    names = tuple(f"{s}{k}" for k in range(reps) for s in base.symbols)[:50]
    fields = {k: np.tile(v, (1, reps))[:, :50].copy() for k, v in base.fields.items()}
    return Panel(base.timestamps, names, fields)


def speed(panel: Panel, repeat: int, min_child: float, every: int) -> None:
    strat: dict[str, Any] = {"strategy": "sma_cross", "params": {"fast": 30, "slow": 120}}
    raw = {"data": {"source": DATASET, "session_tz": TZ}, "initial_cash": 1e8,
           "execution": COSTS, "strategies": [strat]}  # fmt: skip
    algo = {**strat, "execution": {"algo": "vwap", **ALGO, "horizon": "30min"}}
    sized = {**algo, "execution": {**algo["execution"], "min_child_notional": min_child}}
    spaced = {**algo, "execution": {**algo["execution"], "child_interval": every}}
    cases = {
        "no algo": parse_config(raw),
        "vwap": parse_config({**raw, "strategies": [algo]}),
        f"vwap min child {min_child:,.0f}": parse_config({**raw, "strategies": [sized]}),
        f"vwap child_interval {every}": parse_config({**raw, "strategies": [spaced]}),
    }
    best: dict[str, float] = {}
    work, spent = ExecutionAlgoStage.work, [0.0]

    def timed(self: ExecutionAlgoStage, *args: Any) -> Any:  # the stage's own CPU time
        t0 = time.process_time()
        try:
            return work(self, *args)
        finally:
            spent[0] += time.process_time() - t0

    ExecutionAlgoStage.work = timed  # type: ignore[method-assign,assignment]
    try:
        for name, cfg in cases.items():
            times, stage = [], []
            for _ in range(repeat):
                spent[0] = 0.0
                t = time.process_time()
                r = run_strategy(cfg, cfg.strategies[0], panel)
                times.append(time.process_time() - t)
                stage.append(spent[0])
            best[name] = min(times)
            per_step = best[name] / panel.n_bars * 1e6
            print(
                f"{name:26s} {best[name]:7.2f} s CPU  {per_step:7.1f} µs/step"
                f"  orders {len(r.orders)}  fills {len(r.fills)}  stage.work {min(stage):.2f} s"
            )
    finally:
        ExecutionAlgoStage.work = work  # type: ignore[method-assign]
    for name in list(cases)[1:]:
        print(f"overhead of {name}: {best[name] / best['no algo'] - 1:+.1%}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", default="2024-01-02")
    ap.add_argument("--end", default="2024-03-01")
    ap.add_argument("--speed-end", default="2024-01-31")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-table", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--min-child", type=float, default=500_000.0, help="min_child_notional")
    ap.add_argument("--interval", type=int, default=5, help="child_interval of the speed case")
    ap.add_argument("--child-interval", type=int, default=1, help="child_interval of the table")
    ap.add_argument("--algos", default=",".join(ALGOS), help="the table's algorithms")
    a = ap.parse_args()
    if not a.skip_table:
        panel = load_panel(DATASET, start=a.start, end=a.end)
        print(f"{DATASET}: {panel.n_symbols} symbols, {panel.n_bars} bars, {a.start}..{a.end}")
        algos = a.algos.split(",")
        rows = [shortfall_row(panel, z, al, a.child_interval) for z in SIZES for al in algos]
        with pd.option_context("display.width", 200, "display.float_format", "{:.1f}".format):
            print(pd.DataFrame(rows).to_string(index=False))
    if not a.skip_speed:
        panel = fifty_symbols(a.speed_end)
        print(f"speed: {panel.n_symbols} symbols x {panel.n_bars} one-minute steps")
        speed(panel, a.repeat, a.min_child, a.interval)


if __name__ == "__main__":
    main()
