"""Pre-trade checks: one case per limit (reason codes), notional orders, and a property
test over random books and orders: the projected book never exceeds a limit through an
increase, and a resize never flips an order's side."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.data.panel import Panel
from alphapulse.engine.stages import Verdict
from alphapulse.model.orders import Order, Side
from alphapulse.risk.checks import PreTradeChecks, StepBook, cap_targets, group_ids
from alphapulse.risk.config import LimitsConfig, RiskConfig
from alphapulse.risk.manager import StandardRiskManager
from tests.risk.conftest import GROUPS
from tests.risk.helpers import context_at

T = 300  # decision bar used throughout


def _order(
    panel: Panel, sym: str, side: Side, qty: float = 0.0, notional: float | None = None
) -> Order:
    sid = panel.symbols.index(sym)
    return Order(1, sym, sid, side, qty, int(panel.timestamps[T]), notional=notional)


def _checks(panel: Panel, **limits: object) -> PreTradeChecks:
    base: dict[str, object] = {
        "max_position_pct": None,
        "max_group_pct": None,
        "max_gross_leverage": None,
        "max_net_leverage": None,
    }
    base.update(limits)
    return PreTradeChecks(LimitsConfig.model_validate(base), panel.symbols)


def _price(panel: Panel, sym: str) -> float:
    return float(panel["close"][T, panel.symbols.index(sym)])


@pytest.mark.parametrize(
    ("limits", "side", "qty_fn", "verdict", "reason"),
    [
        ({"max_position_pct": 0.10}, Side.BUY, lambda e, p: 0.2 * e / p, "resize", "max_position"),
        ({"max_position_pct": 0.10}, Side.BUY, lambda e, p: 0.05 * e / p, "accept", ""),
        ({"max_order_notional": 10_000}, Side.BUY, lambda e, p: 50_000 / p, "resize",
         "max_order_notional"),
        ({"min_price": 1e6}, Side.BUY, lambda e, p: 10, "reject", "min_price"),
        ({"max_gross_leverage": 0.05}, Side.BUY, lambda e, p: 0.08 * e / p, "resize",
         "max_gross_leverage"),
        ({"max_net_leverage": 0.03}, Side.BUY, lambda e, p: 0.08 * e / p, "resize",
         "max_net_leverage"),
        ({}, Side.BUY, lambda e, p: 2.0 * e / p, "resize", "insufficient_cash"),
        ({}, Side.SELL, lambda e, p: 10, "reject", "no_short"),
        ({"max_participation": 1e-9}, Side.BUY, lambda e, p: 10, "reject", "max_participation"),
    ],
)  # fmt: skip
def test_each_limit_has_its_reason_code(
    sp6: Panel,
    limits: dict,
    side: Side,
    qty_fn: Callable[[float, float], float],
    verdict: str,
    reason: str,
) -> None:
    ctx = context_at(sp6, T)
    p = _price(sp6, "AAPL")
    qty = math.floor(qty_fn(ctx.equity, p))
    order = _order(sp6, "AAPL", side, qty)
    d = _checks(sp6, **limits).check(order, ctx, StepBook.of(ctx))
    assert d.check.verdict == Verdict(verdict)
    assert d.check.reason == reason
    if verdict == "resize":
        assert d.check.quantity is not None and 0 < d.check.quantity < qty
        assert d.check.quantity == math.floor(d.check.quantity)  # whole lots


def test_group_concentration_counts_the_other_members(sp6: Panel) -> None:
    pos = np.zeros(sp6.n_symbols)
    msft = sp6.symbols.index("MSFT")
    pos[msft] = 0.25 * 1_000_000 / _price(sp6, "MSFT")  # 25% in tech already
    ctx = context_at(sp6, T, pos, cash=750_000.0)
    checks = _checks(sp6, max_group_pct=0.30, groups=GROUPS)
    d = checks.check(_order(sp6, "AAPL", Side.BUY, 1000), ctx, StepBook.of(ctx))
    assert d.check.verdict == Verdict.RESIZE and d.check.reason == "max_group"
    room = 0.30 * ctx.equity - pos[msft] * _price(sp6, "MSFT")
    assert d.check.quantity == math.floor(room / _price(sp6, "AAPL"))
    # a name outside the group is not limited by it
    d = checks.check(_order(sp6, "KO", Side.BUY, 1000), ctx, StepBook.of(ctx))
    assert d.check.verdict == Verdict.ACCEPT


def test_notional_orders_are_resized_in_notional(sp6: Panel) -> None:
    ctx = context_at(sp6, T)
    order = _order(sp6, "AAPL", Side.BUY, notional=300_000.0)
    d = _checks(sp6, max_position_pct=0.10).check(order, ctx, StepBook.of(ctx))
    assert d.check.verdict == Verdict.RESIZE and d.check.reason == "max_position"
    assert d.check.notional == pytest.approx(0.10 * ctx.equity)
    assert d.check.quantity is None


def test_a_small_resize_shows_in_its_event(sp6: Panel) -> None:
    """A notional cut by less than a millionth still reads as a cut (the event's numbers
    once had 6 digits: ``notional 312698 -> 312698``)."""
    ctx = context_at(sp6, T)
    cap = 0.10 * ctx.equity
    rm = StandardRiskManager(
        RiskConfig.model_validate({"limits": {"max_position_pct": 0.10}}), sp6.symbols
    )
    rm.check_order(_order(sp6, "AAPL", Side.BUY, notional=cap * (1 + 3e-7)), ctx)
    (event,) = rm.events()
    assert event.kind == "order_resized"
    old, new = (float(x) for x in event.detail.removeprefix("notional ").split(" -> "))
    assert new == pytest.approx(cap, rel=1e-12) and new < old


def test_reductions_pass_exposure_limits_and_sells_stop_at_the_position(sp6: Panel) -> None:
    pos = np.zeros(sp6.n_symbols)
    sid = sp6.symbols.index("AAPL")
    pos[sid] = 5000.0  # far above any limit
    ctx = context_at(sp6, T, pos, cash=0.0)
    checks = _checks(sp6, max_position_pct=0.01, max_gross_leverage=0.01, max_net_leverage=0.01)
    d = checks.check(_order(sp6, "AAPL", Side.SELL, 1000), ctx, StepBook.of(ctx))
    assert d.check.verdict == Verdict.ACCEPT
    d = checks.check(_order(sp6, "AAPL", Side.SELL, 8000), ctx, StepBook.of(ctx))
    assert d.check.verdict == Verdict.RESIZE and d.check.reason == "no_short"
    assert d.check.quantity == 5000.0


def test_orders_of_one_step_share_the_limits(sp6: Panel) -> None:
    """The second buy of a step sees the first one in the projected book."""
    ctx = context_at(sp6, T)
    checks = _checks(sp6, max_gross_leverage=0.15)
    book = StepBook.of(ctx)
    first = _order(sp6, "AAPL", Side.BUY, notional=0.10 * ctx.equity)
    d1 = checks.check(first, ctx, book)
    checks.commit(first, d1, ctx, book)
    second = _order(sp6, "KO", Side.BUY, notional=0.10 * ctx.equity)
    d2 = checks.check(second, ctx, book)
    assert d2.check.verdict == Verdict.RESIZE and d2.check.reason == "max_gross_leverage"
    assert d2.check.notional == pytest.approx(0.05 * ctx.equity, rel=1e-9)


def test_cap_targets_clips_names_groups_and_gross(sp6: Panel) -> None:
    lim = LimitsConfig(max_position_pct=0.2, max_group_pct=0.3, groups=GROUPS)
    groups = group_ids(sp6.symbols, lim.groups)
    w = np.full(sp6.n_symbols, 0.25)
    w[sp6.symbols.index("KO")] = np.nan
    out, hit = cap_targets(w, lim, groups)
    assert np.isnan(out[sp6.symbols.index("KO")])
    assert np.nanmax(np.abs(out)) <= 0.2 + 1e-12
    for g in set(GROUPS.values()):
        members = [sp6.symbols.index(s) for s, gg in GROUPS.items() if gg == g]
        assert np.abs(out[members]).sum() <= 0.3 + 1e-12
    assert np.nansum(np.abs(out)) <= 1.0 + 1e-12
    assert hit[:2] == ["max_position", "max_group"]


LIMITS = {
    "max_position_pct": 0.10,
    "max_group_pct": 0.25,
    "groups": GROUPS,
    "max_gross_leverage": 0.8,
    "max_net_leverage": 0.5,
    "max_order_notional": 150_000.0,
}


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    allow_short=st.booleans(),
    t=st.integers(50, 450),
)
def test_checks_never_breach_limits_nor_flip_sides(
    sp6: Panel, data: st.DataObject, allow_short: bool, t: int
) -> None:
    n = sp6.n_symbols
    prices = sp6["close"][t]
    equity = 1_000_000.0
    low = -0.15 if allow_short else 0.0
    w0 = np.array(data.draw(st.lists(st.floats(low, 0.15), min_size=n, max_size=n)))
    pos = np.floor(w0 * equity / prices)
    cash = equity - float((pos * prices).sum())
    ctx = context_at(sp6, t, pos, cash=cash)
    rm = StandardRiskManager(
        RiskConfig.model_validate({"limits": LIMITS}), sp6.symbols, allow_short=allow_short
    )
    lim = rm.cfg.limits
    assert lim.max_position_pct and lim.max_group_pct and lim.max_gross_leverage
    assert lim.max_net_leverage and lim.max_order_notional
    groups = rm.checks.groups
    n_orders = data.draw(st.integers(1, 8))
    for i in range(n_orders):
        sid = data.draw(st.integers(0, n - 1))
        side = data.draw(st.sampled_from([Side.BUY, Side.SELL]))
        notional = data.draw(st.booleans()) and side == Side.BUY
        size = data.draw(st.floats(0.001, 0.6)) * equity
        q0 = 0.0 if notional else float(max(math.floor(size / prices[sid]), 1))
        order = Order(
            i + 1, sp6.symbols[sid], sid, side, q0, ctx.ts_ns, notional=size if notional else None
        )
        before = rm._book.positions.copy() if rm._book is not None else pos.copy()
        check = rm.check_order(order, ctx)
        book = rm._book
        assert book is not None
        after = book.positions
        assert order.side == side  # the risk stage never changes the side
        delta = after[sid] - before[sid]
        assert delta == 0.0 or np.sign(delta) == int(side)  # the resize keeps the side
        if check.verdict == Verdict.RESIZE:
            new = check.notional if notional else check.quantity
            assert new is not None and 0 < new < (size if notional else q0)
        # an increase never takes the projected book past a limit
        if abs(after[sid]) > abs(before[sid]) + 1e-9:
            mv = after * prices
            e = equity
            assert abs(mv[sid]) <= lim.max_position_pct * e * (1 + 1e-9)
            g = groups == groups[sid]
            assert np.abs(mv[g]).sum() <= lim.max_group_pct * e * (1 + 1e-9)
            assert np.abs(mv).sum() <= lim.max_gross_leverage * e * (1 + 1e-9)
            net_before = abs(float((before * prices).sum()))
            assert abs(mv.sum()) <= max(lim.max_net_leverage * e, net_before) * (1 + 1e-9)
            assert abs(delta) * prices[sid] <= lim.max_order_notional * (1 + 1e-9)
            if not allow_short:
                assert book.cash >= -1e-6
        if not allow_short:
            assert after[sid] >= -1e-9  # no naked shorts
