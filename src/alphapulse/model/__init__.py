"""Value types passed between stages: bars, signals, targets, orders, fills."""

from alphapulse.model.orders import (
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from alphapulse.model.signals import Targets

__all__ = ["Fill", "Order", "OrderStatus", "OrderType", "Side", "Targets", "TimeInForce"]
