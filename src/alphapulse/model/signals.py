"""Messages from strategies to portfolio construction (signals) and from there on (targets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alphapulse.model.orders import OrderType, Side, TimeInForce

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An explicit order from a strategy (limit, stop, stop-limit, brackets), passed to
    the risk stage and the venue as is, next to (or instead of) target-driven orders."""

    sid: int
    side: Side
    quantity: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    tif: TimeInForce = TimeInForce.GTC
    stop_loss: float | None = None
    take_profit: float | None = None
    cancel_working: bool = False  # cancel the symbol's working entry orders first
    tag: str = "strategy"


@dataclass(frozen=True, slots=True)
class Signals:
    """A strategy's view at time t, one entry per symbol of the universe.

    ``direction``: +1 long, -1 short, 0 flat, NaN no opinion (keep what is held).
    ``confidence``: in [0, 1]; portfolio construction may weight by it.
    ``orders``: explicit order requests (use NaN directions for those symbols so the
    planner leaves them alone).
    """

    direction: FloatArray
    confidence: FloatArray | None = None
    orders: tuple[OrderRequest, ...] = ()

    @staticmethod
    def hold(n: int) -> Signals:
        return Signals(np.full(n, np.nan))


@dataclass(frozen=True, slots=True)
class Targets:
    """Target portfolio weights (fraction of equity, signed) per symbol; NaN = leave as is."""

    weights: FloatArray
