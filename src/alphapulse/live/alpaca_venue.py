"""An Alpaca paper account behind the engine's Venue protocol (alpaca-py
``TradingClient(paper=True)``; ``base_url`` is its ``url_override``).

- ``submit`` sends a market/limit/stop/stop-limit order (``notional`` orders as
  notional market orders) with ``client_order_id = <prefix>-<order id>``: resubmitting
  the same order (a restart) finds the existing broker order instead of a duplicate.
  An order refused with a 4xx is REJECTED with the broker's reason; nothing is raised.
  After a 5xx or a network error (the order may exist) it stays WORKING and is looked
  up by its client order id, now or at the next polls: adopted when found, REJECTED
  when the broker does not know it. Orders with
  ``stop_loss``/``take_profit`` are refused (``brackets_unsupported``): the simulated
  venue's bracket book has no broker twin here yet.
- ``process_bar`` polls each open order and turns the growth of its ``filled_qty`` into
  Fills (price from the change of ``filled_qty x filled_avg_price``, fee 0), applied to
  the account at the bar's time. A failed poll is logged and retried at a later bar
  after an exponential backoff (in bars, capped).
- ``cancel`` asks the broker to cancel and marks the order CANCELLED, but keeps polling
  it until the broker reports a final status, so a fill racing the cancel is booked.
- ``fill_market_at_close`` fills nothing: a broker cannot fill at a past close.
"""

from __future__ import annotations

import logging
import os
from typing import Any, TypeGuard

from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide
from alpaca.trading.enums import OrderStatus as AlpacaStatus
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)

from alphapulse.engine.bars import BarSlice
from alphapulse.execution.venue import Account
from alphapulse.model.orders import Fill, Order, OrderStatus, OrderType, Side, TimeInForce

log = logging.getLogger(__name__)
_STATUS = {
    AlpacaStatus.FILLED: OrderStatus.FILLED,
    AlpacaStatus.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    AlpacaStatus.CANCELED: OrderStatus.CANCELLED,
    AlpacaStatus.EXPIRED: OrderStatus.EXPIRED,
    AlpacaStatus.REJECTED: OrderStatus.REJECTED,
    AlpacaStatus.DONE_FOR_DAY: OrderStatus.EXPIRED,
}


