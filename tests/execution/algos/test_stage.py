"""Parent orders worked in the engine: schedules, partial fills, participation caps,
session ends, passive re-pricing and cancel/replace (one flat synthetic symbol)."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from alphapulse.core.errors import SettingError
from alphapulse.model.orders import OrderStatus, OrderType, Side
from alphapulse.model.signals import OrderRequest
from tests.execution.algos.harness import (
    FREE,
    MIN,
    T0,
    BlockNewRisk,
    HaltAt,
    Scripted,
    buy,
    children,
    minute_panel,
    run,
)

WIDE = {"commission": {"model": "none"}, "slippage": {"model": "half_spread", "spread_bps": 100}}


@pytest.mark.parametrize(
    ("algo", "qty", "horizon", "cap", "n_children", "done_by"),
    [
        ("market", 300, "30min", 0.1, 1, 1),  # one child for everything
        ("twap", 300, "30min", 1.0, 30, 30),  # 10 a minute
        ("twap", 300, "10min", 0.01, 30, 30),  # capped at 10 a bar: 30 bars, not 10
        ("is", 300, "30min", 1.0, None, 30),  # front-loaded, done by the horizon
        ("vwap", 300, "30min", 1.0, 30, 30),  # no past session yet: TWAP
        ("pov", 300, "30min", 0.1, 3, 4),  # 10% of 1000 a bar
    ],
)
def test_schedules_in_the_engine(
    algo: str, qty: float, horizon: str, cap: float, n_children: int | None, done_by: int
) -> None:
    r, _ = run(
        minute_panel(60),
        Scripted(orders={0: [buy(qty, algo)]}),
        algo="twap",
        horizon=horizon,
        max_participation=cap,
        passive=False,
    )
    (rec,) = r.executions
    kids = children(r, rec["parent_id"])
    assert rec["status"] == "filled" and rec["filled"] == qty
    assert sum(f.quantity for f in r.fills) == qty
    if n_children is not None:
        assert len(kids) == n_children
    assert max(f.bar_index for f in r.fills) == done_by
    assert all(o.created_ns > T0 - 1 and o.type == OrderType.MARKET for o in kids)
    if algo != "market":
        assert max(o.quantity for o in kids) <= cap * 1000 + 1e-9


@pytest.mark.parametrize("volatile", [True, False])
def test_is_front_loads_against_twap_when_prices_move(volatile: bool) -> None:
    """Decided at bar 10 (volatility measured): IS front-loads when prices move and is
    TWAP when they do not (no timing risk)."""
    panel = minute_panel(60)
    if volatile:  # a 0.5% zigzag
        for k in ("open", "high", "low", "close"):
            panel.fields[k][1::2] *= 1.005
    done = {}
    for algo in ("twap", "is"):
        r, _ = run(
            panel,
            Scripted(orders={10: [buy(300, algo)]}),
            horizon="30min",
            max_participation=1.0,
            urgency="high",
            passive=False,
        )
        assert sum(f.quantity for f in r.fills) == 300
        done[algo] = [f.quantity for f in r.fills]
    if volatile:
        assert sum(done["is"][:10]) > sum(done["twap"][:10]) + 50
    else:
        assert done["is"] == done["twap"]


def test_vwap_follows_past_sessions_volume() -> None:
    """Day 1 trades only in its first 5 minutes' volume... the profile puts the VWAP
    parent of day 2 where day 1's volume was; a TWAP parent spreads out. A stage set to
    another algorithm builds the profile from the bars it saw when an order tagged
    ``algo:vwap`` comes: the same fills as a stage that kept it all along."""
    p = minute_panel(30, days=2)
    vol = p.fields["volume"]
    vol[:30, 0] = [1000.0] * 5 + [1.0] * 25  # day 1: volume in the first 5 minutes
    fills, early = {}, {}
    for tagged, configured in (("vwap", "vwap"), ("vwap", "twap"), ("twap", "twap")):
        r, _ = run(
            p,
            Scripted(orders={30: [buy(100, tagged)]}),  # decided at day 2's first bar
            algo=configured,
            horizon="20min",
            max_participation=1.0,
            passive=False,
        )
        (rec,) = r.executions
        assert rec["status"] == "filled"
        fills[tagged, configured] = r.fills
        early[tagged, configured] = sum(f.quantity for f in r.fills if f.bar_index <= 30 + 5)
    assert early["vwap", "vwap"] >= 90  # most of it where the volume was
    assert early["twap", "twap"] <= 35  # about a quarter (5 of 20 minutes)
    assert fills["vwap", "twap"] == fills["vwap", "vwap"]


def test_pov_tracks_realised_volume_with_partial_fills() -> None:
    p = minute_panel(20)
    p.fields["volume"][:, 0] = [100.0, 500.0, 0.0, 2000.0] * 5
    r, _ = run(p, Scripted(orders={0: [buy(10_000, "pov")]}), max_participation=0.1, passive=False)
    (rec,) = r.executions
    printed = p.fields["volume"][1:, 0].sum()
    assert rec["status"] == "working"  # still going at the end of the data
    assert rec["filled"] <= 0.1 * printed + 1e-9
    assert rec["filled"] >= 0.1 * (printed - 2000.0) - 200.0  # lags one bar at most


def test_venue_participation_cap_leaves_child_working() -> None:
    r, _ = run(
        minute_panel(10, volume=100.0),
        Scripted(orders={0: [buy(50, "market")]}),
        execution={"commission": {"model": "none"}, "slippage": {"model": "none"},
                   "max_participation": 0.1},
    )  # fmt: skip
    (kid,) = children(r)
    assert [f.quantity for f in r.fills] == [10.0] * 5
    assert kid.status == OrderStatus.FILLED and r.executions[0]["status"] == "filled"


def session_run(panel: Any, leftover: str) -> Any:
    """6000 units by TWAP over 60 minutes in a 14:30-15:00 session, uncapped."""
    return run(
        panel,
        Scripted(orders={0: [buy(6000, "twap")]}),
        horizon="60min",
        max_participation=1.0,
        passive=False,
        session=("14:30", "15:00"),
        leftover=leftover,
    )


@pytest.mark.parametrize(
    ("leftover", "status", "last_child_min"),
    [("cancel", "session_end", 28), ("market", "filled", 28), ("carry", "working", None)],
)
def test_session_end_rules(leftover: str, status: str, last_child_min: int | None) -> None:
    """Session 14:30-15:00 UTC, bars to 15:29: no child fills after 14:59."""
    r, _ = session_run(minute_panel(60), leftover)
    (rec,) = r.executions
    kids = children(r)
    assert rec["status"] == status
    assert all(f.bar_index <= 29 for f in r.fills)  # 15:00 and later: nothing
    assert max((o.created_ns - T0) // MIN for o in kids) == 28
    if leftover == "market":  # the last call takes everything left
        assert rec["filled"] == 6000 and kids[-1].quantity > 100
    if leftover == "cancel":
        assert 2800 <= rec["filled"] < 6000
        assert kids[-1].status == OrderStatus.FILLED


def test_carry_resumes_next_session() -> None:
    r, _ = run(
        minute_panel(40, days=2),
        Scripted(orders={0: [buy(4000, "twap")]}),
        horizon="20min",
        max_participation=0.1,  # 100 a bar: 2900 on day 1
        passive=False,
        session=("14:30", "15:00"),
        leftover="carry",
    )
    (rec,) = r.executions
    day1 = sum(f.quantity for f in r.fills if f.bar_index < 40)
    day2 = [f for f in r.fills if f.bar_index >= 40]
    assert day1 == 2900 and rec["status"] == "filled" and rec["filled"] == 4000
    assert min(f.bar_index for f in day2) == 41  # from day 2's second bar
    assert all(f.bar_index <= 29 or 41 <= f.bar_index <= 69 for f in r.fills)


def test_passive_child_times_out_and_is_repriced() -> None:
    """Wide spread, low urgency: limit children; the low never reaches them."""
    r, _ = run(
        minute_panel(20, low=100.0),
        Scripted(orders={0: [buy(300, "twap")]}),
        execution=WIDE,
        horizon="30min",
        urgency="low",
        limit_timeout=3,
    )
    kids = children(r)
    assert kids[0].type == OrderType.LIMIT and kids[0].limit_price == pytest.approx(99.5)
    assert kids[0].status == OrderStatus.CANCELLED and kids[0].reason == "reprice"
    assert kids[1].created_ns - kids[0].created_ns == 3 * MIN
    filled = {f.order_id for f in r.fills}
    assert all(o.type == OrderType.MARKET for o in kids if o.id in filled)  # catching up
    assert all(o.id not in filled for o in kids if o.type == OrderType.LIMIT)  # never touched


@pytest.mark.parametrize(("latency_bars", "timeout"), [(1.5, 1), (2.5, 2)])
def test_a_passive_childs_timeout_counts_the_bars_it_could_fill_in(
    latency_bars: float, timeout: int
) -> None:
    """A limit child placed at bar t can first fill at bar t + ceil(latency). Its
    timeout counts from there, so each limit child (at 99.5, the low is 99) fills at its
    first eligible bar; before, a timeout no longer than the latency cancelled every one
    ('reprice') before it could fill, and the parent was done by market catch-ups."""
    slow = {**WIDE, "latency_ns": int(latency_bars * MIN)}
    r, _ = run(
        minute_panel(40, low=99.0),
        Scripted(orders={0: [buy(300, "twap")]}),
        execution=slow,
        horizon="30min",
        urgency="low",
        limit_timeout=timeout,
    )
    limits = [o for o in children(r) if o.type == OrderType.LIMIT]
    assert limits and all(o.status == OrderStatus.FILLED for o in limits)
    first = [(f.bar_index, f.price) for f in r.fills if f.order_id == limits[0].id]
    assert first == [(math.ceil(latency_bars), 99.5)]
    assert r.executions[0]["filled"] == 300


def test_high_urgency_never_rests() -> None:
    r, _ = run(
        minute_panel(20),
        Scripted(orders={0: [buy(300, "twap")]}),
        execution=WIDE,
        urgency="high",
    )
    assert {o.type for o in children(r)} == {OrderType.MARKET}


def test_target_change_cancels_and_replaces() -> None:
    """Long at step 0 (a VWAP parent), flat at step 5: the working child is cancelled,
    the parent ends 'replaced' and a sell parent closes what was bought."""
    slow = {**FREE, "latency_ns": 2 * MIN}  # children work for two bars before they fill
    r, _ = run(minute_panel(40), Scripted(directions={0: 1.0, 5: 0.0}), execution=slow)
    first, second = r.executions
    assert first["status"] == "replaced" and 0 < first["filled"] < first["quantity"]
    assert second["side"] == -1 and second["quantity"] == first["filled"]
    assert second["status"] == "filled"
    cancelled = [o for o in children(r, first["parent_id"]) if o.status == OrderStatus.CANCELLED]
    assert len(cancelled) == 1 and cancelled[0].reason == "replaced"
    assert r.final_positions[0] == 0.0


def test_strategy_chooses_the_algo_per_target() -> None:
    r, _ = run(
        minute_panel(40),
        Scripted(directions={0: 1.0}, chooser=lambda sid, ctx: "market"),
        algo="twap",
    )
    (rec,) = r.executions
    assert rec["algo"] == "market" and rec["children"] and len(rec["children"]) == 1


def test_child_rejected_for_cash_ends_the_parent() -> None:
    r, _ = run(
        minute_panel(40),
        Scripted(orders={0: [buy(1000, "twap")]}),
        cash=5_000.0,
        horizon="10min",
        max_participation=1.0,
        passive=False,
    )
    (rec,) = r.executions
    assert rec["status"] == "rejected" and rec["reason"] == "insufficient_cash"
    assert rec["filled"] <= 50


def test_untagged_explicit_orders_bypass_the_algo() -> None:
    from alphapulse.model.orders import Side
    from alphapulse.model.signals import OrderRequest

    r, _ = run(minute_panel(5), Scripted(orders={0: [OrderRequest(0, Side.BUY, 10)]}))
    assert not r.executions and [f.quantity for f in r.fills] == [10.0]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (dict(tag="algo:vwapp"), "'algo:vwapp', which names no algorithm (one of market, twap,"),
        (dict(tag="algo:twap", type="limit", limit_price=99.0), "works market orders"),
        (dict(tag="algo:twap", stop_loss=90.0), "works market orders"),
    ],
)
def test_a_tag_no_algorithm_can_work_is_an_error(request_: dict[str, Any], message: str) -> None:
    """A misspelt algorithm or an order an algorithm cannot work is not sent unworked."""
    from alphapulse.core.errors import OrderError
    from alphapulse.model.orders import OrderType, Side
    from alphapulse.model.signals import OrderRequest

    kind = OrderType(request_.pop("type", "market"))
    req = OrderRequest(0, Side.BUY, 10, type=kind, **request_)
    with pytest.raises(OrderError, match=re.escape(message)):
        run(minute_panel(5), Scripted(orders={1: [req]}))


def test_a_chooser_naming_no_algorithm_is_an_error() -> None:
    from alphapulse.core.errors import OrderError

    strategy = Scripted(directions={1: 1.0}, chooser=lambda sid, ctx: "twapp")
    with pytest.raises(OrderError, match="execution_algo chose 'twapp', which names no"):
        run(minute_panel(5), strategy)
    none = Scripted(directions={1: 1.0}, chooser=lambda sid, ctx: None)  # the configured one
    r, _ = run(minute_panel(5), none, algo="pov")
    assert [rec["algo"] for rec in r.executions] == ["pov"]


def test_an_algo_tag_without_an_execution_block_is_an_error() -> None:
    from alphapulse.core.errors import OrderError
    from alphapulse.engine.feed import PanelFeed
    from alphapulse.engine.loop import Engine
    from alphapulse.execution.costs import ExecutionConfig
    from alphapulse.execution.venue import SimulatedVenue

    panel, ex = minute_panel(5), ExecutionConfig.model_validate(FREE)
    feed = PanelFeed(panel)
    engine = Engine(
        strategy=Scripted(orders={1: [buy(10, "twap")]}),
        symbols=panel.symbols,
        history=feed.history,
        venue=SimulatedVenue(ex, panel.symbols),
        initial_cash=1e6,
    )
    with pytest.raises(OrderError, match="'algo:twap' needs the strategy's execution: block"):
        engine.run(feed)


def test_session_end_without_a_bar_at_the_last_call() -> None:
    """Sparse bars (none at 14:58): the parent still ends at the close, not next day."""
    p = minute_panel(60, days=2)
    keep = [i for i in range(len(p.timestamps)) if i % 60 != 28]
    sparse = type(p)(p.timestamps[keep], p.symbols, {k: v[keep] for k, v in p.fields.items()})
    r, _ = session_run(sparse, "cancel")
    (rec,) = r.executions
    assert rec["status"] == "session_end"
    assert all(f.ts_ns < T0 + 30 * MIN for f in r.fills)


def test_a_late_profile_is_the_one_the_stage_would_have_kept() -> None:
    """Bars every 7 minutes over 6 New York days across the DST change (2024-03-10),
    volumes with zeros and NaNs: the profile a TWAP stage builds when a ``algo:vwap``
    parent comes equals, array for array, the one a VWAP stage kept bar by bar."""
    import numpy as np

    from alphapulse.data.panel import Panel

    rng = np.random.default_rng(11)
    start = 1_709_874_000_000_000_000  # 2024-03-08 05:00 UTC
    ts = (start + 7 * MIN * np.arange(6 * 24 * 60 // 7)).astype(np.int64)
    close = np.full((len(ts), 3), 100.0)
    vol = rng.choice([0.0, 1.5, 900.0, np.nan], (len(ts), 3)) * rng.uniform(0.5, 2.0, (len(ts), 3))
    vol[0] = 500.0  # the first bar counts too
    fields = {"open": close, "high": close + 0.5, "low": close - 0.5, "close": close, "volume": vol}
    panel = Panel(ts, ("A", "B", "C"), fields)
    tz, kept = "America/New_York", []
    for algo in ("vwap", "twap"):
        _, engine = run(panel, Scripted(), algo=algo, tz=tz, profile_sessions=10)
        stage = engine.algo
        assert stage is not None
        built = stage._profile if algo == "vwap" else stage._profile_so_far(engine._ctx[0])
        assert built is not None
        kept.append(built)
    want, got = kept
    assert want.sessions == got.sessions == 6  # complete local days (the 7th has begun)
    for name in ("_ring", "_sum", "_cur", "_filled", "_slot", "_session"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_a_halt_ends_the_working_parents() -> None:
    """A risk halt without a flatten (an error burst, say) stops the strategy: its
    parents end ``cancelled``/``halted`` at that bar and their working child is
    cancelled, so nothing of theirs fills later and the record ends where they did."""
    r, _ = run(
        minute_panel(30),
        Scripted(orders={0: [buy(3000, "twap")]}),
        execution={**FREE, "max_participation": 0.05},  # the venue fills 50 a bar
        risk=HaltAt(10),
        horizon="20min",
        max_participation=1.0,
        passive=False,
    )
    (rec,) = r.executions
    assert (rec["status"], rec["reason"]) == ("cancelled", "halted")
    assert rec["end_ns"] == T0 + 10 * MIN
    assert max(f.bar_index for f in r.fills) <= 10
    assert rec["filled"] == sum(f.quantity for f in r.fills) == 50.0 * 10
    last = children(r)[-1]  # it was still working (capped by the venue)
    assert (last.status, last.reason) == (OrderStatus.CANCELLED, "cancelled")


def test_blocked_new_risk_stops_a_parent_that_adds_risk() -> None:
    """While new risk is blocked only orders that reduce a position go: a buy parent's
    next child is rejected ``new_risk_blocked`` and the parent ends with it, so nothing
    of it fills after the block began (before, its children kept buying)."""
    r, _ = run(
        minute_panel(40),
        Scripted(orders={0: [buy(200, "twap")]}),
        risk=BlockNewRisk(5, 40),
        horizon="20min",
        passive=False,
    )
    (rec,) = r.executions
    assert (rec["status"], rec["reason"]) == ("rejected", "new_risk_blocked")
    assert r.fills and max(f.bar_index for f in r.fills) <= 5  # children placed before bar 5
    assert rec["filled"] == sum(f.quantity for f in r.fills) < 200
    last = children(r)[-1]
    assert (last.status, last.reason) == (OrderStatus.REJECTED, "new_risk_blocked")


def test_a_target_blocked_mid_parent_is_worked_again_once_the_block_lifts() -> None:
    """The planner forgets a target whose parent the block ended: at the first bar
    without the block the rest of the unchanged target becomes a new parent."""
    r, _ = run(
        minute_panel(60),
        Scripted(directions=dict.fromkeys(range(60), 1.0)),
        cash=20_000.0,
        risk=BlockNewRisk(5, 15),
        horizon="20min",
        passive=False,
    )
    first, second = r.executions
    assert (first["status"], first["reason"]) == ("rejected", "new_risk_blocked")
    assert second["decision_ns"] == T0 + 15 * MIN and second["status"] == "filled"
    assert second["quantity"] == pytest.approx(first["quantity"] - first["filled"], abs=1)
    assert not [f for f in r.fills if 5 < f.bar_index <= 15]


def test_blocked_new_risk_lets_a_reducing_parent_work() -> None:
    """A sell parent that closes a long keeps working through the block."""
    bought = OrderRequest(0, Side.BUY, 200.0)  # untagged: one market order at bar 1
    sell = OrderRequest(0, Side.SELL, 200.0, tag="algo:twap")
    r, _ = run(
        minute_panel(40),
        Scripted(orders={0: [bought], 2: [sell]}),
        risk=BlockNewRisk(3, 40),
        horizon="20min",
        passive=False,
    )
    (rec,) = r.executions
    assert (rec["status"], rec["filled"]) == ("filled", 200.0)
    assert max(f.bar_index for f in r.fills) > 10  # worked over the horizon, in the block
    assert not [o for o in r.orders if o.reason == "new_risk_blocked"]


@pytest.mark.parametrize(
    ("case", "reason"),
    [("no price yet", "no_price"), ("under a lot", "below_lot_size"), ("budget", "below_lot_size")],
)
def test_an_order_no_algorithm_can_work_is_rejected_in_the_open(case: str, reason: str) -> None:
    """No price seen yet, a quantity or a cash budget under one lot: the order is
    REJECTED with a reason among the run's orders (not dropped, not a parent that ends
    ``filled`` with nothing done)."""
    import numpy as np

    p = minute_panel(10)
    if case == "no price yet":
        for k in ("open", "high", "low", "close"):
            p.fields[k][:2] = np.nan  # the first bars have no quote
    strategy = (
        Scripted(directions={1: 1.0})  # flat -> long: a cash budget of the whole equity
        if case == "budget"
        else Scripted(orders={1: [buy(300 if case == "no price yet" else 30, "twap")]})
    )
    r, _ = run(
        p, strategy, execution={**FREE, "lot_size": 100}, cash=5_000.0, algo="twap", passive=False
    )
    assert not r.executions and not r.fills
    assert [(o.status, o.reason) for o in r.orders] == [(OrderStatus.REJECTED, reason)]


def early_close() -> Any:
    """Day 1 closes early (bars to 14:49 of a 14:30-15:00 session); day 2 is full."""
    p = minute_panel(60, days=2)
    keep = [i for i in range(120) if i >= 60 or i < 20]
    return type(p)(p.timestamps[keep], p.symbols, {k: v[keep] for k, v in p.fields.items()})


@pytest.mark.parametrize("leftover", ["cancel", "market", "carry"])
def test_a_session_that_closes_early_applies_the_leftover_rule(leftover: str) -> None:
    """No bar at the last call: the next session's first bar closes the parent's session.
    cancel and market end it there (the child sent at day 1's last bar fills at day 2's
    open); carry schedules the rest over a fresh horizon from there, not at the cap."""
    r, _ = session_run(early_close(), leftover)
    (rec,) = r.executions
    day2 = [o for o in children(r) if o.created_ns >= T0 + 86_400 * 10**9]
    if leftover == "carry":
        left = 6000 - sum(f.quantity for f in r.fills if f.bar_index <= 20)
        assert rec["status"] == "working" and left == 4000  # carried on (day 2's end)
        assert max(o.quantity for o in day2) <= left / 60 + 1  # a 60-minute TWAP again
    else:
        assert rec["status"] == "session_end" and rec["end_ns"] == T0 + 86_400 * 10**9
        assert not day2 and max(f.bar_index for f in r.fills) == 20
        assert rec["filled"] < 6000


def test_a_parent_decided_before_the_session_starts_its_horizon_at_the_open() -> None:
    """Decided at 14:00 for a 14:30-15:00 session: a 20-minute TWAP from 14:30, not a
    horizon spent before the open and chased at the cap."""
    early = T0 - 30 * MIN
    r, _ = run(
        minute_panel(90, start=early),
        Scripted(orders={0: [buy(200, "twap")]}),
        horizon="20min",
        max_participation=1.0,
        passive=False,
        session=("14:30", "15:00"),
    )
    (rec,) = r.executions
    kids = children(r)
    assert kids[0].created_ns == T0 and [o.quantity for o in kids] == [10.0] * 20
    assert rec["status"] == "filled"


@pytest.mark.parametrize("lot", [1.0, 0.5])  # compiled and reference sizing
@pytest.mark.parametrize(("leftover", "filled"), [("market", 300), ("cancel", 145)])
def test_the_last_call_replaces_a_resting_passive_child(
    leftover: str, filled: float, lot: float
) -> None:
    """A passive child resting (the low never reaches it, long timeout) is cancelled at
    the last call and a market child sent: everything left (``market``), or the
    schedule's shortfall (``cancel``: 29 of the 60 minutes of a parent decided at 14:30)."""
    r, _ = run(
        minute_panel(60, low=100.0),
        Scripted(orders={0: [buy(300, "twap")]}),
        execution={**WIDE, "lot_size": lot},
        horizon="60min",
        max_participation=1.0,
        urgency="low",
        limit_timeout=50,
        session=("14:30", "15:00"),
        leftover=leftover,
    )
    (rec,) = r.executions
    first, last = children(r)
    assert first.type == OrderType.LIMIT and first.reason == "reprice"
    assert last.type == OrderType.MARKET and last.created_ns == T0 + 28 * MIN
    assert rec["filled"] == filled == last.filled_qty


def test_session_hours_no_longer_than_a_bar_are_an_error() -> None:
    """Daily bars with a 30-minute session: no child could ever fill inside it; a clear
    error, not parents that never trade. Minute bars starting after a gap are fine."""
    with pytest.raises(SettingError, match=r"execution.session .*30 minutes.*1440 minutes"):
        session_run(minute_panel(1, days=10), "cancel")
    p = minute_panel(30, days=2)
    keep = [29, *range(30, 60)]  # day 1's last bar, then day 2
    gap_first = type(p)(p.timestamps[keep], p.symbols, {k: v[keep] for k, v in p.fields.items()})
    r, _ = session_run(gap_first, "cancel")
    assert r.executions[0]["filled"] > 0
