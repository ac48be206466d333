"""Orders and fills: the messages between execution and the ledger."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import NamedTuple

from alphapulse.core.errors import OrderError


class Side(IntEnum):
    BUY = 1
    SELL = -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    DAY = "day"  # cancelled at the end of the session (the last bar of its calendar day)
    GTC = "gtc"  # good till cancelled


class OrderStatus(StrEnum):
    PENDING = "pending"  # submitted, waiting for its latency to pass
    WORKING = "working"  # eligible to fill
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


# Members bound to module names once, for the hot paths (here and in the venue, planner
# and algorithms): on Python 3.11 each ``OrderStatus.PENDING``-style lookup goes through
# ``EnumType.__getattr__`` (about 0.1 µs), and an order meets several in its life.
OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED)
_MARKET = OrderType.MARKET
_LIMITED = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_STOPPED = (OrderType.STOP, OrderType.STOP_LIMIT)


@dataclass(slots=True)
class Order:
    """One order. Either ``quantity`` (shares/units, > 0) or ``notional`` (a cash budget
    resolved to the most whole units affordable at the fill price, commission included)
    is given. ``stop_loss``/``take_profit`` attach a bracket: once the entry fills, two
    child exit orders are created, one cancels the other."""

    id: int
    symbol: str
    sid: int
    side: Side
    quantity: float
    created_ns: int
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    tif: TimeInForce = TimeInForce.GTC
    notional: float | None = None
    eligible_ns: int = 0
    stop_loss: float | None = None
    take_profit: float | None = None
    parent_id: int | None = None
    oco_group: int | None = None
    tag: str = ""
    # mutable state
    status: OrderStatus = OrderStatus.PENDING
    filled_qty: float = 0.0
    avg_fill_price: float = 0.0
    triggered: bool = False  # its stop was hit: a stop-limit now a limit, a stop a market
    reason: str = ""

    def __post_init__(self) -> None:
        size = self.quantity if self.notional is None else self.notional
        if not (size > 0 and size < math.inf):  # > 0 and finite (NaN fails both)
            what = "quantity" if self.notional is None else "notional"
            raise OrderError(f"order {self.id} {self.symbol}: {what} must be > 0")
        if (
            self.type.__class__ is not OrderType
            or self.tif.__class__ is not TimeInForce
            or self.side.__class__ is not Side
        ):
            self._members()
        kind = self.type
        if kind is not _MARKET:  # prices to check
            if kind in _LIMITED and not _positive(self.limit_price):
                raise OrderError(f"order {self.id} {self.symbol}: {kind.value} needs limit_price")
            if kind in _STOPPED and not _positive(self.stop_price):
                raise OrderError(f"order {self.id} {self.symbol}: {kind.value} needs stop_price")
        if self.eligible_ns < self.created_ns:
            self.eligible_ns = self.created_ns

    def _members(self) -> None:
        """Plain values (``"limit"``, ``"day"``, ``1`` from a plugin) become the enum
        members that the venue compares by identity; an unknown one is an OrderError."""
        try:
            self.type = OrderType(self.type)
            self.tif = TimeInForce(self.tif)
            self.side = Side(self.side)
        except ValueError as e:
            raise OrderError(f"order {self.id} {self.symbol}: {e}") from None

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled_qty, 0.0)

    @property
    def is_open(self) -> bool:
        return self.status.is_open


def _positive(x: float | None) -> bool:
    return x is not None and x > 0 and math.isfinite(x)


class Fill(NamedTuple):
    """An execution: ``quantity`` > 0 units at ``price`` (slippage included), paying ``fee``.
    Immutable; a named tuple because the venue makes one per fill (a fifth of the cost of
    a frozen dataclass)."""

    order_id: int
    symbol: str
    sid: int
    side: Side
    quantity: float
    price: float
    fee: float
    ts_ns: int
    bar_index: int
    liquidity: str = "taker"  # "maker" for resting limit orders, "taker" otherwise
    slippage: float = 0.0  # cost of slippage in cash, already inside ``price``
    tag: str = ""

    @property
    def signed_qty(self) -> float:
        return float(self.side) * self.quantity
