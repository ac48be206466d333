"""Bracket exits: the stop-loss / take-profit children of an entry order.

After every entry fill the open children are sized to the entry's unprotected quantity
(filled by the entry minus already exited by its children); when none is open, a new
pair is created: a STOP at ``stop_loss`` first, then a LIMIT at ``take_profit``, both
GTC on the opposite side, sharing ``oco_group`` = the entry's id. The stop comes first
in submission order, so when both could fill in one bar the stop-loss wins
(conservative). A child fill shrinks its open sibling by the same amount (both keep the
same remaining quantity); a child that is done (filled or rejected) cancels its sibling
("oco").
"""

from __future__ import annotations

from collections.abc import Callable

from alphapulse.model.orders import Order, OrderType, Side, TimeInForce


def _tag(parent_tag: str, role: str) -> str:
    return f"{parent_tag}:{role}" if parent_tag else role


class BracketBook:
    """Children of every bracket entry, keyed by the entry's id."""

    def __init__(self) -> None:
        self._children: dict[int, list[Order]] = {}

    def is_child(self, order: Order) -> bool:
        return order.parent_id is not None and order.parent_id in self._children

    def open_children(self, parent_id: int) -> list[Order]:
        return [c for c in self._children.get(parent_id, ()) if c.is_open]

    def on_entry_fill(self, entry: Order, ts_ns: int, next_id: Callable[[], int]) -> list[Order]:
        """Resize the open children after an entry fill; returns new children to submit."""
        kids = self._children.setdefault(entry.id, [])
        unprotected = entry.filled_qty - sum(c.filled_qty for c in kids)
        live = [c for c in kids if c.is_open]
        for c in live:
            c.quantity = c.filled_qty + unprotected
        if live or unprotected <= 0:
            return []
        new = self._make(entry, unprotected, ts_ns, next_id)
        kids.extend(new)
        return new

    def on_child_update(self, child: Order) -> list[Order]:
        """After a child fills or is rejected; returns the siblings to cancel ("oco")."""
        assert child.parent_id is not None
        siblings = [c for c in self._children[child.parent_id] if c is not child and c.is_open]
        for s in siblings:
            s.quantity = s.filled_qty + child.remaining
        return [] if child.is_open else siblings

    @staticmethod
    def _make(entry: Order, qty: float, ts_ns: int, next_id: Callable[[], int]) -> list[Order]:
        kids: list[Order] = []
        if entry.stop_loss is not None:
            kids.append(_child(entry, next_id(), qty, ts_ns, OrderType.STOP, entry.stop_loss))
        if entry.take_profit is not None:
            kids.append(_child(entry, next_id(), qty, ts_ns, OrderType.LIMIT, entry.take_profit))
        return kids


def _child(entry: Order, oid: int, qty: float, ts_ns: int, kind: OrderType, price: float) -> Order:
    stop = kind == OrderType.STOP
    return Order(
        id=oid,
        symbol=entry.symbol,
        sid=entry.sid,
        side=Side(-int(entry.side)),
        quantity=qty,
        created_ns=ts_ns,
        type=kind,
        stop_price=price if stop else None,
        limit_price=None if stop else price,
        tif=TimeInForce.GTC,
        eligible_ns=ts_ns,
        parent_id=entry.id,
        oco_group=entry.id,
        tag=_tag(entry.tag, "stop_loss" if stop else "take_profit"),
    )
