"""Property tests of the risk stage through the whole engine, on random synthetic panels
(1-4 symbols, daily or minute bars, random walks with jumps and missing bars), random
target weights (leverage above 1, shorts, flips), random limits and costs.

``tests/risk/test_properties.py`` checks the limits at fill prices on real data; here
each property is checked against what the engine saw at the decision (the Context the
risk stage got, recorded by wrapping its methods), with an independent oracle:

- every order the risk stage let through keeps the projected book (the step's earlier
  accepted orders included) within each limit whenever it adds exposure, and within
  ``max_order_notional`` / ``max_participation`` always; no planned order skips it;
- the ledger identity: equity = cash + sum position x mark at every step, rebuilt from
  the fills; fees >= 0; realized P&L equals an average-cost replay of the fills;
- the loss guards fire on the bars an oracle over the guard's equities says, block new
  risk exactly for the rest of that session, and the kill switch leaves only flattening;
- stops: each stop child fills on the first bar that touches it, at its stop (the open
  when gapped through), and trailing only ever tightens it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from alphapulse.config import parse_config
from alphapulse.data.panel import Panel
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context
from alphapulse.engine.feed import PanelFeed, forward_fill
from alphapulse.engine.loop import Engine, RunResult
from alphapulse.engine.runner import build_engine
from alphapulse.engine.stages import GuardAction, OrderCheck, Verdict
from alphapulse.model.orders import Order, OrderType, Side
from alphapulse.risk.checks import group_ids
from tests.risk.helpers import NO_GUARDS, NO_LIMITS, synthetic_panel

WEIGHTS = "tests.risk.strategies:RandomWeights"
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)  # whole backtests: no shrinking
REL = 1e-9
FREE = {"commission": {"model": "none"}, "slippage": {"model": "none"}}


# -- random data ---------------------------------------------------------------------
def random_panel(seed: int, n_sym: int, n_bars: int, minute: bool) -> Panel:
    """Random walks (0.5-4% a bar, jumps of 10-40% on ~2% of bars, gapped opens),
    ~5% missing bars per symbol and sometimes a late first bar."""
    rng = np.random.default_rng(seed)
    shape = (n_bars, n_sym)
    sigma = rng.uniform(0.005, 0.04, n_sym)
    r = rng.normal(0.0, 1.0, shape) * sigma
    jumps = rng.random(shape) < 0.02
    r[jumps] += rng.choice([-1.0, 1.0], int(jumps.sum())) * rng.uniform(0.1, 0.4, jumps.sum())
    close = rng.uniform(3.0, 200.0, n_sym) * np.exp(np.cumsum(r, axis=0))
    prev = np.vstack([close[:1], close[:-1]])
    open_ = prev * np.exp(rng.normal(0.0, 0.5, shape) * sigma)
    wick = 1.0 + rng.uniform(0.0, 1.0, shape) * sigma
    high = np.maximum(open_, close) * wick
    low = np.minimum(open_, close) / wick
    volume = rng.uniform(1e3, 1e6, shape).round()
    missing = rng.random(shape) < 0.05
    late = rng.integers(0, n_bars // 4 + 1, n_sym) * (rng.random(n_sym) < 0.3)
    for j, k in enumerate(late):
        missing[:k, j] = True
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    for v in fields.values():
        v[missing] = np.nan
    if minute:  # sessions of 20-60 one-minute bars from 14:30 UTC
        per = int(rng.integers(20, 61))
        day, k = np.divmod(np.arange(n_bars), per)
        ts = (
            pd.Timestamp("2021-03-01 14:30", tz="UTC").value
            + (day * 86_400 + k * 60) * 1_000_000_000
        )
    else:
        ts = pd.date_range("2020-01-01", periods=n_bars, freq="B", tz="UTC").as_unit("ns").asi8
    symbols = tuple(f"S{j}" for j in range(n_sym))
    return Panel(np.asarray(ts, dtype=np.int64), symbols, fields)


@st.composite
def panels(draw: st.DrawFn) -> Panel:
    return random_panel(
        draw(st.integers(0, 2**31)),
        draw(st.integers(1, 4)),
        draw(st.integers(50, 160)),
        draw(st.booleans()),
    )


def costs(draw: st.DrawFn) -> dict[str, Any]:
    per_share = draw(st.sampled_from([0.0, 0.005, 0.02]))
    bps = draw(st.sampled_from([0.0, 2.0, 25.0]))
    commission = {"model": "per_share", "per_share": per_share, "minimum": 1.0}
    return {
        "commission": commission if per_share else {"model": "none"},
        "slippage": {"model": "fixed_bps", "bps": bps} if bps else {"model": "none"},
    }


# -- engine runs with the risk stage's inputs recorded -----------------------------------
@dataclass
class Seen:
    """What the risk stage saw: per step (guards) and per checked order."""

    equity: dict[int, float] = field(default_factory=dict)
    cash: dict[int, float] = field(default_factory=dict)
    positions: dict[int, np.ndarray] = field(default_factory=dict)
    prices: dict[int, np.ndarray] = field(default_factory=dict)
    session: dict[int, int] = field(default_factory=dict)
    action: dict[int, GuardAction] = field(default_factory=dict)
    checks: list[tuple[int, Order, float, OrderCheck]] = field(default_factory=list)
    volume: dict[int, np.ndarray] = field(default_factory=dict)
    snaps: list[dict[int, tuple[OrderType, Side, float, float]]] = field(default_factory=list)


def _record(engine: Engine, seen: Seen) -> None:
    risk = engine.risk
    on_bar, check_order = risk.on_bar, risk.check_order

    def rec_on_bar(bar: BarSlice, ctx: Context) -> GuardAction:
        t = bar.t
        seen.equity[t], seen.cash[t], seen.session[t] = ctx.equity, ctx.cash, bar.session
        seen.positions[t] = ctx.positions.copy()
        seen.prices[t] = ctx.last_prices.copy()
        seen.volume[t] = np.array(bar.volume, dtype=float)
        seen.action[t] = a = on_bar(bar, ctx)
        return a

    def rec_check(order: Order, ctx: Context) -> OrderCheck:
        q0 = order.notional if order.notional is not None else order.quantity
        c = check_order(order, ctx)
        seen.checks.append((ctx.t, order, q0, c))
        return c

    risk.on_bar = rec_on_bar  # type: ignore[method-assign]
    risk.check_order = rec_check  # type: ignore[method-assign]


def run_seen(panel: Panel, cfg: dict[str, Any], snaps: bool = False) -> tuple[RunResult, Seen]:
    c = parse_config(cfg)
    feed = PanelFeed(panel, c.data.session_tz)
    engine = build_engine(c, c.strategies[0], feed)
    seen = Seen()
    _record(engine, seen)
    for bar in feed:
        engine.step(bar)
        if snaps:
            seen.snaps.append(
                {
                    o.id: (o.type, o.side, o.stop_price or o.limit_price or math.nan, o.quantity)
                    for o in engine.venue.open_orders()
                    if o.parent_id is not None
                }
            )
    return engine.result(), seen


def base_cfg(panel: Panel, params: dict[str, Any], **over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "data": {"source": "synthetic", "symbols": list(panel.symbols)},
        "initial_cash": 1_000_000.0,
        "strategies": [{"strategy": WEIGHTS, "params": params}],
    }
    cfg.update(over)
    return cfg


def random_cfg(
    draw: st.DrawFn, panel: Panel, risk: dict[str, Any], gross: float, free: bool = False
) -> dict[str, Any]:
    """A RandomWeights run over ``panel``: seed, trade rate, shorting, fill mode, costs
    (none with ``free``), slot gross up to ``gross`` and sometimes rebalancing drawn."""
    short = draw(st.booleans())
    params = {"seed": draw(st.integers(0, 10_000)), "p_trade": draw(st.floats(0.1, 1.0))}
    execution = {**(FREE if free else costs(draw)), "allow_short": short}
    cfg = base_cfg(
        panel,
        {**params, "short": short},
        fill_at=draw(st.sampled_from(["next_open", "close"])),
        execution=execution,
        portfolio={"method": "equal_slot", "gross": draw(st.floats(0.5, gross))},
        risk=risk,
    )
    if draw(st.booleans()):
        cfg["portfolio"]["rebalance"] = {"every": draw(st.integers(1, 10))}
    return cfg


def positions_by_bar(panel: Panel, r: RunResult) -> np.ndarray:
    """[T, N] positions at the end of every step, from the fills."""
    pos = np.zeros((panel.n_bars, panel.n_symbols))
    for f in r.fills:
        pos[f.bar_index :, f.sid] += f.signed_qty
    return pos


# -- 1. limits at the decision -----------------------------------------------------------
def _final_qty(order: Order, q0: float, c: OrderCheck, p: float) -> float:
    """Shares the risk stage let through (notional orders: notional / decision price)."""
    if c.verdict == Verdict.REJECT:
        return 0.0
    if c.verdict == Verdict.RESIZE:
        q = c.notional if order.notional is not None and c.notional is not None else c.quantity
        q = q0 if q is None else q
    else:
        q = q0
    return q / p if order.notional is not None else q


def _assert_within_limits(
    lim: dict[str, Any], groups: np.ndarray, book: np.ndarray, sid: int, s: int, e: float,
    p: np.ndarray,
) -> None:  # fmt: skip
    """The projected book after an order that added exposure to ``sid`` (side ``s``)."""
    mv = np.where(book != 0.0, book * np.nan_to_num(p), 0.0)
    tol = 1 + REL

    def ok(value: float, cap: float | None) -> bool:
        return cap is None or value <= cap * e * tol + 1e-6

    assert e > 0
    assert ok(abs(mv[sid]), lim["max_position_pct"]), (mv, e)
    assert ok(float(np.abs(mv[groups == groups[sid]]).sum()), lim["max_group_pct"]), (mv, e)
    assert ok(float(np.abs(mv).sum()), lim["max_gross_leverage"]), (mv, e)
    assert ok(s * float(mv.sum()), lim["max_net_leverage"]), (mv, e)
    if lim["min_price"] is not None:
        assert p[sid] >= lim["min_price"]


def _limits(draw: st.DrawFn, n: int) -> dict[str, Any]:
    def frac(lo: float, hi: float) -> float | None:
        return draw(st.none() | st.floats(lo, hi))

    return {
        "max_position_pct": frac(0.05, 1.5),
        "max_group_pct": frac(0.1, 2.0),
        "groups": {f"S{j}": "g" for j in range(n) if draw(st.booleans())},
        "max_gross_leverage": frac(0.3, 2.5),
        "max_net_leverage": frac(0.2, 2.0),
        "max_order_notional": draw(st.none() | st.floats(2_000.0, 300_000.0)),
        "max_participation": draw(st.none() | st.floats(0.001, 0.5)),
        "min_price": draw(st.none() | st.floats(2.0, 30.0)),
        "cash_buffer": draw(st.sampled_from([0.0, 0.01])),
    }


@st.composite
def limit_cases(draw: st.DrawFn) -> tuple[Panel, dict[str, Any], dict[str, Any]]:
    panel = draw(panels())
    lim = _limits(draw, panel.n_symbols)
    cfg = random_cfg(draw, panel, {"limits": lim, "guards": NO_GUARDS}, gross=6.0)
    cfg["execution"]["lot_size"] = draw(st.sampled_from([1.0, 1.0, 10.0]))
    return panel, cfg, lim


@settings(max_examples=50, deadline=None, phases=NO_SHRINK)
@given(limit_cases())
def test_orders_let_through_keep_the_decision_book_within_every_limit(
    case: tuple[Panel, dict[str, Any], dict[str, Any]],
) -> None:
    panel, cfg, lim = case
    r, seen = run_seen(panel, cfg)
    groups = group_ids(panel.symbols, lim["groups"])
    short = cfg["execution"]["allow_short"]
    book, cash, step = np.zeros(0), 0.0, -1
    for t, order, q0, c in seen.checks:
        if t != step:  # the first check of a step: the book the engine showed
            step, book, cash = t, seen.positions[t].copy(), seen.cash[t]
        p = seen.prices[t]
        sid, s = order.sid, int(order.side)
        q = _final_qty(order, q0, c, float(p[sid]))
        q_asked = q0 / p[sid] if order.notional is not None else q0
        assert q <= q_asked * (1 + REL) + 1e-9  # only ever shrinks
        if q <= 0:
            continue
        if lim["max_order_notional"] is not None:
            assert q * p[sid] <= lim["max_order_notional"] * (1 + REL) + 1e-6
        before = book[sid]
        if lim["max_participation"] is not None:  # no volume at the decision: reductions only
            vol = seen.volume[t][sid]
            reducing = min(q, abs(before)) if before * s < 0 else 0.0
            cap = lim["max_participation"] * vol if vol > 0 else reducing
            assert q <= cap * (1 + REL) + 1e-9
        book[sid] += s * q
        buf = lim["cash_buffer"]
        cash -= s * q * p[sid] * (1 + s * buf)
        if abs(book[sid]) > abs(before) + 1e-9 or np.sign(book[sid]) == -np.sign(before) != 0:
            _assert_within_limits(lim, groups, book, sid, s, seen.equity[t], p)
            if not short:
                assert cash >= -1e-6
    checked = {o.id for _, o, _, _ in seen.checks}
    planned = {
        o.id
        for o in r.orders
        if o.parent_id is None and o.tag in ("open", "close", "rebalance")
        and o.reason != "new_risk_blocked"
    }  # fmt: skip
    assert planned <= checked  # every planned order went through check_order
    if not short:
        assert np.all(r.cash >= -1e-6) and np.all(r.final_positions >= -1e-9)


# -- 2. the ledger identity --------------------------------------------------------------
@st.composite
def ledger_cases(draw: st.DrawFn) -> tuple[Panel, dict[str, Any]]:
    panel = draw(panels())
    stop = {"method": "pct", "value": draw(st.floats(0.01, 0.2))}
    risk = {
        "limits": {**NO_LIMITS, "max_position_pct": 2.0},
        "stops": {"stop_loss": stop, "trailing": draw(st.booleans())},
        "guards": NO_GUARDS,
    }
    cfg = random_cfg(draw, panel, risk, gross=4.0)
    return panel, cfg


@settings(max_examples=40, deadline=None, phases=NO_SHRINK)
@given(ledger_cases())
def test_ledger_identity_and_realized_pnl_through_the_engine(
    case: tuple[Panel, dict[str, Any]],
) -> None:
    panel, cfg = case
    r, _ = run_seen(panel, cfg)
    pos = positions_by_bar(panel, r)
    marks = np.nan_to_num(forward_fill(panel["close"]))
    flows = np.zeros(panel.n_bars)
    qty, avg, realized = np.zeros(panel.n_symbols), np.zeros(panel.n_symbols), 0.0
    for f in r.fills:
        assert f.fee >= 0 and f.quantity > 0 and f.price > 0
        flows[f.bar_index] -= f.signed_qty * f.price + f.fee
        q, sid = f.signed_qty, f.sid
        if qty[sid] * q < 0:  # closes (part of) the position at its average price
            closed = min(abs(q), abs(qty[sid]))
            realized += closed * (f.price - avg[sid]) * np.sign(qty[sid])
        new = qty[sid] + q
        if qty[sid] * q >= 0:
            avg[sid] = (qty[sid] * avg[sid] + q * f.price) / new
        elif np.sign(new) != np.sign(qty[sid]) and new != 0:
            avg[sid] = f.price  # flipped: the rest opened at the fill price
        qty[sid] = new
        if abs(new) < 1e-12:
            qty[sid], avg[sid] = 0.0, 0.0
    cash = r.initial_cash + np.cumsum(flows)
    scale = r.initial_cash
    np.testing.assert_allclose(r.cash, cash, rtol=0, atol=1e-7 * scale)
    np.testing.assert_allclose(r.equity, cash + (pos * marks).sum(axis=1), atol=1e-7 * scale)
    assert math.isclose(r.total_fees, sum(f.fee for f in r.fills), abs_tol=1e-6)
    assert math.isclose(r.total_realized, realized, rel_tol=1e-9, abs_tol=1e-5)
    np.testing.assert_allclose(r.final_positions, pos[-1], atol=1e-9)


# -- 3. loss guards and the kill switch ------------------------------------------------
def _guard_oracle(panel: Panel, seen: Seen, g: dict[str, Any]) -> tuple[set, np.ndarray]:
    """(kind, t) of every firing and the bars with new risk blocked, from the equities
    the guards saw (session reference: the previous session's last; open: the book at
    the session's first bar's opens)."""
    fired: set[tuple[str, int]] = set()
    blocked = np.zeros(panel.n_bars, dtype=bool)
    peak, killed, last = -math.inf, False, math.nan
    day_ref = open_eq = math.nan
    day_hit = circ_hit = False
    opens = panel["open"]
    for t in range(panel.n_bars):
        e = seen.equity[t]
        if t == 0 or seen.session[t] != seen.session[t - 1]:
            day_ref = e if t == 0 else last
            o = np.where(np.isfinite(opens[t]), opens[t], seen.prices[t])
            held = seen.positions[t]
            open_eq = seen.cash[t] + float(np.where(held != 0, held * np.nan_to_num(o), 0).sum())
            day_hit = circ_hit = False
        last, peak = e, max(peak, e)
        dl, il = g["daily_loss_limit"], g["intraday_loss_limit"]
        if dl and not day_hit and day_ref > 0 and 1 - e / day_ref >= dl:
            day_hit = True
            fired.add(("daily_loss_limit", t))
        if il and not circ_hit and open_eq > 0 and 1 - e / open_eq >= il:
            circ_hit = True
            fired.add(("circuit_breaker", t))
        if g["max_drawdown"] and not killed and peak > 0 and 1 - e / peak >= g["max_drawdown"]:
            killed = True
            fired.add(("kill_switch", t))
        blocked[t] = day_hit or circ_hit
    return fired, blocked


@st.composite
def guard_cases(draw: st.DrawFn) -> tuple[Panel, dict[str, Any], dict[str, Any]]:
    panel = draw(panels())
    guards = {
        **NO_GUARDS,
        "daily_loss_limit": draw(st.none() | st.floats(0.002, 0.05)),
        "intraday_loss_limit": draw(st.none() | st.floats(0.002, 0.05)),
        "max_drawdown": draw(st.none() | st.floats(0.02, 0.3)),
    }
    limits = {**NO_LIMITS, "max_gross_leverage": 3.0}
    cfg = random_cfg(draw, panel, {"limits": limits, "guards": guards}, gross=4.0)
    return panel, cfg, guards


@settings(max_examples=50, deadline=None, phases=NO_SHRINK)
@given(guard_cases())
def test_loss_guards_block_for_the_session_and_the_kill_switch_only_flattens(
    case: tuple[Panel, dict[str, Any], dict[str, Any]],
) -> None:
    panel, cfg, g = case
    r, seen = run_seen(panel, cfg)
    expected, blocked = _guard_oracle(panel, seen, g)
    kinds = ("daily_loss_limit", "circuit_breaker", "kill_switch")
    got = {(e.kind, int(np.searchsorted(panel.timestamps, e.ts_ns))) for e in r.risk_events}
    assert {x for x in got if x[0] in kinds} == expected
    assert [seen.action[t].block_new_risk for t in range(panel.n_bars)] == list(blocked)
    t_of = {int(ts): t for t, ts in enumerate(panel.timestamps)}
    for o in r.orders:
        if o.parent_id is not None or o.tag == "flatten":
            continue
        t = t_of[o.created_ns]
        if o.reason == "new_risk_blocked":
            assert blocked[t]
        elif blocked[t]:  # sent on a blocked bar: reduces what was held at the decision
            held = seen.positions[t][o.sid]
            assert o.notional is None and held != 0 and np.sign(held) == -int(o.side)
            assert o.quantity <= abs(held) + 1e-9
    kill = [t for k, t in expected if k == "kill_switch"]
    if kill:
        ts = int(panel.timestamps[kill[0]])
        assert all(o.tag == "flatten" for o in r.orders if o.created_ns > ts)
        pos = positions_by_bar(panel, r)
        for f in r.fills:  # nothing grows after the kill switch
            if f.ts_ns > ts:
                assert abs(pos[f.bar_index, f.sid]) < abs(pos[f.bar_index - 1, f.sid]) + 1e-9


# -- 4. stops --------------------------------------------------------------------------
@st.composite
def stop_cases(draw: st.DrawFn) -> tuple[Panel, dict[str, Any]]:
    panel = draw(panels())
    stops: dict[str, Any] = {
        "stop_loss": {"method": "pct", "value": draw(st.floats(0.005, 0.15))},
        "trailing": draw(st.booleans()),
    }
    if draw(st.booleans()):
        stops["take_profit"] = {"method": "pct", "value": draw(st.floats(0.005, 0.3))}
    limits = {**NO_LIMITS, "max_position_pct": 1.5}
    risk = {"limits": limits, "stops": stops, "guards": NO_GUARDS}
    cfg = random_cfg(draw, panel, risk, gross=3.0, free=True)
    return panel, cfg


@settings(max_examples=50, deadline=None, phases=NO_SHRINK)
@given(stop_cases())
def test_stops_fire_at_the_documented_price_and_trailing_only_tightens(
    case: tuple[Panel, dict[str, Any]],
) -> None:
    panel, cfg = case
    r, seen = run_seen(panel, cfg, snaps=True)
    sl = cfg["risk"]["stops"]["stop_loss"]["value"]
    px = forward_fill(panel["close"])
    t_of = {int(ts): t for t, ts in enumerate(panel.timestamps)}
    for o in r.orders:  # the bracket's stop: pct of the decision bar's close
        if o.parent_id is None and o.stop_loss is not None and o.tag != "strategy":
            ref = px[t_of[o.created_ns], o.sid]
            assert math.isclose(o.stop_loss, ref * (1 - int(o.side) * sl), rel_tol=1e-12)
    fills = {(f.order_id, f.bar_index): f for f in r.fills}
    pos = positions_by_bar(panel, r)
    o_, h_, l_ = panel["open"], panel["high"], panel["low"]
    for t in range(1, panel.n_bars):
        for oid, (kind, side, stop, _) in seen.snaps[t - 1].items():
            if kind != OrderType.STOP:
                continue
            nxt = seen.snaps[t].get(oid)
            if nxt is not None and side == Side.SELL:  # trailing: only up for a long's stop
                assert nxt[2] >= stop
            elif nxt is not None:
                assert nxt[2] <= stop
            sid = next(o.sid for o in r.orders if o.id == oid)
            if not np.isfinite(o_[t, sid]):
                assert (oid, t) not in fills  # no bar, no fill
                continue
            touched = l_[t, sid] <= stop if side == Side.SELL else h_[t, sid] >= stop
            f = fills.get((oid, t))
            if not touched:
                assert f is None
                continue
            assert f is not None, f"stop {oid} at {stop} touched at bar {t} but not filled"
            gapped = o_[t, sid] <= stop if side == Side.SELL else o_[t, sid] >= stop
            assert math.isclose(f.price, o_[t, sid] if gapped else stop, rel_tol=1e-12)
            held = pos[t - 1, sid]
            assert f.quantity <= abs(held) + 1e-9 and np.sign(held) == -int(side)


def test_a_close_flip_stop_does_not_open_a_naked_position() -> None:
    """Short 1000 at bar 1's close, flip to long 1000 at bar 3's close (a buy of 2000
    with a 5% stop at 95); bar 4 opens at 94, through the stop. The stop may sell at
    most the 1000 held: the book ends flat, not short 1000 (next_open mode does)."""
    bars = np.tile([100.0, 100.5, 99.5, 100.0, 1e7], (8, 1))
    bars[4] = [94.0, 94.5, 89.0, 90.0, 1e7]
    panel = synthetic_panel({"AAA": bars})
    cfg = base_cfg(
        panel,
        {"directions": {1: [-1.0], 3: [1.0]}},
        initial_cash=100_000.0,
        fill_at="close",
        execution={**FREE, "allow_short": True},
        risk={"limits": NO_LIMITS, "guards": NO_GUARDS,
              "stops": {"stop_loss": {"method": "pct", "value": 0.05}}},
    )  # fmt: skip
    cfg["strategies"][0]["strategy"] = "tests.engine.strategies_for_tests:Scripted"
    r, _ = run_seen(panel, cfg)
    stop = [f for f in r.fills if f.tag.endswith("stop_loss")]
    assert [(f.bar_index, f.quantity) for f in stop] == [(4, 1000.0)]
    assert r.final_positions[0] == 0.0
