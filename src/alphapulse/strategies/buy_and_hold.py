"""Buy and hold: each symbol is bought (its equal slot) at its first bar and kept."""

from collections.abc import Mapping

import numpy as np

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy
from alphapulse.sweep.signals import FloatArray, VectorSignals


class BuyAndHold(Strategy):
    def on_bar(self, ctx: Context) -> Signals:
        return Signals(np.where(np.isnan(ctx.last_prices), np.nan, 1.0))

    def vectorized_signals(
        self, prices: FloatArray, fields: Mapping[str, FloatArray]
    ) -> VectorSignals:
        """Long from each symbol's first price on."""
        return VectorSignals(np.where(np.isnan(prices), np.nan, 1.0))
