"""Buy and hold: each symbol is bought (its equal slot) at its first bar and kept."""

import numpy as np

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy


class BuyAndHold(Strategy):
    def on_bar(self, ctx: Context) -> Signals:
        return Signals(np.where(np.isnan(ctx.last_prices), np.nan, 1.0))
