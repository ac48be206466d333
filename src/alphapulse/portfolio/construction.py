"""Portfolio construction: signals -> target weights. The default gives each symbol of
the universe an equal slot of equity (1/N), so one symbol alone is traded all-in."""

from __future__ import annotations

import numpy as np

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals, Targets


class EqualSlot:
    """weight_i = direction_i x confidence_i / N; NaN (no opinion) stays NaN."""

    def __init__(self, gross: float = 1.0) -> None:
        self.gross = gross

    def construct(self, signals: Signals, ctx: Context) -> Targets:
        w = signals.direction * (self.gross / max(ctx.n_symbols, 1))
        if signals.confidence is not None:
            w = w * np.clip(signals.confidence, 0.0, 1.0)
        return Targets(w)
