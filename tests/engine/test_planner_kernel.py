"""The planner's compiled passes (``_replan``, ``_sizes``) plan exactly the orders of the
plain-Python rules they replaced (kept here as the reference), for long, short, flat and
unknown targets, positions of either sign, missing prices, lots and minimum values; and
a target that could not be sized for want of a price is traded once the price comes."""

from __future__ import annotations

import math
from itertools import count
from typing import Literal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alphapulse.engine.context import Context, History
from alphapulse.engine.planner import OrderPlanner
from alphapulse.model.orders import Order, OrderType, Side
from alphapulse.model.signals import Targets

_EPS = 1e-12
weights = st.one_of(st.just(np.nan), st.just(0.0), st.just(1e-13), st.floats(-1.0, 1.0))
positions = st.one_of(st.just(0.0), st.floats(-500.0, 500.0))
prices = st.one_of(st.just(np.nan), st.just(0.0), st.floats(0.5, 300.0))


def _reference(
    w: np.ndarray, last: np.ndarray, ctx: Context, lot: float, min_value: float, always: bool
) -> tuple[list[tuple[object, ...]], list[int]]:
    """The planner's rules as plain Python (the code before the compiled passes)."""
    changed = ~np.isnan(w) & (np.isnan(last) | (np.abs(w - last) > _EPS))
    if always:
        changed = ~np.isnan(w)
    stale_flat = ~np.isnan(w) & (np.abs(w) <= _EPS) & (ctx.positions != 0.0)
    todo = [int(s) for s in np.flatnonzero(changed | stale_flat)]
    last[todo] = w[todo]
    ids = count(1)
    out: list[Order] = []
    for sid in todo:
        x, pos, px = float(w[sid]), float(ctx.positions[sid]), float(ctx.last_prices[sid])
        sym = ctx.symbols[sid]
        if abs(x) <= _EPS:
            if pos != 0.0:
                side = Side.SELL if pos > 0 else Side.BUY
                out.append(Order(next(ids), sym, sid, side, abs(pos), ctx.ts_ns, tag="close"))
            continue
        if not math.isfinite(px) or px <= 0 or ctx.equity <= 0:
            last[sid] = np.nan  # not sizable yet: planned again
            continue
        budget = abs(x) * ctx.equity
        if pos == 0.0 and x > 0:
            if budget >= min_value:
                order = Order(next(ids), sym, sid, Side.BUY, 0.0, ctx.ts_ns, notional=budget)
                order.tag = "open"
                out.append(order)
            continue
        delta = math.copysign(budget / px, x) - pos
        qty = math.floor(abs(delta) / lot + 1e-9) * lot
        if qty <= 0 or qty * px < min_value:
            continue
        side = Side.BUY if delta > 0 else Side.SELL
        out.append(
            Order(next(ids), sym, sid, side, qty, ctx.ts_ns, type=OrderType.MARKET, tag="rebalance")
        )
    out.sort(key=lambda o: 0 if o.side == Side.SELL else 1)
    return [_key(o) for o in out], todo


def _key(o: Order) -> tuple[object, ...]:
    return (o.id, o.symbol, o.sid, o.side, o.quantity, o.notional, o.type, o.tag, o.created_ns)


@settings(max_examples=100, deadline=None)
@given(
    st.data(),
    st.integers(1, 8),
    st.sampled_from([1.0, 10.0, 0.01]),
    st.sampled_from([0.0, 500.0]),
    st.sampled_from(["on_change", "always"]),
)
def test_compiled_plan_equals_the_python_rules(
    data: st.DataObject,
    n: int,
    lot: float,
    min_value: float,
    mode: Literal["on_change", "always"],
) -> None:
    syms = tuple(f"S{i}" for i in range(n))
    pos = data.draw(arrays(np.float64, n, elements=positions))
    last_px = data.draw(arrays(np.float64, n, elements=prices))
    equity = data.draw(st.sampled_from([0.0, 1e5, 1e6]))
    hist = History({"close": np.ones((2, n))}, np.arange(2))
    ctx = Context(1, 7, syms, hist, pos, np.zeros(n), last_px, equity, equity)
    planner = OrderPlanner(n, lot_size=lot, min_trade_value=min_value, mode=mode)
    ref_last = np.full(n, np.nan)
    for _ in range(3):  # a few plans in a row: remembered targets matter
        w = data.draw(arrays(np.float64, n, elements=weights))
        want, todo = _reference(w, ref_last, ctx, lot, min_value, mode == "always")
        got = planner.plan(Targets(w), ctx, count(1).__next__)
        assert [_key(o) for o in got] == want
        assert planner.replanned.tolist() == todo


def test_a_target_without_a_price_yet_is_traded_once_priced() -> None:
    """The same target, repeated: nothing while the symbol has no price, the entry at
    the first plan after its first price (an unchanged target is otherwise not re-planned)."""
    syms = ("A", "B")
    hist = History({"close": np.ones((2, 2))}, np.arange(2))
    planner = OrderPlanner(2)
    w = Targets(np.array([0.5, 0.5]))

    def plan(b_price: float) -> list[str]:
        px = np.array([10.0, b_price])
        ctx = Context(1, 7, syms, hist, np.zeros(2), np.zeros(2), px, 1e5, 1e5)
        return [o.symbol for o in planner.plan(w, ctx, count(1).__next__)]

    assert plan(np.nan) == ["A"]
    assert plan(np.nan) == []
    assert plan(20.0) == ["B"]
    assert plan(20.0) == []