class AlpacaPaperVenue:
    """Orders of one strategy on an Alpaca paper account (see the module docstring)."""

    def __init__(
        self,
        symbols: tuple[str, ...],
        *,
        client_prefix: str,
        base_url: str | None = None,
        api_key: str | None = None,
        secret_key: str | None = None,
        client: TradingClient | None = None,
        max_backoff_bars: int = 32,
    ) -> None:
        self.symbols = symbols
        self.prefix = client_prefix
        self.client = client or TradingClient(
            # an empty variable (compose passes unset ones as "") counts as unset
            api_key or os.environ.get("APCA_API_KEY_ID") or "paper",
            secret_key or os.environ.get("APCA_API_SECRET_KEY") or "paper",
            paper=True,
            url_override=base_url,
        )
        self.client._retry = 0  # our backoff decides (the SDK sleeps in place)
        self.max_backoff_bars = max_backoff_bars
        self.errors = 0
        self._orders: list[Order] = []
        self._open: dict[int, Order] = {}
        self._broker: dict[int, str] = {}  # order id -> Alpaca order id
        self._next_id = 1
        self._failures = 0
        self._skip = 0  # bars to wait before the next poll

    # -- Venue protocol ---------------------------------------------------------------
    def next_order_id(self) -> int:
        oid = self._next_id
        self._next_id += 1
        return oid

    @property
    def orders(self) -> list[Order]:
        return list(self._orders)

    def open_orders(self, sid: int | None = None) -> list[Order]:
        return [o for o in self._open.values() if o.is_open and (sid is None or o.sid == sid)]

    def submit(self, order: Order) -> Order:
        self._next_id = max(self._next_id, order.id + 1)
        self._orders.append(order)
        if order.stop_loss is not None or order.take_profit is not None:
            return self._reject(order, "brackets_unsupported")
        try:
            placed = self.client.submit_order(self._request(order, self._client_id(order)))
            self._broker[order.id] = str(_get(placed, "id"))
        except Exception as exc:
            if not _duplicate(exc):  # a resubmission (restart) is adopted silently
                if _refused(exc):
                    return self._reject(order, f"broker_error: {_message(exc)}")
                self.errors += 1  # a 5xx or a network error: the order may exist
                log.warning("submit of order %d unanswered, looking it up: %s", order.id, exc)
        order.status = OrderStatus.WORKING
        self._open[order.id] = order
        try:
            self._broker_id(order)
        except Exception as exc:
            self.errors += 1
            log.warning("lookup of order %d failed (retried at the next poll): %s", order.id, exc)
        return order

    def cancel(self, order_id: int, reason: str = "cancelled") -> bool:
        order = self._open.get(order_id)
        if order is None or not order.is_open:
            return False
        try:
            broker_id = self._broker_id(order)
            if broker_id is None:
                return False
            self.client.cancel_order_by_id(broker_id)
        except Exception as exc:
            self.errors += 1
            log.warning("cancel of order %d failed: %s", order_id, exc)
            return False
        order.status = OrderStatus.CANCELLED  # polled until final: a racing fill is booked
        order.reason = reason
        return True

    def process_bar(self, bar: BarSlice, account: Account) -> list[Fill]:
        if self._skip > 0:
            self._skip -= 1
            return []
        fills: list[Fill] = []
        failed = False
        for order in list(self._open.values()):
            try:
                broker_id = self._broker_id(order)
                if broker_id is None:
                    continue
                state = self.client.get_order_by_id(broker_id)
            except Exception as exc:
                failed = True
                self.errors += 1
                log.warning("poll of order %d failed: %s: %s", order.id, type(exc).__name__, exc)
                continue
            fill = self._update(order, state, bar)
            if fill is not None:
                account.apply(fill)
                fills.append(fill)
        self._failures = self._failures + 1 if failed else 0
        if failed:
            self._skip = min(2 ** (self._failures - 1), self.max_backoff_bars) - 1
        return fills

    def fill_market_at_close(self, bar: BarSlice, account: Account) -> list[Fill]:
        return []

    # -- internals --------------------------------------------------------------------
    def _request(self, order: Order, client_id: str) -> OrderRequest:
        side = OrderSide.BUY if order.side == Side.BUY else OrderSide.SELL
        tif = AlpacaTif.DAY if order.tif == TimeInForce.DAY else AlpacaTif.GTC
        common: dict[str, Any] = {
            "symbol": order.symbol,
            "side": side,
            "time_in_force": tif,
            "client_order_id": client_id,
        }
        if order.notional is not None:  # Alpaca: notional orders are DAY market orders
            notional = round(order.notional, 2)
            return MarketOrderRequest(
                **{**common, "time_in_force": AlpacaTif.DAY}, notional=notional
            )
        common["qty"] = order.quantity
        if order.type == OrderType.LIMIT:
            return LimitOrderRequest(**common, limit_price=order.limit_price)
        if order.type == OrderType.STOP:
            return StopOrderRequest(**common, stop_price=order.stop_price)
        if order.type == OrderType.STOP_LIMIT:
            return StopLimitOrderRequest(
                **common, stop_price=order.stop_price, limit_price=order.limit_price
            )
        return MarketOrderRequest(**common)

    def _update(self, order: Order, state: Any, bar: BarSlice) -> Fill | None:
        filled = float(_get(state, "filled_qty") or 0.0)
        avg = float(_get(state, "filled_avg_price") or 0.0)
        fill = None
        delta = filled - order.filled_qty
        if delta > 1e-12:
            price = (filled * avg - order.filled_qty * order.avg_fill_price) / delta
            fill = Fill(
                order_id=order.id,
                symbol=order.symbol,
                sid=order.sid,
                side=order.side,
                quantity=delta,
                price=price,
                fee=0.0,
                ts_ns=bar.ts_ns,
                bar_index=bar.t,
                tag=order.tag,
            )
            order.filled_qty, order.avg_fill_price = filled, avg
            if order.notional is not None or order.quantity <= 0:
                order.quantity = max(order.quantity, filled)
        status = _STATUS.get(AlpacaStatus(_get(state, "status")))
        if status is None:
            if order.status == OrderStatus.PENDING:
                order.status = OrderStatus.WORKING
        else:
            order.status = status
            if status == OrderStatus.FILLED:
                order.quantity = filled
            if not order.is_open:
                self._open.pop(order.id, None)
        return fill

    def _client_id(self, order: Order) -> str:
        return f"{self.prefix}-{order.id}"

    def _broker_id(self, order: Order) -> str | None:
        """The broker's id of ``order``, looked up by client order id when its submit
        went unanswered; None (and the order REJECTED) when the broker does not know it.
        Other lookup errors are raised."""
        if order.id not in self._broker:
            try:
                placed = self.client.get_order_by_client_id(self._client_id(order))
            except APIError as exc:
                if exc.status_code != 404:
                    raise
                self._open.pop(order.id, None)
                self._reject(order, "broker_error: not found after an unanswered submit")
                return None
            self._broker[order.id] = str(_get(placed, "id"))
        return self._broker[order.id]

    def _reject(self, order: Order, reason: str) -> Order:
        self.errors += 1
        log.warning("order %d %s refused: %s", order.id, order.symbol, reason)
        order.status = OrderStatus.REJECTED
        order.reason = reason[:500]
        return order


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name)


def _duplicate(exc: Exception) -> bool:
    """The broker already has an order with this client order id."""
    return isinstance(exc, APIError) and exc.status_code == 422 and "client_order_id" in str(exc)


def _refused(exc: Exception) -> TypeGuard[APIError]:
    """A definite refusal (4xx): the broker did not take the order."""
    return isinstance(exc, APIError) and 400 <= (exc.status_code or 0) < 500


def _message(exc: APIError) -> str:
    try:
        return str(exc.message)
    except Exception:
        return str(exc)
