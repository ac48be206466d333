"""The simulated venue against a plain reference written from the documented rules
(``execution/venue.py``, ``execution/matching.py``), bar by bar, on synthetic bars:
one order, optionally cancelled, under slippage, maker/taker fees, a participation cap,
latency and lots. The reference is deliberately naive (a loop over bars with the rules
spelled out case by case), so that it and the compiled venue can only agree by both
following the rules."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import pytest

from alphapulse.model.orders import Order, OrderType, Side

from .helpers import NAN, STEP, FakeAccount, bar, make_venue, ts

OHLC = tuple[float, float, float, float]
MKT, LMT, STP, STPLMT = OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
SLIP_BPS = 10.0  # taker slippage
MAKER_BPS, TAKER_BPS = 1.0, 10.0


@dataclass(frozen=True)
class Spec:
    """One order and the venue settings it meets."""

    side: int
    kind: OrderType
    qty: float
    limit: float | None = None
    stop: float | None = None
    cap: float | None = None  # max_participation
    latency: int = 0
    lot: float = 1.0
    cancel_after: int | None = None  # cancelled after this bar
    cash: float = 1e9


def reference(spec: Spec, bars: list[OHLC], volumes: list[float]) -> list[tuple[Any, ...]]:
    """Fills (bar, quantity, price, fee, liquidity) of ``spec`` submitted before bar 0
    (at ts(-1)), by the documented rules, written out case by case."""
    buy = spec.side > 0
    eligible_at = ts(-1) + spec.latency
    filled = 0.0
    triggered = False
    fills: list[tuple[Any, ...]] = []
    for i, (o, h, lo, c) in enumerate(bars):
        if spec.cancel_after is not None and i > spec.cancel_after:
            break
        if filled >= spec.qty:
            break
        if ts(i) < eligible_at:
            continue
        if any(math.isnan(x) for x in (o, h, lo, c)):
            continue  # no bar: the order waits as it is
        # where it would trade in this bar: (price before slippage, maker?, limit to respect)
        quote: tuple[float, bool, float | None] | None = None
        kind = spec.kind
        if kind is STP and triggered:
            kind = MKT
        if kind is STPLMT and triggered:
            kind = LMT
        if kind is MKT:
            quote = (o, False, None)
        elif kind is LMT:
            lim = spec.limit
            assert lim is not None
            if (buy and o <= lim) or (not buy and o >= lim):
                quote = (o, False, lim)  # marketable at the open
            elif (buy and lo <= lim) or (not buy and h >= lim):
                quote = (lim, True, lim)  # rests and is reached
        elif kind is STP:
            s = spec.stop
            assert s is not None
            if (buy and o >= s) or (not buy and o <= s):
                triggered, quote = True, (o, False, None)  # gapped through: the open
            elif (buy and h >= s) or (not buy and lo <= s):
                triggered, quote = True, (s, False, None)
        else:  # a stop-limit not yet triggered
            s, lim = spec.stop, spec.limit
            assert s is not None and lim is not None
            if (buy and o >= s) or (not buy and o <= s):
                triggered = True  # at the open: a limit order for the whole bar
                if (buy and o <= lim) or (not buy and o >= lim):
                    quote = (o, False, lim)
                elif (buy and lo <= lim) or (not buy and h >= lim):
                    quote = (lim, True, lim)
            elif (buy and h >= s) or (not buy and lo <= s):
                triggered = True
                if (buy and lim >= s) or (not buy and lim <= s):
                    quote = (s, False, lim)  # marketable at the trigger
        if quote is None:
            continue
        ref, maker, lim = quote
        want = spec.qty - filled
        if spec.cap is not None:
            v = volumes[i]
            room = 0.0
            if v > 0 and math.isfinite(v):
                room = math.floor(spec.cap * v / spec.lot + 1e-9) * spec.lot
            want = min(want, room)
        if want <= 0:
            continue
        price = ref
        if not maker:
            price = ref * (1 + SLIP_BPS / 1e4) if buy else ref * (1 - SLIP_BPS / 1e4)
            if lim is not None:
                price = min(price, lim) if buy else max(price, lim)
        fee = (MAKER_BPS if maker else TAKER_BPS) / 1e4 * price * want
        fills.append((i, want, price, fee, "maker" if maker else "taker"))
        filled += want
    return fills


def venue_fills(spec: Spec, bars: list[OHLC], volumes: list[float]) -> list[tuple[Any, ...]]:
    venue = make_venue(
        slippage={"model": "fixed_bps", "bps": SLIP_BPS},
        commission={"model": "maker_taker", "maker_bps": MAKER_BPS, "taker_bps": TAKER_BPS},
        allow_short=True,
        max_participation=spec.cap,
        latency_ns=spec.latency,
        lot_size=spec.lot,
    )
    account = FakeAccount(spec.cash)
    order = Order(
        venue.next_order_id(),
        "AAA",
        0,
        Side(spec.side),
        spec.qty,
        ts(-1),
        type=spec.kind,
        limit_price=spec.limit,
        stop_price=spec.stop,
    )
    venue.submit(order)
    out: list[tuple[Any, ...]] = []
    for i, ohlc in enumerate(bars):
        for f in venue.process_bar(bar(i, ohlc, volume=volumes[i]), account):
            out.append((f.bar_index, f.quantity, f.price, f.fee, f.liquidity))
        if spec.cancel_after == i:
            venue.cancel(order.id)
    return out


def same(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> bool:
    if [(g[0], g[4]) for g in got] != [(w[0], w[4]) for w in want]:
        return False
    return all(
        math.isclose(g[k], w[k], rel_tol=1e-12, abs_tol=1e-9)
        for g, w in zip(got, want, strict=True)
        for k in (1, 2, 3)
    )


# -- an exhaustive grid: every order type and side against bars of every shape ---------
LEVELS = (94.0, 97.0, 100.0, 103.0, 106.0)  # limit and stop prices
SHAPES: list[OHLC] = [
    (o, max(o, c) + up, min(o, c) - down, c)
    for o, c in itertools.product((97.0, 100.0, 103.0), repeat=2)
    for up, down in itertools.product((0.0, 3.0), repeat=2)
]  # includes high == low bars (o == c, no wicks) and bars that open at their high/low
FOLLOW: list[OHLC] = [(100.0, 100.0, 100.0, 100.0), (95.0, 107.0, 93.0, 99.0)]


def grid_specs() -> list[Spec]:
    specs: list[Spec] = []
    for side in (1, -1):
        specs.append(Spec(side, MKT, 10))
        specs += [Spec(side, LMT, 10, limit=x) for x in LEVELS]
        specs += [Spec(side, STP, 10, stop=x) for x in LEVELS]
        specs += [Spec(side, STPLMT, 10, limit=x, stop=y) for x in LEVELS for y in LEVELS]
    return specs


@pytest.mark.parametrize(
    "kind", [MKT, LMT, STP, STPLMT], ids=["market", "limit", "stop", "stop_limit"]
)
def test_every_order_on_every_bar_shape_matches_the_reference(kind: OrderType) -> None:
    """Two bars: one of every shape, then a flat one or a wide one (a stop-limit
    triggered in the first bar acts as a limit in the second)."""
    diffs = []
    for spec in (s for s in grid_specs() if s.kind is kind):
        for first, second in itertools.product(SHAPES, FOLLOW):
            bars = [first, second]
            got, want = venue_fills(spec, bars, [1e9] * 2), reference(spec, bars, [1e9] * 2)
            if not same(got, want):
                diffs.append((spec, bars, got, want))
    assert not diffs, f"{len(diffs)} differ, first: {diffs[0]}"


# -- named bar-by-bar cases --------------------------------------------------------------
BAR: OHLC = (100.0, 102.0, 98.0, 101.0)
NOBAR: OHLC = (NAN, NAN, NAN, NAN)
CASES: dict[str, tuple[Spec, list[OHLC], list[float]]] = {
    "limit buy, open below the limit: the open": (
        Spec(1, LMT, 10, limit=99.0), [(98.0, 99.5, 97.0, 99.0)], [1e9]),
    "limit buy touched only at the low: maker at the limit": (
        Spec(1, LMT, 10, limit=98.0), [BAR], [1e9]),
    "limit sell touched only at the high": (Spec(-1, LMT, 10, limit=102.0), [BAR], [1e9]),
    "stop buy gapped through: the open": (
        Spec(1, STP, 10, stop=101.0), [(104.0, 105.0, 103.0, 104.0)], [1e9]),
    "stop sell gapped through: the open": (
        Spec(-1, STP, 10, stop=99.0), [(96.0, 97.0, 95.0, 96.0)], [1e9]),
    "high == low bar at the limit": (
        Spec(1, LMT, 10, limit=100.0), [(100.0, 100.0, 100.0, 100.0)], [1e9]),
    "cap: the rest carried to later bars at their opens": (
        Spec(1, MKT, 25, cap=0.1), [BAR, (103.0, 104.0, 102.0, 103.0), BAR], [100, 100, 100]),
    "cap with a limit: maker then the open": (
        Spec(1, LMT, 25, limit=99.0, cap=0.1),
        [BAR, (97.0, 98.0, 96.0, 97.0), BAR], [100, 100, 100]),
    "cap: a zero-volume bar fills nothing": (
        Spec(1, MKT, 15, cap=0.1), [BAR, BAR, BAR], [100, 0, 100]),
    "cap: a NaN-volume bar fills nothing": (
        Spec(1, MKT, 15, cap=0.1), [BAR, BAR, BAR], [100, NAN, 100]),
    "a NaN bar in the middle of a working order": (
        Spec(1, MKT, 25, cap=0.1), [BAR, NOBAR, (104.0, 105.0, 103.0, 104.0)], [100, 100, 100]),
    "a stop triggered, capped, then a NaN bar, then the open": (
        Spec(-1, STP, 25, stop=99.0, cap=0.1),
        [BAR, NOBAR, (97.0, 98.0, 96.0, 97.0)], [100, 100, 100]),
    "latency of one bar moves the fill a bar later": (
        Spec(1, MKT, 10, latency=STEP + 1), [BAR, (103.0, 104.0, 102.0, 103.0)], [1e9, 1e9]),
    "latency past the last bar: no fill": (Spec(1, MKT, 10, latency=5 * STEP), [BAR], [1e9]),
    "cap in lots of 10": (
        Spec(1, MKT, 30, cap=0.1, lot=10.0), [BAR, BAR, BAR, BAR], [250, 250, 250, 250]),
    "cancelled after a partial fill: nothing more": (
        Spec(1, MKT, 30, cap=0.1, cancel_after=0), [BAR, BAR], [100, 100]),
}  # fmt: skip


@pytest.mark.parametrize(("spec", "bars", "volumes"), list(CASES.values()), ids=list(CASES))
def test_named_case_matches_the_reference(
    spec: Spec, bars: list[OHLC], volumes: list[float]
) -> None:
    want = reference(spec, bars, volumes)
    got = venue_fills(spec, bars, volumes)
    assert same(got, want), (got, want)


# -- lots: a venue takes whole lots only ---------------------------------------------------
LOTS = {
    # id: (quantity, lot size, a whole number of lots)
    "10.5 units, whole units": (10.5, 1.0, False),
    "15 units, lots of 10": (15.0, 10.0, False),
    "0.25 units, lots of 0.1": (0.25, 0.1, False),
    "20 units, lots of 10": (20.0, 10.0, True),
    "0.1 + 0.2 units (float noise), lots of 0.1": (0.1 + 0.2, 0.1, True),
    "0.12345678 units, lots of 1e-8": (0.12345678, 1e-8, True),
    "1234.56789012 units, lots of 1e-8": (1234.56789012, 1e-8, True),
}  # fmt: skip


@pytest.mark.parametrize(("qty", "lot", "whole"), list(LOTS.values()), ids=list(LOTS))
def test_only_whole_lots_fill(qty: float, lot: float, whole: bool) -> None:
    """The reference fills whole-lot orders in full at the open; an order for a part of a
    lot is refused at submit (``odd_lot``): it never trades, not even its whole lots."""
    spec = Spec(1, MKT, qty, lot=lot)
    got = venue_fills(spec, [BAR], [1e9])
    if whole:
        assert same(got, reference(spec, [BAR], [1e9])), got
        return
    assert got == []
    venue = make_venue(lot_size=lot)
    order = venue.submit(Order(1, "AAA", 0, Side.BUY, qty, ts(-1)))
    assert (order.status.value, order.reason, venue.open_orders()) == ("rejected", "odd_lot", [])
