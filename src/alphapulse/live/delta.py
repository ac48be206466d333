"""What an engine did since the last look: new and changed orders, new fills, risk events
and per-step equity rows. The journal and the bus each keep their own tracker, so a
failed database write does not hold back the bus (or the reverse)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alphapulse.engine.loop import Engine
from alphapulse.engine.stages import RiskEvent
from alphapulse.model.orders import Fill, Order

Row = tuple[int, float, float, float, float]


def order_state(o: Order) -> tuple[Any, ...]:
    return (o.status, o.filled_qty, o.quantity, o.notional, o.stop_price, o.limit_price, o.reason)


@dataclass(frozen=True, slots=True)
class Delta:
    """One look at an engine; ``fill_seq``/``event_seq``: the run-wide sequence number of
    ``fills[0]``/``events[0]``."""

    orders: list[Order]  # changed open ones, then the new ones
    new_orders: int  # how many of ``orders`` were created since the last look
    fills: list[Fill]
    events: list[RiskEvent]
    rows: list[Row]
    fill_seq: int
    event_seq: int
    n_venue: int
    n_rejected: int

    def __bool__(self) -> bool:
        return bool(self.orders or self.fills or self.events or self.rows)


class DeltaTracker:
    """``peek()`` what changed since the last ``advance``; ``advance(delta)`` once it is
    handled (not advancing hands the same changes out again, with the next ones)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._n_venue = 0
        self._n_rejected = 0
        self._n_fills = 0
        self._n_events = 0
        self._n_rows = 0
        self._open: dict[int, Order] = {}
        self._written: dict[int, tuple[Any, ...]] = {}

    def peek(self) -> Delta:
        e = self.engine
        venue_orders = e.venue.orders
        fresh = venue_orders[self._n_venue :] + e.rejected[self._n_rejected :]
        known = self._written
        open_changed = [o for o in self._open.values() if order_state(o) != known.get(o.id)]
        return Delta(
            orders=open_changed + fresh,
            new_orders=len(fresh),
            fills=e.fills[self._n_fills :],
            events=e.risk.events()[self._n_events :],
            rows=e.rows_since(self._n_rows),
            fill_seq=self._n_fills,
            event_seq=self._n_events,
            n_venue=len(venue_orders),
            n_rejected=len(e.rejected),
        )

    def advance(self, d: Delta) -> None:
        self._n_venue = d.n_venue
        self._n_rejected = d.n_rejected
        self._n_fills += len(d.fills)
        self._n_events += len(d.events)
        self._n_rows += len(d.rows)
        for o in d.orders:
            self._written[o.id] = order_state(o)
            if o.is_open:
                self._open[o.id] = o
            else:
                self._open.pop(o.id, None)
                self._written.pop(o.id, None)
