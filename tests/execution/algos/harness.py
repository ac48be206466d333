"""A one-symbol minute panel, a scripted strategy and an engine with an algo stage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from alphapulse.data.panel import Panel
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import Engine, FillAt, RunResult
from alphapulse.engine.stages import GuardAction, PassThroughRisk, RiskManager
from alphapulse.execution.algos import AlgoConfig
from alphapulse.execution.algos.stage import build_stage
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.model.orders import Side
from alphapulse.model.signals import OrderRequest, Signals

MIN = 60_000_000_000
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC
FREE = {"commission": {"model": "none"}, "slippage": {"model": "none"}}


def minute_panel(
    n: int, volume: float = 1000.0, days: int = 1, low: float = 99.5, start: int = T0
) -> Panel:
    """``n`` one-minute bars per day (flat at 100) on ``days`` consecutive days."""
    ts = np.concatenate([start + d * 86_400 * 10**9 + MIN * np.arange(n) for d in range(days)])
    t = len(ts)
    c = np.full((t, 1), 100.0)
    fields = {
        "open": c.copy(),
        "high": c + 0.5,
        "low": np.full((t, 1), low),
        "close": c.copy(),
        "volume": np.full((t, 1), volume),
    }
    return Panel(ts.astype(np.int64), ("AAA",), fields)


class Scripted:
    """Explicit orders (``orders``) and the first symbol's target directions
    (``directions``) by step."""

    def __init__(
        self,
        orders: dict[int, list[OrderRequest]] | None = None,
        directions: dict[int, float] | None = None,
        chooser: Callable[[int, Context], str | None] | None = None,
    ) -> None:
        self.orders = orders or {}
        self.directions = directions or {}
        if chooser is not None:
            self.execution_algo = chooser

    def on_bar(self, ctx: Context) -> Signals:
        direction = np.full(ctx.n_symbols, np.nan)  # a target for the first symbol only
        direction[0] = self.directions.get(ctx.t, np.nan)
        return Signals(direction, orders=tuple(self.orders.get(ctx.t, [])))


class HaltAt(PassThroughRisk):
    """A risk stage that halts the strategy from bar ``t`` on."""

    inert = False

    def __init__(self, t: int) -> None:
        self.t = t

    def on_bar(self, bar: BarSlice, ctx: Context) -> GuardAction:
        return GuardAction(halt=bar.t >= self.t)


class BlockNewRisk(PassThroughRisk):
    """A risk stage that blocks new risk (a daily-loss limit, say) on bars ``lo..hi-1``."""

    inert = False

    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi

    def on_bar(self, bar: BarSlice, ctx: Context) -> GuardAction:
        return GuardAction(block_new_risk=self.lo <= bar.t < self.hi)


def buy(qty: float, algo: str, sid: int = 0) -> OrderRequest:
    return OrderRequest(sid, Side.BUY, qty, tag=f"algo:{algo}")


def run(
    panel: Panel,
    strategy: Scripted,
    *,
    execution: dict[str, Any] | None = None,
    tz: str = "UTC",
    cash: float = 1e9,
    risk: RiskManager | None = None,
    fill_at: FillAt = "next_open",
    **algo: Any,
) -> tuple[RunResult, Engine]:
    ex = ExecutionConfig.model_validate(execution or FREE)
    feed = PanelFeed(panel, tz)
    stage = build_stage(AlgoConfig(**algo), ex, panel.symbols, tz, strategy, fill_at)
    engine = Engine(
        strategy=strategy,
        symbols=panel.symbols,
        history=feed.history,
        venue=SimulatedVenue(ex, panel.symbols),
        initial_cash=cash,
        risk=risk,
        fill_at=fill_at,
        algo=stage,
    )
    return engine.run(feed), engine


def children(result: RunResult, parent_id: int | None = None) -> list[Any]:
    """The algo's child orders (of one parent), in id order."""
    tag = None if parent_id is None else f"algo:{parent_id}"
    return [
        o
        for o in result.orders
        if o.tag.startswith("algo:") and o.tag[5:].isdigit() and (tag is None or o.tag == tag)
    ]
