"""Strategies used only by the risk property tests."""

from __future__ import annotations

import numpy as np

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from tests.engine.strategies_for_tests import RandomSignals


class RandomWeights(RandomSignals):
    """``RandomSignals`` (causal random directions, shorts with ``short``) with a random
    confidence per symbol. With ``portfolio: {method: equal_slot, gross: G}`` the target
    is d x c x G / N, so G > N gives single-name leverage above 1; flips come from
    consecutive draws."""

    def on_bar(self, ctx: Context) -> Signals | None:
        sig = super().on_bar(ctx)
        if sig is None:
            return None
        rng = np.random.default_rng([self.p.seed, ctx.t, 1])
        return Signals(sig.direction, confidence=rng.uniform(0.05, 1.0, ctx.n_symbols))
