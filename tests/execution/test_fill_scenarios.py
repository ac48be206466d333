"""Table-driven fill scenarios for the simulated venue: one symbol, no costs unless a
scenario configures them. Orders get ids 1, 2, ... in submission order; bracket
children take the next ids when they are created."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from alphapulse.model.orders import Fill, Order, OrderStatus, OrderType, Side, TimeInForce

from .helpers import NAN, FakeAccount, bar, make_venue, ts

BUY, SELL = Side.BUY, Side.SELL
MKT, LMT, STP, STPLMT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
W, P, F = OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED
C, R, X = OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED
PENDING = OrderStatus.PENDING
OHLC = tuple[float, float, float, float]
FLAT: OHLC = (100.0, 100.0, 100.0, 100.0)


@dataclass
class Case:
    name: str
    bars: list[OHLC]
    orders: list[dict[str, Any]]  # Order fields; "at": submitted after bar i (-1: before bar 0)
    fills: list[tuple[int, int, float, float]]  # (bar, order id, quantity, price)
    status: dict[int, OrderStatus]
    reasons: dict[int, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    volume: list[float] | None = None
    sessions: list[int] | None = None
    cash: float = 1_000_000.0
    position: float = 0.0
    cancels: dict[int, int] = field(default_factory=dict)  # after bar i: cancel order id


def o(side: Side, qty: float, kind: OrderType = MKT, at: int = -1, **kw: Any) -> dict[str, Any]:
    return {"side": side, "quantity": qty, "type": kind, "at": at, **kw}


CASES = [
    # -- timing -----------------------------------------------------------------------
    Case(
        "market fills at the next bar's open, never in its own bar",
        bars=[(100, 105, 95, 102), (103, 106, 101, 104)],
        orders=[o(BUY, 10), o(BUY, 5, at=0)],
        fills=[(0, 1, 10, 100.0), (1, 2, 5, 103.0)],
        status={1: F, 2: F},
    ),
    Case(
        "latency delays eligibility past the next bar",
        bars=[(100, 101, 99, 100), (102, 103, 101, 102)],
        orders=[o(BUY, 10)],
        config={"latency_ns": 150},  # created at 0, eligible at 150: bar 0 is at 100
        fills=[(1, 1, 10, 102.0)],
        status={1: F},
    ),
    Case(
        "latency: not yet eligible stays pending",
        bars=[(100, 101, 99, 100)],
        orders=[o(BUY, 10)],
        config={"latency_ns": 500},
        fills=[],
        status={1: PENDING},
    ),
    Case(
        "no bar (NaN): the order waits",
        bars=[(NAN, NAN, NAN, NAN), (101, 102, 100, 101)],
        orders=[o(BUY, 10)],
        fills=[(1, 1, 10, 101.0)],
        status={1: F},
    ),
    # -- market + slippage ------------------------------------------------------------
    Case(
        "market buy and sell pay fixed bps slippage",
        bars=[(100, 101, 99, 100)],
        orders=[o(BUY, 10), o(SELL, 5)],
        config={"slippage": {"model": "fixed_bps", "bps": 10}},
        fills=[(0, 1, 10, 100.1), (0, 2, 5, 99.9)],
        status={1: F, 2: F},
    ),
    # -- limits -----------------------------------------------------------------------
    Case(
        "buy limit: open below the limit fills at the open (gap in our favour)",
        bars=[(100, 102, 99, 101)],
        orders=[o(BUY, 10, LMT, limit_price=101.0)],
        fills=[(0, 1, 10, 100.0)],
        status={1: F},
    ),
    Case(
        "buy limit: low touches the limit, fills at the limit",
        bars=[(100, 102, 97, 99)],
        orders=[o(BUY, 10, LMT, limit_price=98.0)],
        fills=[(0, 1, 10, 98.0)],
        status={1: F},
    ),
    Case(
        "buy limit: low exactly at the limit fills",
        bars=[(100, 102, 98, 99)],
        orders=[o(BUY, 10, LMT, limit_price=98.0)],
        fills=[(0, 1, 10, 98.0)],
        status={1: F},
    ),
    Case(
        "buy limit: not touched keeps working, fills on a later bar",
        bars=[(100, 102, 96, 99), (97, 98, 94, 95)],
        orders=[o(BUY, 10, LMT, limit_price=95.0)],
        fills=[(1, 1, 10, 95.0)],
        status={1: F},
    ),
    Case(
        "sell limit: open above the limit fills at the open",
        bars=[(100, 101, 99, 100)],
        orders=[o(SELL, 10, LMT, limit_price=99.0)],
        position=10,
        fills=[(0, 1, 10, 100.0)],
        status={1: F},
    ),
    Case(
        "sell limit: high touches the limit",
        bars=[(100, 104, 99, 101)],
        orders=[o(SELL, 10, LMT, limit_price=103.0)],
        position=10,
        fills=[(0, 1, 10, 103.0)],
        status={1: F},
    ),
    Case(
        "buy limit at the open is taker: slippage applies but never above the limit",
        bars=[(100, 101, 99, 100)],
        orders=[o(BUY, 10, LMT, limit_price=100.05)],
        config={"slippage": {"model": "fixed_bps", "bps": 10}},
        fills=[(0, 1, 10, 100.05)],
        status={1: F},
    ),
    Case(
        "buy limit touched intrabar is maker: no slippage",
        bars=[(100, 101, 97, 100)],
        orders=[o(BUY, 10, LMT, limit_price=98.0)],
        config={"slippage": {"model": "fixed_bps", "bps": 10}},
        fills=[(0, 1, 10, 98.0)],
        status={1: F},
    ),
    # -- stops ------------------------------------------------------------------------
    Case(
        "buy stop gapped through fills at the open, not the stop",
        bars=[(103, 105, 102, 104)],
        orders=[o(BUY, 10, STP, stop_price=101.0)],
        fills=[(0, 1, 10, 103.0)],
        status={1: F},
    ),
    Case(
        "buy stop hit intrabar fills at the stop",
        bars=[(100, 102, 99, 101.5)],
        orders=[o(BUY, 10, STP, stop_price=101.0)],
        fills=[(0, 1, 10, 101.0)],
        status={1: F},
    ),
    Case(
        "sell stop gapped through fills at the open",
        bars=[(92, 93, 90, 91)],
        orders=[o(SELL, 10, STP, stop_price=95.0)],
        position=10,
        fills=[(0, 1, 10, 92.0)],
        status={1: F},
    ),
    Case(
        "sell stop hit intrabar fills at the stop, with slippage",
        bars=[(100, 101, 96, 98)],
        orders=[o(SELL, 10, STP, stop_price=97.0)],
        position=10,
        config={"slippage": {"model": "fixed_bps", "bps": 100}},
        fills=[(0, 1, 10, 96.03)],
        status={1: F},
    ),
    Case(
        "stop not reached keeps working",
        bars=[(100, 100.5, 99, 100)],
        orders=[o(BUY, 10, STP, stop_price=101.0)],
        fills=[],
        status={1: W},
    ),
    # -- stop-limits ------------------------------------------------------------------
    Case(
        "buy stop-limit gapped through, open within the limit: fills at the open",
        bars=[(103, 105, 102, 104)],
        orders=[o(BUY, 10, STPLMT, stop_price=101.0, limit_price=104.0)],
        fills=[(0, 1, 10, 103.0)],
        status={1: F},
    ),
    Case(
        "buy stop-limit gapped above the limit, dips to it later in the bar: limit",
        bars=[(103, 105, 101.5, 104)],
        orders=[o(BUY, 10, STPLMT, stop_price=101.0, limit_price=102.0)],
        fills=[(0, 1, 10, 102.0)],
        status={1: F},
    ),
    Case(
        "buy stop-limit gapped above the limit: triggered, then a plain limit next bar",
        bars=[(103, 105, 102.5, 104), (101, 103, 100, 102)],
        orders=[o(BUY, 10, STPLMT, stop_price=101.0, limit_price=102.0)],
        fills=[(1, 1, 10, 101.0)],
        status={1: F},
    ),
    Case(
        "buy stop-limit triggered intrabar, limit >= stop: fills at the stop",
        bars=[(100, 103, 99, 102)],
        orders=[o(BUY, 10, STPLMT, stop_price=101.0, limit_price=102.0)],
        fills=[(0, 1, 10, 101.0)],
        status={1: F},
    ),
    Case(
        "buy stop-limit triggered intrabar, limit < stop: waits a bar (conservative)",
        bars=[(99.5, 102, 99, 101), (100.5, 101, 99.8, 100)],
        orders=[o(BUY, 10, STPLMT, stop_price=101.0, limit_price=100.0)],
        fills=[(1, 1, 10, 100.0)],
        status={1: F},
    ),
    Case(
        "sell stop-limit triggered intrabar fills at the stop, capped at the limit",
        bars=[(100, 101, 95, 98)],
        orders=[o(SELL, 10, STPLMT, stop_price=97.0, limit_price=96.5)],
        position=10,
        config={"slippage": {"model": "fixed_bps", "bps": 100}},  # 97 x 0.99 = 96.03
        fills=[(0, 1, 10, 96.5)],
        status={1: F},
    ),
    Case(
        "stop-limit not triggered keeps working",
        bars=[(100, 100.5, 99, 100)],
        orders=[o(BUY, 10, STPLMT, stop_price=101.0, limit_price=102.0)],
        fills=[],
        status={1: W},
    ),
    # -- time in force and cancel -----------------------------------------------------
    Case(
        "DAY expires when the session changes; GTC persists and fills",
        bars=[(100, 101, 99, 100), (100, 101, 99, 100), (97, 98, 94, 95)],
        sessions=[1, 1, 2],
        orders=[
            o(BUY, 10, LMT, limit_price=96.0, tif=TimeInForce.DAY),
            o(BUY, 10, LMT, limit_price=96.0),
        ],
        fills=[(2, 2, 10, 96.0)],
        status={1: X, 2: F},
        reasons={1: "session_end"},
    ),
    Case(
        "DAY order placed at a close is for the next session and fills at its open",
        bars=[(100, 101, 99, 100), (100, 101, 99, 100)],
        sessions=[1, 2],
        orders=[o(BUY, 10, tif=TimeInForce.DAY, at=0)],
        fills=[(1, 1, 10, 100.0)],
        status={1: F},
    ),
    Case(
        "DAY limit unfilled in its first eligible session expires at the next session",
        bars=[(100, 101, 99, 100), (100, 101, 99, 100), (100, 101, 95, 96)],
        sessions=[1, 2, 3],
        orders=[o(BUY, 10, LMT, limit_price=97.0, tif=TimeInForce.DAY, at=0)],
        fills=[],
        status={1: X},
    ),
    Case(
        "DAY order fills within its session",
        bars=[(100, 101, 99, 100), (102, 103, 101, 102)],
        sessions=[1, 1],
        orders=[o(BUY, 10, tif=TimeInForce.DAY, at=0)],
        fills=[(1, 1, 10, 102.0)],
        status={1: F},
    ),
    Case(
        "cancelled order never fills",
        bars=[(100, 101, 99, 100), (97, 98, 94, 95)],
        orders=[o(BUY, 10, LMT, limit_price=96.0)],
        cancels={0: 1},
        fills=[],
        status={1: C},
        reasons={1: "cancelled"},
    ),
    # -- participation ----------------------------------------------------------------
    Case(
        "participation cap splits a market order across bars at each open",
        bars=[(100, 101, 99, 100), (101, 102, 100, 101), (102, 103, 101, 102)],
        volume=[500, 500, 500],
        config={"max_participation": 0.1},
        orders=[o(BUY, 120)],
        fills=[(0, 1, 50, 100.0), (1, 1, 50, 101.0), (2, 1, 20, 102.0)],
        status={1: F},
    ),
    Case(
        "participation cap is shared by orders of a symbol, in submission order",
        bars=[(100, 101, 99, 100), (101, 102, 100, 101)],
        volume=[500, 455],  # caps 50 and floor(45.5) = 45
        config={"max_participation": 0.1},
        orders=[o(BUY, 40), o(BUY, 40)],
        fills=[(0, 1, 40, 100.0), (0, 2, 10, 100.0), (1, 2, 30, 101.0)],
        status={1: F, 2: F},
    ),
    Case(
        "participation: a remainder still working is partially filled",
        bars=[(100, 101, 99, 100)],
        volume=[100],
        config={"max_participation": 0.1},
        orders=[o(BUY, 25)],
        fills=[(0, 1, 10, 100.0)],
        status={1: P},
    ),
    Case(
        "participation: no volume, no fill",
        bars=[(100, 101, 99, 100), (100, 101, 99, 100)],
        volume=[0, 1000],
        config={"max_participation": 0.1},
        orders=[o(BUY, 10)],
        fills=[(1, 1, 10, 100.0)],
        status={1: F},
    ),
    # -- notional sizing --------------------------------------------------------------
    Case(
        "notional buy sized all-in with a percent commission",
        bars=[FLAT],  # 99 x 100 x 1.001 = 9909.9 fits 10_000; 100 would cost 10_010
        orders=[o(BUY, 0.0, notional=10_000.0)],
        config={"commission": {"model": "percent", "rate": 0.001}},
        fills=[(0, 1, 99, 100.0)],
        status={1: F},
    ),
    Case(
        "notional buy sized all-in with a per-share minimum",
        bars=[(10, 10, 10, 10)],  # 100 sh = 1000 + $1 min > 1000; 99 sh = 990 + $1
        orders=[o(BUY, 0.0, notional=1_000.0)],
        config={
            "commission": {
                "model": "per_share",
                "per_share": 0.005,
                "minimum": 1.0,
                "maximum_pct": None,
            }
        },
        fills=[(0, 1, 99, 10.0)],
        status={1: F},
    ),
    Case(
        "notional buy limited by cash",
        bars=[FLAT],
        orders=[o(BUY, 0.0, notional=10_000.0)],
        cash=550.0,
        fills=[(0, 1, 5, 100.0)],
        status={1: F},
    ),
    Case(
        "notional buy with fractional lots",
        bars=[FLAT],
        orders=[o(BUY, 0.0, notional=1_000.0)],
        config={"lot_size": 0.001, "commission": {"model": "percent", "rate": 0.001}},
        fills=[(0, 1, 9.99, 100.0)],  # 9.990 x 100.1 = 999.999
        status={1: F},
    ),
    Case(
        "notional buy that affords nothing is rejected",
        bars=[FLAT],
        orders=[o(BUY, 0.0, notional=10_000.0)],
        cash=50.0,
        fills=[],
        status={1: R},
        reasons={1: "insufficient_cash"},
    ),
    Case(
        "notional sell: floor(notional / price) lots",
        bars=[FLAT],
        orders=[o(SELL, 0.0, notional=1_050.0)],
        position=50,
        fills=[(0, 1, 10, 100.0)],
        status={1: F},
    ),
    # -- cash and short limits --------------------------------------------------------
    Case(
        "buy beyond cash is resized to what cash allows",
        bars=[FLAT],
        orders=[o(BUY, 20)],
        cash=1_000.0,
        config={"commission": {"model": "percent", "rate": 0.001}},
        fills=[(0, 1, 9, 100.0)],  # 10 x 100.1 = 1001 > 1000
        status={1: F},
        reasons={1: "resized_insufficient_cash"},
    ),
    Case(
        "buy with no affordable lot is rejected",
        bars=[FLAT],
        orders=[o(BUY, 20)],
        cash=50.0,
        fills=[],
        status={1: R},
        reasons={1: "insufficient_cash"},
    ),
    Case(
        "a fill spends cash that a later order in the same bar no longer has",
        bars=[FLAT],
        orders=[o(BUY, 6), o(BUY, 6)],
        cash=1_000.0,
        fills=[(0, 1, 6, 100.0), (0, 2, 4, 100.0)],
        status={1: F, 2: F},
        reasons={2: "resized_insufficient_cash"},
    ),
    Case(
        "sell beyond the long position is capped at it",
        bars=[FLAT],
        orders=[o(SELL, 10)],
        position=5,
        fills=[(0, 1, 5, 100.0)],
        status={1: F},
        reasons={1: "resized_no_short"},
    ),
    Case(
        "sell with nothing held is rejected",
        bars=[FLAT],
        orders=[o(SELL, 10)],
        fills=[],
        status={1: R},
        reasons={1: "no_short"},
    ),
    Case(
        "allow_short: sell without a position",
        bars=[FLAT],
        orders=[o(SELL, 10)],
        config={"allow_short": True},
        fills=[(0, 1, 10, 100.0)],
        status={1: F},
    ),
    Case(
        "a buy earlier in the bar makes a later sell possible",
        bars=[FLAT],
        orders=[o(BUY, 10), o(SELL, 4)],
        fills=[(0, 1, 10, 100.0), (0, 2, 4, 100.0)],
        status={1: F, 2: F},
    ),
    # -- brackets (entry id 1, stop-loss child 2, take-profit child 3) -----------------
    Case(
        "bracket: children not live in the entry bar; take-profit fills, stop cancelled",
        bars=[(100, 112, 90, 100), (105, 111, 104, 110)],
        orders=[o(BUY, 10, stop_loss=95.0, take_profit=110.0)],
        fills=[(0, 1, 10, 100.0), (1, 3, 10, 110.0)],
        status={1: F, 2: C, 3: F},
        reasons={2: "oco"},
    ),
    Case(
        "bracket: both exits reachable in one bar, the stop-loss wins",
        bars=[(100, 101, 99, 100), (100, 112, 94, 100)],
        orders=[o(BUY, 10, stop_loss=95.0, take_profit=110.0)],
        fills=[(0, 1, 10, 100.0), (1, 2, 10, 95.0)],
        status={1: F, 2: F, 3: C},
        reasons={3: "oco"},
    ),
    Case(
        "bracket: stop-loss gapped through fills at the open",
        bars=[(100, 101, 99, 100), (90, 92, 88, 91)],
        orders=[o(BUY, 10, stop_loss=95.0, take_profit=110.0)],
        fills=[(0, 1, 10, 100.0), (1, 2, 10, 90.0)],
        status={1: F, 2: F, 3: C},
    ),
    Case(
        "a bracket child's fill frees cash for a plain order after it in the same bar",
        bars=[FLAT, (100, 100, 85, 95)],
        orders=[o(BUY, 10, stop_loss=90.0), o(BUY, 15, at=0)],  # stop child is id 2
        cash=2_000.0,
        fills=[(0, 1, 10, 100.0), (1, 2, 10, 90.0), (1, 3, 15, 100.0)],
        status={1: F, 2: F, 3: F},
    ),
    Case(
        "a plain order before a bracket child in the bar spends the cash first",
        bars=[FLAT, (100, 100, 85, 95)],
        orders=[o(BUY, 10, stop_loss=90.0), o(BUY, 15, LMT, limit_price=99.0)],  # child: 3
        cash=2_000.0,
        fills=[(0, 1, 10, 100.0), (1, 2, 10, 99.0), (1, 3, 10, 90.0)],
        status={1: F, 2: F, 3: F},
        reasons={2: "resized_insufficient_cash"},
    ),
    Case(
        "bracket with only a stop-loss",
        bars=[(100, 101, 99, 100), (100, 101, 94, 96)],
        orders=[o(BUY, 10, stop_loss=95.0)],
        fills=[(0, 1, 10, 100.0), (1, 2, 10, 95.0)],
        status={1: F, 2: F},
    ),
    Case(
        "short bracket (allow_short): buy-to-cover take-profit",
        bars=[(100, 101, 99, 100), (95, 96, 89, 92)],
        orders=[o(SELL, 10, stop_loss=105.0, take_profit=90.0)],
        config={"allow_short": True},
        fills=[(0, 1, 10, 100.0), (1, 3, 10, 90.0)],
        status={1: F, 2: C, 3: F},
    ),
]


def run_case(case: Case) -> tuple[list[tuple[int, int, float, float]], dict[int, Order]]:
    venue = make_venue(**case.config)
    account = FakeAccount(case.cash, {0: case.position} if case.position else None)

    def submit_at(i: int) -> None:
        for spec in case.orders:
            if spec["at"] == i:
                fields = {k: v for k, v in spec.items() if k != "at"}
                venue.submit(Order(venue.next_order_id(), "AAA", 0, created_ns=ts(i), **fields))

    submit_at(-1)
    fills: list[tuple[int, int, float, float]] = []
    made: list[Fill] = []
    for i, ohlc in enumerate(case.bars):
        b = bar(
            i,
            ohlc,
            volume=case.volume[i] if case.volume else 1e9,
            session=case.sessions[i] if case.sessions else 0,
        )
        made += venue.process_bar(b, account)
        fills += [(f.bar_index, f.order_id, f.quantity, f.price) for f in made[len(fills) :]]
        submit_at(i)
        if i in case.cancels:
            assert venue.cancel(case.cancels[i])
    assert account.booked(made, {0: case.position} if case.position else None)
    return fills, {order.id: order for order in venue.orders}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fill_scenario(case: Case) -> None:
    fills, orders = run_case(case)
    assert [f[:2] for f in fills] == [f[:2] for f in case.fills]
    for got, want in zip(fills, case.fills, strict=True):
        assert got[2] == pytest.approx(want[2], abs=1e-9), (got, want)
        assert got[3] == pytest.approx(want[3], rel=1e-12), (got, want)
    assert {oid: orders[oid].status for oid in case.status} == case.status
    assert {oid: orders[oid].reason for oid in case.reasons} == case.reasons
