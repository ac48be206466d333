"""Strategies that misbehave at bar 5, for the isolation tests (loaded by import path)."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping

import numpy as np

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy
from alphapulse.strategies.buy_and_hold import BuyAndHold
from alphapulse.sweep.signals import FloatArray, VectorSignals

BAR = 5


class _Long(Strategy):
    """Long every symbol with a price; ``fail()`` at bar ``BAR``."""

    def on_bar(self, ctx: Context) -> Signals:
        if ctx.t == BAR:
            self.fail()
        return Signals(np.where(np.isnan(ctx.last_prices), np.nan, 1.0))

    def fail(self) -> None:
        """How the strategy fails at bar ``BAR``: each subclass below says."""
        raise NotImplementedError


class Raises(_Long):
    def fail(self) -> None:
        raise ZeroDivisionError("division by zero\nsecond line")


class Exits(_Long):
    def fail(self) -> None:
        os._exit(3)


class Killed(_Long):
    def fail(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


class WritesData(BuyAndHold):
    """Buy and hold that first writes into the fields it is handed."""

    def vectorized_signals(
        self, prices: FloatArray, fields: Mapping[str, FloatArray]
    ) -> VectorSignals:
        fields["close"][:] = 1.0
        return super().vectorized_signals(prices, fields)
