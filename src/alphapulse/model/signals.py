"""Messages from strategies to portfolio construction (signals) and from there on (targets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Signals:
    """A strategy's view at time t, one entry per symbol of the universe.

    ``direction``: +1 long, -1 short, 0 flat, NaN no opinion (keep what is held).
    ``confidence``: in [0, 1]; portfolio construction may weight by it.
    """

    direction: FloatArray
    confidence: FloatArray | None = None

    @staticmethod
    def hold(n: int) -> Signals:
        return Signals(np.full(n, np.nan))


@dataclass(frozen=True, slots=True)
class Targets:
    """Target portfolio weights (fraction of equity, signed) per symbol; NaN = leave as is."""

    weights: FloatArray
