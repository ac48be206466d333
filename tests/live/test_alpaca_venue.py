"""The Alpaca paper venue against a local trading API serving recorded order objects:
submission, fills polled from the account, idempotent resubmission after a restart,
broker errors that never raise, and the engine driving it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphapulse.config import parse_config
from alphapulse.core.clock import WallClock
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.runner import make_engine
from alphapulse.live.alpaca_venue import AlpacaPaperVenue
from alphapulse.live.feed import LiveFeed
from alphapulse.live.replay import ReplaySource
from alphapulse.live.runtime import PaperRuntime
from alphapulse.model.orders import Order, OrderStatus, OrderType, Side
from alphapulse.portfolio.ledger import Ledger

from .helpers import paper_cfg
from .servers import FakeAlpacaTrading


@pytest.fixture
def broker():
    b = FakeAlpacaTrading()
    yield b
    b.server.stop()


def _bar(t: int) -> BarSlice:
    px = np.array([180.0, 400.0])
    return BarSlice(t, 1_709_562_600_000_000_000 + t * 60_000_000_000, 0, px, px, px, px, px)


def _venue(broker: FakeAlpacaTrading) -> AlpacaPaperVenue:
    return AlpacaPaperVenue(("AAPL", "MSFT"), client_prefix="run-1", base_url=broker.server.url)


def test_fills_are_polled_from_the_account(broker) -> None:
    venue, ledger = _venue(broker), Ledger(2, 10_000.0)
    order = venue.submit(Order(venue.next_order_id(), "AAPL", 0, Side.BUY, 10.0, 0))
    assert order.status == OrderStatus.WORKING and venue.open_orders() == [order]
    post = next(s for s in broker.server.seen if s[0] == "POST")
    assert post[1] == "/v2/orders"
    first = venue.process_bar(_bar(1), ledger)
    assert [(f.quantity, f.price) for f in first] == [(4.0, 179.12)]
    assert order.status == OrderStatus.PARTIALLY_FILLED
    second = venue.process_bar(_bar(2), ledger)
    assert second[0].quantity == 6.0
    assert second[0].price == pytest.approx((10 * 179.15 - 4 * 179.12) / 6)
    assert order.status == OrderStatus.FILLED and venue.open_orders() == []
    assert ledger.qty[0] == 10.0 and ledger.cash == pytest.approx(10_000.0 - 1791.5)


def test_empty_key_variables_count_as_unset(broker, monkeypatch) -> None:
    """Compose passes a key missing from .env as an empty variable: the venue starts
    as without one (alpaca-py refuses an empty key)."""
    monkeypatch.setenv("APCA_API_KEY_ID", "")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "")
    venue = _venue(broker)
    assert venue.submit(Order(1, "AAPL", 0, Side.BUY, 10.0, 0)).status == OrderStatus.WORKING


def test_resubmission_after_a_restart_adopts_the_broker_order(broker) -> None:
    first = _venue(broker)
    first.submit(Order(1, "AAPL", 0, Side.BUY, 10.0, 0))
    restarted = _venue(broker)  # same client-id prefix: same run
    again = restarted.submit(Order(1, "AAPL", 0, Side.BUY, 10.0, 0))
    assert again.status == OrderStatus.WORKING and len(broker.orders) == 1
    assert restarted.process_bar(_bar(1), Ledger(2, 10_000.0))[0].quantity == 4.0


def test_broker_errors_never_raise(broker) -> None:
    venue, ledger = _venue(broker), Ledger(2, 10_000.0)
    bracket = Order(1, "AAPL", 0, Side.BUY, 5.0, 0, stop_loss=170.0)
    assert venue.submit(bracket).status == OrderStatus.REJECTED
    limit = venue.submit(Order(2, "MSFT", 1, Side.BUY, 1.0, 0, type=OrderType.LIMIT, limit_price=1))
    assert limit.status == OrderStatus.WORKING
    broker.poll_failures = 1
    assert venue.process_bar(_bar(1), ledger) == []  # HTTP 500: logged, retried later
    assert venue.process_bar(_bar(2), ledger)[0].quantity == 4.0
    assert venue.cancel(limit.id, "replaced") and limit.status == OrderStatus.CANCELLED
    dead = AlpacaPaperVenue(("AAPL", "MSFT"), client_prefix="x", base_url="http://127.0.0.1:9")
    unknown = dead.submit(Order(1, "AAPL", 0, Side.BUY, 1.0, 0))  # it may have got there
    assert unknown.status == OrderStatus.WORKING and dead.errors == 2  # submit, lookup


class _Unanswered(FakeAlpacaTrading):
    """Answers the next submit with HTTP ``status``, after taking the order (``taken``)
    or not."""

    def __init__(self, status: int, *, taken: bool) -> None:
        super().__init__()
        self.status, self.taken = status, taken

    def handle(self, method: str, path: str, q: dict[str, str], body: bytes) -> tuple[int, Any]:
        if (method, path) != ("POST", "/v2/orders") or not self.status:
            return super().handle(method, path, q, body)
        if self.taken:
            super().handle(method, path, q, body)
        status, self.status = self.status, 0
        return status, {"code": status * 100_000, "message": f"HTTP {status}"}


def test_an_unanswered_submit_adopts_the_order_the_broker_took() -> None:
    broker = _Unanswered(504, taken=True)
    try:
        venue, ledger = _venue(broker), Ledger(2, 10_000.0)
        order = venue.submit(Order(1, "AAPL", 0, Side.BUY, 10.0, 0))
        assert order.status == OrderStatus.WORKING and venue.errors == 1
        assert [f.quantity for f in venue.process_bar(_bar(1), ledger)] == [4.0]
    finally:
        broker.server.stop()


@pytest.mark.parametrize(("status", "reason"), [(403, "HTTP 403"), (503, "not found")])
def test_a_submit_the_broker_did_not_take_is_rejected(status: int, reason: str) -> None:
    broker = _Unanswered(status, taken=False)
    try:
        order = _venue(broker).submit(Order(1, "AAPL", 0, Side.BUY, 10.0, 0))
        assert order.status == OrderStatus.REJECTED and reason in order.reason
    finally:
        broker.server.stop()


def test_a_fill_racing_the_cancel_is_booked(broker) -> None:
    venue, ledger = _venue(broker), Ledger(2, 10_000.0)
    order = venue.submit(Order(1, "AAPL", 0, Side.BUY, 10.0, 0))
    assert [f.quantity for f in venue.process_bar(_bar(1), ledger)] == [4.0]
    (placed,) = broker.orders.values()
    placed.update(filled_qty="7", filled_avg_price="179.13")  # filled before the cancel
    assert venue.cancel(order.id) and venue.open_orders() == []
    assert [f.quantity for f in venue.process_bar(_bar(2), ledger)] == [3.0]
    assert order.status == OrderStatus.CANCELLED and ledger.qty[0] == 7.0
    polls = len(broker.server.seen)
    assert venue.process_bar(_bar(3), ledger) == [] and len(broker.server.seen) == polls


def test_engine_trades_through_the_alpaca_venue(broker, shared_data: Path) -> None:
    raw = paper_cfg(risk=None)
    raw["data"] = {**raw["data"], "symbols": ["AAPL", "MSFT"], "start": "2016-01-01",
                   "end": "2016-03-31"}  # fmt: skip
    cfg = parse_config({**raw, "strategies": [{"strategy": "buy_and_hold"}]})
    from alphapulse.engine.runner import load_data

    panel = load_data(cfg)
    feed = LiveFeed(ReplaySource(panel), panel.symbols, fields=tuple(panel.fields))
    venue = AlpacaPaperVenue(panel.symbols, client_prefix="bh", base_url=broker.server.url)
    engine = make_engine(cfg, cfg.strategies[0], panel.symbols, feed.history, venue=venue,
                         clock=WallClock())  # fmt: skip
    result = PaperRuntime(feed, {"bh": engine}).run()["bh"]
    assert len(result.orders) == 2 and all(o.notional is not None for o in result.orders)
    assert sum(f.quantity for f in result.fills) == 20.0  # both filled 10 at the broker
    assert result.final_positions.tolist() == [10.0, 10.0]
