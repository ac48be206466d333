"""Mean reversion on the z-score of price against its trailing mean (Bollinger bands):
enter long when z < -entry_z, exit when z > -exit_z; with ``short`` also the mirror image."""

from collections.abc import Mapping

import numpy as np
from pydantic import Field, model_validator

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy, StrategyParams
from alphapulse.strategies.step_kernels import mean_reversion_last
from alphapulse.sweep.signals import FloatArray, VectorSignals, zscores


class MeanReversion(Strategy):
    class Params(StrategyParams):
        window: int = Field(20, ge=2)
        entry_z: float = Field(2.0, gt=0, allow_inf_nan=False)
        exit_z: float = Field(0.0, allow_inf_nan=False)
        short: bool = False

        @model_validator(mode="after")
        def _exit_below_entry(self) -> "MeanReversion.Params":
            if self.exit_z >= self.entry_z:
                raise ValueError(f"exit_z ({self.exit_z}) must be below entry_z ({self.entry_z})")
            return self

    def on_bar(self, ctx: Context) -> Signals:
        """One compiled call computing exactly what ``indicators.sma`` /
        ``rolling_std`` and the entry / exit masks compute (see ``step_kernels``)."""
        p = self.p
        close = ctx.prices(p.window)
        return Signals(
            mean_reversion_last(close, p.window, p.entry_z, p.exit_z, p.short, ctx.positions)
        )

    def vectorized_signals(
        self, prices: FloatArray, fields: Mapping[str, FloatArray]
    ) -> VectorSignals:
        """Entries when flat, exits when long / short, from every row's z-score."""
        z = zscores(prices, self.p.window)
        nan = np.full(z.shape, np.nan)
        with np.errstate(invalid="ignore"):
            flat = np.where(z < -self.p.entry_z, 1.0, nan)
            if self.p.short:
                flat = np.where(z > self.p.entry_z, -1.0, flat)
            long = np.where(z > -self.p.exit_z, 0.0, nan)
            short = np.where(z < self.p.exit_z, 0.0, nan) if self.p.short else nan
        return VectorSignals(flat, long, short)
