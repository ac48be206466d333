"""Strategies used only by tests."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy, StrategyParams


class RandomSignals(Strategy):
    """Causal random directions: a function of (seed, t) only, never of prices after t.
    ``peek`` (tests only) reads the whole array behind the history view: a look-ahead bug."""

    class Params(StrategyParams):
        seed: int = 0
        p_trade: float = 0.2
        short: bool = False

    def on_bar(self, ctx: Context) -> Signals | None:
        rng = np.random.default_rng([self.p.seed, ctx.t])
        if rng.random() > self.p.p_trade:
            return None
        low = -1 if self.p.short else 0
        d = rng.integers(low, 2, ctx.n_symbols).astype(float)
        d[rng.random(ctx.n_symbols) < 0.5] = np.nan
        return Signals(d)


class Scripted(Strategy):
    """Directions by bar: ``directions[t]`` per symbol (None: no opinion); no opinion on
    the bars not listed."""

    class Params(StrategyParams):
        directions: dict[int, list[float | None]] = Field(default_factory=dict)

    def on_bar(self, ctx: Context) -> Signals | None:
        row = self.p.directions.get(ctx.t)
        if row is None:
            return None
        return Signals(np.array([np.nan if d is None else d for d in row], dtype=float))


class PeekingStrategy(Strategy):
    """Deliberately cheats by reading tomorrow's close (to prove the canary catches it)."""

    def on_bar(self, ctx: Context) -> Signals | None:
        full = ctx.close().base  # the array behind the read-only view
        if full is None or ctx.t + 1 >= full.shape[0]:
            return None
        up = full[ctx.t + 1] > full[ctx.t]
        return Signals(np.where(up, 1.0, 0.0))


class LimitDipBuyer(Strategy):
    """Places its own orders: a DAY limit buy 1% under the close with a bracket
    (stop-loss 5% under, take-profit 4% over the limit) whenever flat."""

    def on_bar(self, ctx: Context) -> Signals | None:
        from alphapulse.model.orders import OrderType, Side, TimeInForce
        from alphapulse.model.signals import OrderRequest

        close = ctx.close(1)
        if len(close) == 0:
            return None
        reqs = []
        for sid in np.flatnonzero((ctx.positions == 0) & ~np.isnan(close[-1])):
            limit = round(float(close[-1, sid]) * 0.99, 2)
            req = OrderRequest(
                int(sid),
                Side.BUY,
                10.0,
                OrderType.LIMIT,
                limit_price=limit,
                tif=TimeInForce.DAY,
                stop_loss=round(limit * 0.95, 2),
                take_profit=round(limit * 1.04, 2),
                cancel_working=True,
            )
            reqs.append(req)
        return Signals(np.full(ctx.n_symbols, np.nan), orders=tuple(reqs))


class TaggedBuy(Strategy):
    """One explicit market buy of the first symbol at the first bar, tagged ``tag``."""

    class Params(StrategyParams):
        tag: str = "strategy"

    def on_bar(self, ctx: Context) -> Signals | None:
        from alphapulse.model.orders import Side
        from alphapulse.model.signals import OrderRequest

        if ctx.t:
            return None
        nan = np.full(ctx.n_symbols, np.nan)
        return Signals(nan, orders=(OrderRequest(0, Side.BUY, 1.0, tag=self.p.tag),))
