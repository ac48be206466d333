"""Parent order state: what an algorithm works over several bars, and its record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from alphapulse.model.orders import OPEN_STATUSES, Order, OrderStatus, Side

FloatArray = npt.NDArray[np.float64]


@dataclass(slots=True)
class ParentOrder:
    """One parent: ``quantity`` units to trade from ``start_ns`` over ``horizon_ns``.

    ``base_filled``/``sched_qty``/``start_ns`` anchor the schedule; a ``carry`` leftover
    re-anchors them at the next session's open. ``cum_*_start`` snapshot the symbol's
    cumulative volume and price x volume at the decision, for the interval VWAP."""

    id: int
    sid: int
    symbol: str
    side: Side
    quantity: float
    algo: str
    urgency: str
    decision_ns: int
    decision_t: int
    arrival_price: float
    horizon_ns: int
    start_ns: int
    sched_qty: float
    kappa_t: float = 0.0
    curve: FloatArray | None = None  # VWAP cumulative share per minute of the horizon
    cum_v_start: float = 0.0
    cum_pv_start: float = 0.0
    base_filled: float = 0.0
    base_volume: float = 0.0  # POV: realised volume already counted before re-anchoring
    session: int | None = None  # the session it last placed children in
    fresh: bool = True  # its schedule not anchored yet (``work`` does at its decision bar)
    status: str = "working"  # working | filled | cancelled | replaced | session_end | rejected
    reason: str = ""
    end_ns: int = 0
    end_price: float = float("nan")
    interval_volume: float = 0.0
    interval_vwap: float = float("nan")
    child: Order | None = None  # the working child (one at a time)
    child_age: int = 0  # bars the working child has rested
    placed_step: int = -(2**62)  # the stage step its last child was placed at
    children: list[Order] = field(default_factory=list)
    closed_filled: float = 0.0  # filled by the children let go (in order)
    closed_notional: float = 0.0  # their filled quantity x average price, summed in order

    @property
    def filled(self) -> float:
        c = self.child
        return self.closed_filled + c.filled_qty if c is not None else self.closed_filled

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled, 0.0)

    @property
    def is_working(self) -> bool:
        return self.status == "working"

    @property
    def avg_price(self) -> float:
        q = self.filled
        if q <= 0:
            return float("nan")
        paid, c = self.closed_notional, self.child  # the working child is the last one
        return (paid if c is None else paid + c.filled_qty * c.avg_fill_price) / q

    def child_done(self) -> bool:
        """True when there is no working child (a closed one is let go)."""
        c = self.child
        if c is None:
            return True
        if c.status in OPEN_STATUSES:
            return False
        self.release()
        if c.status == OrderStatus.REJECTED and c.filled_qty == 0:
            self.status, self.reason = "rejected", c.reason
        return True

    def release(self) -> None:
        """Let the working child go (closed, or cancelled for a re-price)."""
        c = self.child
        if c is not None:
            self.closed_filled += c.filled_qty
            self.closed_notional += c.filled_qty * c.avg_fill_price
            self.child = None

    def record(self) -> dict[str, Any]:
        """The journal/analytics row of this parent (plain values)."""
        return {
            "parent_id": self.id,
            "sid": self.sid,
            "symbol": self.symbol,
            "side": int(self.side),
            "algo": self.algo,
            "urgency": self.urgency,
            "quantity": self.quantity,
            "filled": self.filled,
            "decision_ns": self.decision_ns,
            "end_ns": self.end_ns,
            "arrival_price": self.arrival_price,
            "avg_price": self.avg_price,
            "end_price": self.end_price,
            "interval_vwap": self.interval_vwap,
            "interval_volume": self.interval_volume,
            "status": self.status,
            "reason": self.reason,
            "children": [c.id for c in self.children],
        }
