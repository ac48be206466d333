"""SimulatedVenue behaviour beyond single fill scenarios: bookkeeping, fills' fields,
close fills, bracket sizing, causal volatility and per-bar cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphapulse.core.errors import OrderError
from alphapulse.engine.bars import BarSlice
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.execution.volatility import EwmaVolatility
from alphapulse.model.orders import Order, OrderStatus, OrderType, Side, TimeInForce

from .helpers import NAN, FakeAccount, bar, free_config, make_venue, ts

BUY, SELL = Side.BUY, Side.SELL
FLAT = (100.0, 100.0, 100.0, 100.0)


def order(venue: SimulatedVenue, side: Side, qty: float, at: int = -1, **kw: object) -> Order:
    sym = kw.pop("symbol", "AAA")
    sid = kw.pop("sid", 0)
    o = Order(venue.next_order_id(), sym, sid, side, qty, ts(at), **kw)  # type: ignore[arg-type]
    return venue.submit(o)


# -- bookkeeping ------------------------------------------------------------------------
def test_ids_are_sequential_and_orders_are_listed() -> None:
    venue = make_venue(("AAA", "BBB"))
    a = order(venue, BUY, 1)
    b = order(venue, BUY, 1, symbol="BBB", sid=1)
    assert (a.id, b.id) == (1, 2)
    assert venue.next_order_id() == 3
    assert [o.id for o in venue.orders] == [1, 2]
    assert [o.id for o in venue.open_orders(1)] == [2]
    assert venue.open_orders(0) == [a]
    assert venue.open_orders() == [a, b]


def test_submit_sets_eligibility_and_pending() -> None:
    venue = make_venue(latency_ns=150)
    o = order(venue, BUY, 1, at=0)
    assert o.eligible_ns == ts(0) + 150 and o.status == OrderStatus.PENDING
    venue.process_bar(bar(1, FLAT), FakeAccount())  # ts 200 < 250
    assert o.status == OrderStatus.PENDING
    venue.process_bar(bar(2, FLAT), FakeAccount())
    assert o.status == OrderStatus.FILLED


@pytest.mark.parametrize(
    "bad",
    [
        {"symbol": "ZZZ"},
        {"sid": 3},
        {"stop_loss": 110.0, "take_profit": 90.0},  # inverted for a buy
        {"stop_loss": -1.0},
    ],
)
def test_submit_rejects_malformed_orders(bad: dict[str, object]) -> None:
    venue = make_venue()
    fields: dict[str, object] = {"symbol": "AAA", "sid": 0, **bad}
    o = Order(1, fields.pop("symbol"), fields.pop("sid"), BUY, 1.0, 0, **fields)  # type: ignore[arg-type]
    with pytest.raises(OrderError):
        venue.submit(o)


def test_plain_values_from_a_plugin_act_as_the_members() -> None:
    """A strategy may spell type, time in force and side as plain values; the venue,
    which compares the members by identity, treats them the same (a DAY limit that is
    never touched expires at the session's end, a market order fills at the close)."""
    venue = make_venue()
    limit = order(venue, 1, 1, at=0, type="limit", limit_price=50.0, tif="day")  # type: ignore[arg-type]
    market = order(venue, 1, 1, at=0, tif="gtc")  # type: ignore[arg-type]
    assert (limit.type, limit.tif, limit.side) == (OrderType.LIMIT, TimeInForce.DAY, BUY)
    account = FakeAccount()
    assert [f.order_id for f in venue.fill_market_at_close(bar(1, FLAT), account)] == [2]
    assert market.status is OrderStatus.FILLED and limit.is_open
    venue.process_bar(bar(2, FLAT), account)  # a later session: the DAY order is gone
    assert limit.status is OrderStatus.EXPIRED and limit.reason == "session_end"


@pytest.mark.parametrize("bad", [{"type": "iceberg"}, {"tif": "week"}, {"side": 0}])
def test_an_unknown_plain_value_is_an_order_error(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {"side": 1, **bad}
    with pytest.raises(OrderError, match="is not a valid"):
        Order(1, "AAA", 0, fields.pop("side"), 1.0, 0, **fields)  # type: ignore[arg-type]


def test_duplicate_id_is_an_error() -> None:
    venue = make_venue()
    venue.submit(Order(7, "AAA", 0, BUY, 1.0, 0))
    with pytest.raises(OrderError):
        venue.submit(Order(7, "AAA", 0, BUY, 1.0, 0))
    assert venue.next_order_id() == 8


def test_cancel_only_open_orders() -> None:
    venue = make_venue()
    o = order(venue, BUY, 1)
    assert venue.cancel(o.id, "replaced") is True
    assert o.status == OrderStatus.CANCELLED and o.reason == "replaced"
    assert venue.cancel(o.id) is False
    assert venue.cancel(999) is False
    assert venue.open_orders() == []


# -- fills ------------------------------------------------------------------------------
def test_fill_fields_fee_and_slippage_cash() -> None:
    cfg = {
        "commission": {"model": "percent", "rate": 0.001},
        "slippage": {"model": "fixed_bps", "bps": 10},
    }
    venue = make_venue(**cfg)
    account = FakeAccount(10_000.0)
    order(venue, BUY, 10, tag="open")
    (f,) = venue.process_bar(bar(0, (100, 101, 99, 100)), account)
    assert (f.order_id, f.symbol, f.sid, f.side, f.quantity) == (1, "AAA", 0, BUY, 10)
    assert f.price == pytest.approx(100.1)
    assert f.fee == pytest.approx(1.001)  # 0.1% of 1001
    assert f.slippage == pytest.approx(1.0)  # 0.1 x 10 paid over the open
    assert (f.ts_ns, f.bar_index, f.liquidity, f.tag) == (ts(0), 0, "taker", "open")
    assert account.cash == pytest.approx(10_000.0 - 1001.0 - 1.001)
    assert account.booked([f])


def test_a_sell_whose_impact_takes_the_whole_price_waits() -> None:
    """Square-root impact over 100% would sell at 0: nothing fills at that bar (the
    order, a notional one too, waits), and it fills at a positive price once it can."""
    slip = {"model": "sqrt_impact", "coefficient": 100.0, "spread_bps": 0.0}
    venue = make_venue(slippage=slip)
    plain = order(venue, SELL, 10)
    by_cash = order(venue, SELL, 0.0, notional=1_000.0)
    account = FakeAccount(positions={0: 20.0})
    # sigma 0.02 (default) x 100 x sqrt(10 / 10) = 2: the quote is 0
    assert venue.process_bar(bar(0, (100, 101, 99, 100), volume=10), account) == []
    assert (plain.status, by_cash.status) == (OrderStatus.WORKING, OrderStatus.WORKING)
    assert by_cash.quantity == 10  # sized at the reference price
    fills = venue.process_bar(bar(1, (100, 101, 99, 100), volume=1e9), account)
    assert [f.order_id for f in fills] == [plain.id, by_cash.id]
    assert all(0 < f.price < 100 for f in fills)
    assert account.booked(fills, start={0: 20.0})


def test_maker_fill_has_no_slippage() -> None:
    venue = make_venue(slippage={"model": "fixed_bps", "bps": 10})
    order(venue, BUY, 10, type=OrderType.LIMIT, limit_price=98.0)
    (f,) = venue.process_bar(bar(0, (100, 101, 97, 99)), FakeAccount())
    assert (f.price, f.liquidity, f.slippage) == (98.0, "maker", 0.0)


def test_partial_fills_track_average_price() -> None:
    venue = make_venue(max_participation=0.1)
    o = order(venue, BUY, 30)
    account = FakeAccount()
    venue.process_bar(bar(0, (100, 101, 99, 100), volume=200), account)
    assert (o.status, o.filled_qty, o.remaining) == (OrderStatus.PARTIALLY_FILLED, 20, 10)
    venue.process_bar(bar(1, (103, 104, 102, 103), volume=200), account)
    assert (o.status, o.filled_qty) == (OrderStatus.FILLED, 30)
    assert o.avg_fill_price == pytest.approx((20 * 100 + 10 * 103) / 30)


def test_notional_quantity_is_resolved_on_first_fill_then_partially_filled() -> None:
    venue = make_venue(max_participation=0.5)
    o = order(venue, BUY, 0.0, notional=2_000.0)
    account = FakeAccount()
    venue.process_bar(bar(0, FLAT, volume=30), account)  # 20 units, 15 per bar
    assert (o.quantity, o.filled_qty) == (20.0, 15.0)
    venue.process_bar(bar(1, (110, 110, 110, 110), volume=30), account)
    assert (o.filled_qty, o.status) == (20.0, OrderStatus.FILLED)  # not re-sized at 110


def test_symbol_without_bar_waits_while_others_fill() -> None:
    venue = make_venue(("AAA", "BBB"))
    a = order(venue, BUY, 1)
    b = order(venue, BUY, 1, symbol="BBB", sid=1)
    fills = venue.process_bar(bar(0, [FLAT, (NAN, NAN, NAN, NAN)]), FakeAccount())
    assert [f.order_id for f in fills] == [a.id]
    assert b.status == OrderStatus.WORKING


# -- fill at close ----------------------------------------------------------------------
def test_fill_market_at_close() -> None:
    venue = make_venue(max_participation=0.1)
    account = FakeAccount()
    b0 = bar(0, (100, 101, 99, 100.5), volume=100)
    venue.process_bar(b0, account)
    mkt = order(venue, BUY, 15, at=0)
    lmt = order(venue, BUY, 5, at=0, type=OrderType.LIMIT, limit_price=200.0)
    fills = venue.fill_market_at_close(b0, account)
    assert [(f.order_id, f.quantity, f.price) for f in fills] == [(mkt.id, 10, 100.5)]
    assert lmt.status == OrderStatus.PENDING  # limits wait for the next bar
    assert venue.fill_market_at_close(b0, account) == []  # the bar's volume cap is spent
    fills = venue.process_bar(bar(1, (102, 103, 101, 102), volume=100), account)
    assert [(f.order_id, f.quantity, f.price) for f in fills] == [
        (mkt.id, 5, 102),
        (lmt.id, 5, 102),
    ]


def test_a_day_order_filled_in_part_at_a_close_expires_with_that_session() -> None:
    """A DAY market order that fills at the close of the bar it was placed in (volume cap:
    10 of 30) was eligible in that bar's session: the rest expires when the next session
    comes, as an order first eligible at an open does; before, it took the next session
    as its own and bought 10 more at its open."""
    venue = make_venue(max_participation=0.1)
    account = FakeAccount()
    b0 = bar(0, (100, 101, 99, 100), volume=100, session=1)
    venue.process_bar(b0, account)
    day = order(venue, BUY, 30, at=0, tif=TimeInForce.DAY)
    assert [f.quantity for f in venue.fill_market_at_close(b0, account)] == [10]
    assert venue.process_bar(bar(1, (110, 111, 109, 110), volume=100, session=2), account) == []
    assert (day.status, day.reason, day.filled_qty) == (OrderStatus.EXPIRED, "session_end", 10)


def test_fill_at_close_respects_latency() -> None:
    venue = make_venue(latency_ns=1)
    account = FakeAccount()
    o = order(venue, BUY, 1, at=0)
    assert venue.fill_market_at_close(bar(0, FLAT), account) == []
    (f,) = venue.process_bar(bar(1, (101, 101, 101, 101)), account)
    assert (f.order_id, f.price) == (o.id, 101)


# -- brackets ---------------------------------------------------------------------------
def bracket_venue() -> tuple[SimulatedVenue, Order, FakeAccount]:
    venue = make_venue(max_participation=0.1)
    entry = order(venue, BUY, 100, stop_loss=90.0, take_profit=110.0, tag="trend")
    return venue, entry, FakeAccount()


def test_bracket_children_grow_with_partial_entry_fills() -> None:
    venue, entry, account = bracket_venue()
    venue.process_bar(bar(0, FLAT, volume=600), account)  # 60 of 100
    stop, take = venue.orders[1:]
    assert (stop.type, stop.stop_price, stop.side, stop.quantity) == (
        OrderType.STOP,
        90.0,
        SELL,
        60,
    )
    assert (take.type, take.limit_price, take.side, take.quantity) == (
        OrderType.LIMIT,
        110.0,
        SELL,
        60,
    )
    assert stop.parent_id == take.parent_id == entry.id
    assert stop.oco_group == take.oco_group == entry.id
    assert stop.tif == take.tif == TimeInForce.GTC
    assert (stop.tag, take.tag) == ("trend:stop_loss", "trend:take_profit")
    venue.process_bar(bar(1, FLAT, volume=600), account)  # the last 40
    assert entry.status == OrderStatus.FILLED
    assert (stop.quantity, take.quantity) == (100, 100)
    assert len(venue.orders) == 3


def test_bracket_partial_child_fill_shrinks_sibling_then_oco() -> None:
    venue, _, account = bracket_venue()
    venue.process_bar(bar(0, FLAT, volume=1000), account)  # entry fills 100
    stop, take = venue.orders[1:]
    venue.process_bar(bar(1, (105, 111, 104, 108), volume=400), account)  # TP: 40
    assert (take.filled_qty, take.status) == (40, OrderStatus.PARTIALLY_FILLED)
    assert (stop.quantity, stop.remaining) == (60, 60)
    venue.process_bar(bar(2, (100, 101, 89, 95), volume=1000), account)  # stop: 60
    assert (stop.filled_qty, stop.status) == (60, OrderStatus.FILLED)
    assert (take.status, take.reason, take.quantity) == (OrderStatus.CANCELLED, "oco", 40)
    assert account.position(0) == 0


def test_cancelling_the_entry_cancels_open_children() -> None:
    venue, entry, account = bracket_venue()
    venue.process_bar(bar(0, FLAT, volume=500), account)  # 50 of 100
    stop, take = venue.orders[1:]
    assert venue.cancel(entry.id, "replaced")
    assert stop.status == take.status == OrderStatus.CANCELLED
    assert stop.reason == "parent_cancelled"
    assert venue.open_orders() == []


def test_expired_entry_keeps_its_children() -> None:
    venue = make_venue(max_participation=0.1)
    entry = order(venue, BUY, 100, stop_loss=90.0, tif=TimeInForce.DAY)
    account = FakeAccount()
    venue.process_bar(bar(0, FLAT, volume=500, session=1), account)
    venue.process_bar(bar(1, FLAT, volume=500, session=2), account)
    (stop,) = venue.orders[1:]
    assert entry.status == OrderStatus.EXPIRED and entry.filled_qty == 50
    assert stop.is_open and stop.quantity == 50


def test_child_rejected_for_missing_position_cancels_sibling() -> None:
    venue = make_venue()
    account = FakeAccount()
    order(venue, BUY, 10, stop_loss=90.0, take_profit=110.0)
    venue.process_bar(bar(0, FLAT), account)
    account.positions[0] = 0.0  # the position went away elsewhere
    venue.process_bar(bar(1, (100, 101, 85, 95)), account)
    stop, take = venue.orders[1:]
    assert (stop.status, stop.reason) == (OrderStatus.REJECTED, "no_short")
    assert (take.status, take.reason) == (OrderStatus.CANCELLED, "oco")


# -- volatility -------------------------------------------------------------------------
def test_ewma_volatility_by_hand() -> None:
    vol = EwmaVolatility(2, decay=0.5, min_obs=2)
    vol.update(np.array([100.0, NAN]))
    vol.update(np.array([110.0, 50.0]))
    assert math.isnan(vol.get(0)) and math.isnan(vol.get(1))
    vol.update(np.array([NAN, 55.0]))  # a gap keeps the state
    vol.update(np.array([99.0, 60.5]))
    r1, r2 = math.log(1.1), math.log(0.9)
    assert vol.get(0) == pytest.approx(math.sqrt(0.5 * r1 * r1 + 0.5 * r2 * r2))
    r1, r2 = math.log(1.1), math.log(1.1)
    assert vol.get(1) == pytest.approx(math.sqrt(0.5 * r1 * r1 + 0.5 * r2 * r2))


def _impact_fill_price(closes: list[float], opens_at_t: float, later_close: float) -> float:
    slip = {"model": "sqrt_impact", "coefficient": 1.0, "spread_bps": 0.0}
    venue = SimulatedVenue(free_config(slippage=slip), ("AAA",))
    account = FakeAccount()
    for i, c in enumerate(closes):
        venue.process_bar(bar(i, (c, c, c, c), volume=10_000), account)
    t = len(closes)
    order(venue, BUY, 100, at=t - 1)
    (f,) = venue.process_bar(bar(t, (opens_at_t, 120, 80, later_close), volume=10_000), account)
    return f.price


def test_impact_uses_only_past_closes() -> None:
    closes = [100.0, 101.0, 99.0, 102.0]
    a = _impact_fill_price(closes, 100.0, 50.0)
    b = _impact_fill_price(closes, 100.0, 150.0)  # a different close at the fill bar
    assert a == b
    ref = EwmaVolatility(1)
    for c in closes:
        ref.update(np.array([c]))
    sigma = ref.get(0)
    assert a == pytest.approx(100.0 * (1 + sigma * math.sqrt(100 / 10_000)))


# -- cost per bar -----------------------------------------------------------------------
def test_far_limits_rest_across_a_wide_universe() -> None:
    """200k symbols, 3 resting orders: nothing fills (the per-bar cost, proportional to
    open orders rather than symbols, is measured in benchmarks/bench_venue.py)."""
    n = 200_000
    symbols = tuple(f"S{i}" for i in range(n))
    venue = make_venue(symbols)
    rng = np.random.default_rng(0)
    px = rng.uniform(50, 150, n)
    for sid in (0, 1234, n - 1):
        order(venue, BUY, 1, symbol=symbols[sid], sid=sid, type=OrderType.LIMIT, limit_price=1.0)
    vol = np.full(n, 1e6)
    for i in range(30):
        b = BarSlice(i, ts(i), 0, px, px + 1, px - 1, px, vol)
        assert venue.process_bar(b, FakeAccount()) == []
    assert len(venue.open_orders()) == 3


def test_a_triggered_stop_fills_the_rest_at_market_after_a_volume_cap() -> None:
    """A stop hit intrabar fills what the bar's volume allows at the stop; the rest is a
    market order from then on, even when the price is back above the stop."""
    venue = make_venue(max_participation=0.1)
    o = order(venue, SELL, 1000, type=OrderType.STOP, stop_price=95.0)
    account = FakeAccount(positions={0: 1000.0})
    (first,) = venue.process_bar(bar(0, (100, 100, 90, 92), volume=5000), account)
    assert (first.quantity, first.price, o.triggered) == (500, 95.0, True)
    (rest,) = venue.process_bar(bar(1, (100, 101, 99, 100), volume=1e9), account)
    assert (rest.quantity, rest.price, o.status) == (500, 100.0, OrderStatus.FILLED)
