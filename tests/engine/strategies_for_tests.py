"""Strategies used only by tests."""

from __future__ import annotations

import numpy as np

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


class PeekingStrategy(Strategy):
    """Deliberately cheats by reading tomorrow's close (to prove the canary catches it)."""

    def on_bar(self, ctx: Context) -> Signals | None:
        full = ctx.close().base  # the array behind the read-only view
        if full is None or ctx.t + 1 >= full.shape[0]:
            return None
        up = full[ctx.t + 1] > full[ctx.t]
        return Signals(np.where(up, 1.0, 0.0))
