"""Time-series momentum: every ``rebalance_every`` bars, hold symbols whose trailing
``lookback``-bar return exceeds ``threshold`` (long), else flat (or short with ``short``)."""

from collections.abc import Mapping

import numpy as np
from pydantic import Field

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy, StrategyParams
from alphapulse.sweep.signals import FloatArray, VectorSignals, momentum_directions


class TimeSeriesMomentum(Strategy):
    class Params(StrategyParams):
        lookback: int = Field(126, ge=1)
        rebalance_every: int = Field(21, ge=1)
        threshold: float = Field(0.0, gt=-1.0, allow_inf_nan=False)  # a return is > -100%
        short: bool = False

    def on_bar(self, ctx: Context) -> Signals | None:
        close = ctx.prices(self.p.lookback + 1)
        if len(close) <= self.p.lookback or ctx.t % self.p.rebalance_every:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = close[-1] / close[0] - 1.0
        down = -1.0 if self.p.short else 0.0
        d = np.where(ret > self.p.threshold, 1.0, down)
        return Signals(np.where(np.isnan(ret), np.nan, d))

    def vectorized_signals(
        self, prices: FloatArray, fields: Mapping[str, FloatArray]
    ) -> VectorSignals:
        """Every rebalancing row's view (see ``sweep.signals.momentum_directions``)."""
        down = -1.0 if self.p.short else 0.0
        p = self.p
        return VectorSignals(
            momentum_directions(prices, p.lookback, p.rebalance_every, p.threshold, down)
        )
