"""SMA crossover: go long when the fast SMA crosses above the slow one, exit on the
opposite cross (ties count as "not above", see ``indicators.TIE_TOL``)."""

from collections.abc import Mapping

from pydantic import Field, model_validator

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy, StrategyParams
from alphapulse.strategies.step_kernels import sma_cross_last
from alphapulse.sweep.signals import FloatArray, VectorSignals, sma_cross_directions


class SmaCross(Strategy):
    class Params(StrategyParams):
        fast: int = Field(10, ge=1)
        slow: int = Field(30, ge=2)

        @model_validator(mode="after")
        def _fast_below_slow(self) -> "SmaCross.Params":
            if self.fast >= self.slow:
                raise ValueError(f"fast ({self.fast}) must be below slow ({self.slow})")
            return self

    def on_bar(self, ctx: Context) -> Signals:
        """The crossing at this bar: one compiled call computing exactly what
        ``indicators.sma`` / ``crossed_above`` compute (see ``step_kernels``)."""
        return Signals(sma_cross_last(ctx.prices(self.p.slow + 1), self.p.fast, self.p.slow))

    def vectorized_signals(
        self, prices: FloatArray, fields: Mapping[str, FloatArray]
    ) -> VectorSignals:
        """Every row's crossing (see ``sweep.signals.sma_cross_directions``)."""
        return VectorSignals(sma_cross_directions(prices, self.p.fast, self.p.slow))
