"""Portfolio guards on real data, one table row per guard: each fires on the bar an
independent computation from the run's equity (and the panel's prices) says, and its
action is visible in the orders (no new risk, flatten + halt, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphapulse.data.panel import Panel
from alphapulse.engine.feed import forward_fill
from alphapulse.engine.loop import RunResult
from alphapulse.model.orders import OrderStatus, Side
from tests.risk.helpers import (
    NO_GUARDS,
    NO_LIMITS,
    RANDOM,
    config,
    run,
    synthetic_panel,
    ts_index,
)

SCRIPTED = "tests.engine.strategies_for_tests:Scripted"

NEXT_OPEN = "next_open"


def _positions(panel: Panel, r: RunResult) -> np.ndarray:
    """[T, N] positions at the end of every bar, from the fills."""
    pos = np.zeros((panel.n_bars, panel.n_symbols))
    for f in r.fills:
        pos[f.bar_index :, f.sid] += f.signed_qty
    return pos


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def expect_daily_loss(panel: Panel, r: RunResult, g: dict[str, Any]) -> int | None:
    e = r.equity  # daily bars: each bar is a session; reference = previous close equity
    loss = 1.0 - e[1:] / e[:-1]
    t = _first(loss >= g["daily_loss_limit"])
    return None if t is None else t + 1


def expect_circuit(panel: Panel, r: RunResult, g: dict[str, Any]) -> int | None:
    pos = _positions(panel, r)
    opens = np.where(np.isnan(panel["open"]), forward_fill(panel["close"]), panel["open"])
    e_open = r.cash + (pos * opens).sum(axis=1)
    return _first(1.0 - r.equity / e_open >= g["intraday_loss_limit"])


def expect_kill(panel: Panel, r: RunResult, g: dict[str, Any]) -> int | None:
    peak = np.maximum.accumulate(r.equity)
    return _first(1.0 - r.equity / peak >= g["max_drawdown"])


def expect_disable(panel: Panel, r: RunResult, g: dict[str, Any]) -> int | None:
    ad = g["auto_disable"]
    if ad.get("max_drawdown"):
        return expect_kill(panel, r, {"max_drawdown": ad["max_drawdown"]})
    w, patience = ad["window"], ad["patience"]
    px = forward_fill(panel["close"])
    streak = 0
    for t in range(w, panel.n_bars):
        strat = r.equity[t] / r.equity[t - w] - 1.0
        rel = px[t] / px[t - w]
        bench = float(np.nanmean(rel)) - 1.0
        streak = streak + 1 if strat - bench < -ad["underperformance"] else 0
        if streak >= patience:
            return t
    return None


CASES = [
    # id, panel, strategy, params, guards, expected kind, expected first date, oracle
    ("daily_loss", "sp6", "buy_and_hold", {}, {"daily_loss_limit": 0.03},
     "daily_loss_limit", "2015-01-27", expect_daily_loss),
    ("daily_loss_2015_08", "sp6", "buy_and_hold", {}, {"daily_loss_limit": 0.04},
     "daily_loss_limit", "2015-08-21", expect_daily_loss),
    ("circuit_breaker", "sp6", "buy_and_hold", {}, {"intraday_loss_limit": 0.03},
     "circuit_breaker", "2015-08-21", expect_circuit),
    ("circuit_breaker_2008", "etf_2008", "buy_and_hold", {}, {"intraday_loss_limit": 0.03},
     "circuit_breaker", "2008-07-09", expect_circuit),
    ("kill_switch_2008", "etf_2008", "buy_and_hold", {}, {"max_drawdown": 0.15},
     "kill_switch", "2008-07-14", expect_kill),
    ("kill_switch_2015", "sp6", "buy_and_hold", {}, {"max_drawdown": 0.10},
     "kill_switch", "2015-08-21", expect_kill),
    ("auto_disable", "sp6", RANDOM, {"seed": 1, "p_trade": 0.0},
     {"auto_disable": {"underperformance": 0.03, "window": 63, "patience": 5}},
     "strategy_disabled", "2014-11-06", expect_disable),
    ("auto_disable_drawdown", "sp6", "buy_and_hold", {},
     {"auto_disable": {"max_drawdown": 0.08, "underperformance": None}},
     "strategy_disabled", "2014-12-16", expect_disable),
]  # fmt: skip


@pytest.mark.parametrize(
    ("panel_name", "strategy", "params", "guards", "kind", "date", "oracle"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_guard_fires_where_expected(
    request: pytest.FixtureRequest,
    panel_name: str,
    strategy: str,
    params: dict,
    guards: dict,
    kind: str,
    date: str,
    oracle: Any,
) -> None:
    panel: Panel = request.getfixturevalue(panel_name)
    g = {**NO_GUARDS, **guards}
    r = run(panel, config(panel, strategy, params, risk={"limits": NO_LIMITS, "guards": g}))
    events = [e for e in r.risk_events if e.kind == kind]
    assert events, f"{kind} never fired"
    t = ts_index(panel, events[0].ts_ns)
    assert t == oracle(panel, r, g)
    assert str(pd.Timestamp(events[0].ts_ns, unit="ns", tz="UTC").date()) == date
    if kind in ("kill_switch", "strategy_disabled"):
        assert len(events) == 1
        ts = events[0].ts_ns
        later = [o for o in r.orders if o.created_ns >= ts]
        held = _positions(panel, r)[ts_index(panel, ts)]
        assert len(later) == int((held != 0).sum())  # one flatten order per position
        assert all(o.tag == "flatten" for o in later)
        assert np.all(r.final_positions == 0.0)


@pytest.mark.parametrize("guard", ["daily_loss_limit", "intraday_loss_limit"])
def test_loss_guards_block_new_risk_for_the_session(sp6: Panel, guard: str) -> None:
    g = {**NO_GUARDS, guard: 0.01}
    cfg = config(sp6, RANDOM, {"seed": 5, "p_trade": 1.0, "short": True},
                 execution={"allow_short": True, "commission": {"model": "none"},
                            "slippage": {"model": "none"}},
                 risk={"limits": NO_LIMITS, "guards": g})  # fmt: skip
    r = run(sp6, cfg)
    kind = "daily_loss_limit" if guard == "daily_loss_limit" else "circuit_breaker"
    fired = {e.ts_ns for e in r.risk_events if e.kind == kind}
    assert len(fired) >= 3
    pos = _positions(sp6, r)
    checked = 0
    blocked = 0
    for o in r.orders:
        if o.created_ns in fired and o.parent_id is None:
            if o.reason == "new_risk_blocked":  # recorded, never sent
                assert o.status == OrderStatus.REJECTED and o.filled_qty == 0
                blocked += 1
                continue
            held = pos[ts_index(sp6, o.created_ns), o.sid]
            assert o.notional is None and held != 0 and np.sign(held) == -int(o.side)
            assert o.quantity <= abs(held)
            checked += 1
    assert checked > 0 and blocked > 0  # on those bars it traded only to reduce


def test_an_entry_blocked_by_the_daily_loss_limit_is_made_once_the_block_lifts() -> None:
    """AAA loses 8% on bar 5 (4% of equity): the daily loss limit blocks new risk for
    that session, so the BBB entry decided then is rejected (``new_risk_blocked``, in the
    orders); the unchanged target is planned again on bar 6 and BBB is bought."""
    flat = np.tile([100.0, 100.0, 100.0, 100.0, 1e6], (12, 1))
    aaa = flat.copy()
    aaa[5:, :4] = [92.0, 92.0, 92.0, 92.0]
    panel = synthetic_panel({"AAA": aaa, "BBB": flat})
    ups = {t: [1.0, 1.0] for t in range(5, 10)}
    directions = {2: [1.0, None], **ups}
    guards = {**NO_GUARDS, "daily_loss_limit": 0.03}
    cfg = config(panel, SCRIPTED, {"directions": directions},
                 execution={"commission": {"model": "none"}, "slippage": {"model": "none"}},
                 risk={"limits": NO_LIMITS, "guards": guards})  # fmt: skip
    r = run(panel, cfg)
    assert [ts_index(panel, e.ts_ns) for e in r.risk_events] == [5]
    bbb = [(ts_index(panel, o.created_ns), o.status, o.reason) for o in r.orders if o.sid == 1]
    assert bbb == [(5, OrderStatus.REJECTED, "new_risk_blocked"), (6, OrderStatus.FILLED, "")]
    assert r.final_positions[1] > 0


@pytest.mark.parametrize("action", ["block", "flatten"])
def test_stale_data_breaker(sp6: Panel, action: str) -> None:
    """KO's bars 100..109 are deleted while it is held: after 5 steps without a bar the
    guard fires; ``flatten`` closes it at its first bar back, ``block`` only stops it
    from growing."""
    fields = {k: v.copy() for k, v in sp6.fields.items()}
    ko = sp6.symbols.index("KO")
    for k in fields:
        fields[k][100:110, ko] = np.nan
    panel = Panel(sp6.timestamps, sp6.symbols, fields)
    g = {**NO_GUARDS, "stale_data": {"bars": 5, "action": action}}
    cfg = config(panel, "buy_and_hold", risk={"limits": NO_LIMITS, "guards": g},
                 portfolio={"method": "equal_weight", "rebalance": {"every": 1}})  # fmt: skip
    r = run(panel, cfg)
    ev = [e for e in r.risk_events if e.kind == "stale_data"]
    assert [(ts_index(panel, e.ts_ns), e.symbol) for e in ev] == [(104, "KO")]
    ko_orders = [o for o in r.orders if o.sid == ko and 104 <= ts_index(panel, o.created_ns) < 110]
    pos = _positions(panel, r)
    if action == "flatten":
        assert [o.tag for o in ko_orders] == ["flatten"]
        assert ko_orders[0].status == OrderStatus.FILLED
        fill = next(f for f in r.fills if f.order_id == ko_orders[0].id)
        assert fill.bar_index == 110 and pos[110, ko] == 0.0
    else:
        assert all(o.side == Side.SELL for o in ko_orders)
        assert pos[110, ko] <= pos[99, ko]


def test_error_burst_halts(sp6: Panel) -> None:
    """Lots of 5000 shares make every notional buy unaffordable: the venue rejects each
    one; the 5th rejection within 10 bars halts the strategy."""
    g = {**NO_GUARDS, "error_burst": {"count": 5, "window": 10}}
    cfg = config(sp6, RANDOM, {"seed": 2, "p_trade": 0.5},
                 execution={"lot_size": 5000}, risk={"limits": NO_LIMITS, "guards": g})  # fmt: skip
    r = run(sp6, cfg)
    venue_rejected = sorted(
        ts_index(sp6, o.created_ns) + 1
        for o in r.orders
        if o.status == OrderStatus.REJECTED and o.reason == "insufficient_cash"
    )
    expected = next(t for t in venue_rejected if sum(t - 10 < u <= t for u in venue_rejected) >= 5)
    ev = [e for e in r.risk_events if e.kind == "error_burst"]
    assert len(ev) == 1 and ts_index(sp6, ev[0].ts_ns) == expected
    assert all(o.created_ns < ev[0].ts_ns for o in r.orders)  # halted: nothing after
    assert sum(e.kind == "venue_rejected" for e in r.risk_events) == len(venue_rejected)


def test_guards_are_off_when_risk_is_absent(sp6: Panel) -> None:
    r = run(sp6, config(sp6, "buy_and_hold"))
    assert r.risk_events == [] and r.extra == {}
