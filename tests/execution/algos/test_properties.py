"""Property tests of the execution algorithms: random small minute panels (zero-volume
and NaN bars), random parents (explicit ``algo:`` orders and planner targets that
replace them) and random configs, run bar by bar through the engine and the simulated
venue, with the invariants of ``docs/execution.md`` checked on every run."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any
from unittest.mock import patch

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphapulse.analytics.execution_quality import COSTS, execution_frame
from alphapulse.data.panel import Panel
from alphapulse.engine.context import Context
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import Engine, RunResult
from alphapulse.engine.stages import RiskManager
from alphapulse.execution.algos import ALGOS, AlgoConfig, book
from alphapulse.execution.algos.stage import build_stage
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.execution.sizing import round_to_lot
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.model.orders import Order, Side
from alphapulse.model.signals import OrderRequest, Signals
from tests.execution.algos.harness import MIN, T0, BlockNewRisk, HaltAt

TZ = "America/New_York"  # T0 is 09:30 there
DAY_NS = 86_400 * 10**9
STATUSES = {"working", "filled", "cancelled", "replaced", "session_end", "rejected"}
SPAN_ALPHA = 2.0 / 31.0  # state.SPAN = 30
TOL = 1e-6
PROPS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Script:
    """Explicit ``algo:`` orders and per-symbol target directions by step."""

    orders: dict[int, list[OrderRequest]] = field(default_factory=dict)
    directions: dict[int, dict[int, float]] = field(default_factory=dict)

    def on_bar(self, ctx: Context) -> Signals:
        d = np.full(ctx.n_symbols, np.nan)
        for sid, v in self.directions.get(ctx.t, {}).items():
            d[sid] = v
        return Signals(d, orders=tuple(self.orders.get(ctx.t, [])))


@dataclass
class Case:
    panel: Panel
    script: Script
    algo: dict[str, Any]
    execution: dict[str, Any]
    fill_at: str
    risk: tuple[str, int, int]


@st.composite
def panels(draw: st.DrawFn) -> Panel:
    """1-3 symbols, 30-200 one-minute bars over one or two days from 09:30 New York;
    random walks, zero volumes, NaN volumes and bars with no price."""
    n_sym = draw(st.integers(1, 3))
    days = draw(st.integers(1, 3))
    per_day = draw(st.integers(30, 200)) // days
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ts = np.concatenate([T0 + d * DAY_NS + MIN * np.arange(per_day) for d in range(days)])
    ts = ts[rng.random(len(ts)) >= draw(st.sampled_from([0.0, 0.0, 0.1]))]  # missing minutes
    t = len(ts)
    close = 100.0 * np.exp(
        np.cumsum(rng.normal(0, draw(st.sampled_from([0, 1e-3, 1e-2])), (t, n_sym)), axis=0)
    )
    opn = np.vstack([close[:1], close[:-1]]) * np.exp(rng.normal(0, 1e-3, (t, n_sym)))
    wick = np.abs(rng.normal(0, 2e-3, (t, n_sym)))
    high = np.maximum(opn, close) * (1 + wick)
    low = np.minimum(opn, close) * (1 - wick)
    volume = np.floor(rng.exponential(draw(st.sampled_from([50.0, 1000.0, 20000.0])), (t, n_sym)))
    volume[rng.random((t, n_sym)) < draw(st.sampled_from([0.0, 0.1, 0.5]))] = 0.0
    volume[rng.random((t, n_sym)) < draw(st.sampled_from([0.0, 0.05]))] = np.nan
    fields = {"open": opn, "high": high, "low": low, "close": close, "volume": volume}
    no_bar = rng.random((t, n_sym)) < draw(st.sampled_from([0.0, 0.1, 0.3]))
    for k in ("open", "high", "low", "close"):
        fields[k][no_bar] = np.nan
    return Panel(ts.astype(np.int64), tuple(f"S{i}" for i in range(n_sym)), fields)


@st.composite
def scripts(draw: st.DrawFn, n_bars: int, n_sym: int) -> Script:
    """Random explicit parents (any algorithm) and target changes, which replace them."""
    s = Script()
    step = st.integers(0, n_bars - 1)
    for _ in range(draw(st.integers(1, 6))):
        t, sid = draw(step), draw(st.integers(0, n_sym - 1))
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        qty = draw(st.sampled_from([0.5, 1.0, 7.0, 55.0, 300.0, 2500.0, 40000.0]))
        tag = f"algo:{draw(st.sampled_from(ALGOS))}"
        s.orders.setdefault(t, []).append(OrderRequest(sid, side, qty, tag=tag))
    for _ in range(draw(st.integers(0, 4))):
        t, sid = draw(step), draw(st.integers(0, n_sym - 1))
        s.directions.setdefault(t, {})[sid] = draw(st.sampled_from([-1.0, 0.0, 1.0]))
    return s


@st.composite
def algo_configs(draw: st.DrawFn) -> dict[str, Any]:
    session = draw(st.none() | st.tuples(st.integers(0, 40), st.integers(3, 90)))
    cfg: dict[str, Any] = {
        "algo": draw(st.sampled_from(ALGOS)),
        "horizon": f"{draw(st.integers(1, 60) | st.just(2000))}min",
        "max_participation": draw(st.sampled_from([0.01, 0.1, 0.3, 1.0]) | st.floats(0.001, 1.0)),
        "urgency": draw(st.sampled_from(["low", "medium", "high"])),
        "passive": draw(st.booleans()),
        "limit_timeout": draw(st.integers(1, 4)),
        "profile_sessions": draw(st.integers(1, 3)),
        "min_child_notional": draw(st.sampled_from([0.0, 0.0, 5_000.0])),
        "child_interval": draw(st.sampled_from([1, 1, 2, 5])),
    }
    if session is not None:
        lo = 9 * 60 + 30 + session[0]
        hi = min(lo + session[1], 23 * 60 + 59)
        cfg["session"] = (f"{lo // 60:02d}:{lo % 60:02d}", f"{hi // 60:02d}:{hi % 60:02d}")
        cfg["leftover"] = draw(st.sampled_from(["cancel", "market", "carry"]))
    return cfg


@st.composite
def executions(draw: st.DrawFn) -> dict[str, Any]:
    slippage = draw(
        st.sampled_from(
            [
                {"model": "none"},
                {"model": "fixed_bps", "bps": 3.0},
                {"model": "half_spread", "spread_bps": 20.0},
                {"model": "sqrt_impact", "coefficient": 1.0, "spread_bps": 2.0},
            ]
        )
    )
    commission = draw(
        st.sampled_from(
            [{"model": "none"}, {"model": "per_share", "per_share": 0.005, "minimum": 1.0}]
        )
    )
    return {
        "commission": commission,
        "slippage": slippage,
        "lot_size": draw(st.sampled_from([1.0, 1.0, 10.0, 0.5])),  # 0.5: the Python path
        "latency_ns": draw(st.sampled_from([0, 0, MIN, 90 * 10**9, 5 * MIN])),
        "max_participation": draw(st.sampled_from([None, None, 0.05, 0.5])),
        "allow_short": draw(st.booleans()),
    }


@st.composite
def cases(draw: st.DrawFn) -> Case:
    panel = draw(panels())
    n = panel.n_bars
    risk = draw(st.sampled_from(["none", "none", "halt", "block"]))
    lo = draw(st.integers(0, n - 1))
    return Case(
        panel=panel,
        script=draw(scripts(n, panel.n_symbols)),
        algo=draw(algo_configs()),
        execution=draw(executions()),
        fill_at=draw(st.sampled_from(["next_open", "close"])),
        risk=(risk, lo, draw(st.integers(lo, n))),
    )


def _risk(kind: str, lo: int, hi: int) -> RiskManager | None:
    if kind == "halt":
        return HaltAt(lo)
    return BlockNewRisk(lo, hi) if kind == "block" else None


def _pid(o: Order) -> int | None:
    """The parent id of an algorithm's child (None for any other order)."""
    return int(o.tag[5:]) if o.tag.startswith("algo:") and o.tag[5:].isdigit() else None


def check_step(engine: Engine) -> None:
    """At most one working child per parent, and none of a parent that has ended."""
    assert engine.algo is not None
    working = {p.id: p for p in engine.algo.working()}
    assert len({p.sid for p in working.values()}) == len(working)  # one parent per symbol
    open_children: dict[int, list[Order]] = defaultdict(list)
    for o in engine.venue.open_orders():
        pid = _pid(o)
        if pid is not None:
            open_children[pid].append(o)
    for pid, kids in open_children.items():
        assert pid in working, f"orphaned child {kids[0].id} of ended parent {pid}"
        assert len(kids) == 1, f"parent {pid} has {len(kids)} working children"
        assert working[pid].child is kids[0]


def simulate(case: Case) -> tuple[RunResult, Engine]:
    ex = ExecutionConfig.model_validate(case.execution)
    feed = PanelFeed(case.panel, TZ)
    cfg = AlgoConfig(**case.algo)
    stage = build_stage(cfg, ex, case.panel.symbols, TZ, case.script, case.fill_at)
    engine = Engine(
        strategy=case.script,
        symbols=case.panel.symbols,
        history=feed.history,
        venue=SimulatedVenue(ex, case.panel.symbols),
        initial_cash=1e6,
        risk=_risk(*case.risk),
        fill_at=case.fill_at,  # type: ignore[arg-type]
        lot_size=ex.lot_size,
        algo=stage,
    )
    for bar in feed:
        engine.step(bar)
        check_step(engine)
    return engine.result(), engine


def _local_minutes(ts: np.ndarray) -> np.ndarray:
    local = pd.DatetimeIndex(pd.to_datetime(ts, utc=True)).tz_convert(TZ)
    return np.asarray(local.hour * 60 + local.minute)


def _expected_volume(panel: Panel) -> np.ndarray:
    """The EWMA (span 30) of bar volume the stage caps children with, through each bar
    (bars with no price skipped, zero volume counted): an independent recomputation."""
    vol, close = panel.fields["volume"], panel.fields["close"]
    out = np.full(vol.shape, np.nan)
    ew = np.full(vol.shape[1], np.nan)
    for t in range(vol.shape[0]):
        for i in range(vol.shape[1]):
            v = vol[t, i]
            if close[t, i] > 0 and v >= 0:
                ew[i] = v if math.isnan(ew[i]) else SPAN_ALPHA * v + (1 - SPAN_ALPHA) * ew[i]
        out[t] = ew
    return out


def _bar_of(panel: Panel) -> dict[int, int]:
    return {int(ts): i for i, ts in enumerate(panel.timestamps)}


def _check_lifetime(rec: dict[str, Any], kids: list[Order], case: Case, fills: list[Any]) -> None:
    """Children trade the parent's side between its decision and its end; a ``filled``
    parent has under a lot left; a ``replaced`` one ended where its symbol got a new
    order or target."""
    lot = float(case.execution["lot_size"])
    ended = rec["status"] != "working"
    ids = {c.id for c in kids}
    for c in kids:
        assert int(c.side) == rec["side"]
        assert rec["decision_ns"] <= c.created_ns
        assert not ended or c.created_ns <= rec["end_ns"]
    for f in fills:
        if f.order_id in ids:
            assert not ended or f.ts_ns <= rec["end_ns"], (f, rec)
    if rec["status"] == "filled":
        assert rec["quantity"] - rec["filled"] < lot + TOL
    if rec["status"] == "replaced":
        t = _bar_of(case.panel)[rec["end_ns"]]
        sid = rec["sid"]
        touched = sid in case.script.directions.get(t, {}) or any(
            o.sid == sid for o in case.script.orders.get(t, [])
        )
        assert touched, rec


def _check_fills_in_session(r: RunResult, case: Case, hours: tuple[int, int] | None) -> None:
    """Children fill inside the session hours, or at the first bar after them (a session
    that ended early, with no bar at its close: the stage cannot know the next bar's
    time, so a child sent at its last bar fills at that bar's open)."""
    if hours is None:
        return
    kid_ids = {o.id for o in r.orders if _pid(o) is not None}
    minutes = _local_minutes(case.panel.timestamps)
    inside = (hours[0] <= minutes) & (minutes < hours[1])
    for f in r.fills:
        b = f.bar_index
        if f.order_id in kid_ids:
            assert inside[b] or (b > 0 and inside[b - 1]), (f, minutes[b])


def _check_session_closes(r: RunResult, case: Case, cfg: AlgoConfig) -> None:
    """With ``cancel``/``market`` leftovers, a parent that placed a child on one day has
    ended by the next day's first bar."""
    if cfg.session is None or cfg.leftover == "carry":
        return
    ts = case.panel.timestamps
    day = (ts - T0) // DAY_NS
    orders = {o.id: o for o in r.orders}
    for rec in r.executions:
        if not rec["children"]:
            continue
        placed = (orders[rec["children"][0]].created_ns - T0) // DAY_NS
        later = ts[day > placed]
        if later.size:
            assert rec["status"] != "working" and rec["end_ns"] <= later[0], rec


# -- the properties -------------------------------------------------------------------
@PROPS
@given(cases())
def test_parents_fill_and_end_as_documented(case: Case) -> None:
    """Filled never exceeds the parent; its record equals its children's fills; every
    parent ends in a documented status (a working one is still the stage's)."""
    r, engine = simulate(case)
    assert engine.algo is not None
    working = {p.id for p in engine.algo.working()}
    fills_of: dict[int, float] = defaultdict(float)
    for f in r.fills:
        fills_of[f.order_id] += f.quantity
    orders = {o.id: o for o in r.orders}
    for rec in r.executions:
        assert rec["filled"] <= rec["quantity"] + TOL
        kid_fills = sum(fills_of[c] for c in rec["children"])
        assert math.isclose(rec["filled"], kid_fills, rel_tol=1e-9, abs_tol=TOL)
        assert math.isclose(
            rec["filled"], sum(orders[c].filled_qty for c in rec["children"]), abs_tol=TOL
        )
        assert all(_pid(orders[c]) == rec["parent_id"] for c in rec["children"])
        assert rec["status"] in STATUSES
        assert (rec["status"] == "working") == (rec["parent_id"] in working)
        _check_lifetime(rec, [orders[c] for c in rec["children"]], case, r.fills)
    assert all(_pid(o) in working for o in engine.venue.open_orders() if _pid(o) is not None)


@PROPS
@given(cases())
def test_children_stay_in_session_and_under_the_caps(case: Case) -> None:
    """Children are placed only where the next bar is in the session; a scheduled child
    is at most ``max_participation x`` the expected volume (``child_interval`` bars of
    it); with the venue's cap, each symbol's fills per bar are at most
    ``floor_to_lot(cap x volume)``."""
    r, _ = simulate(case)
    cfg = AlgoConfig(**case.algo)
    lot = float(case.execution["lot_size"])
    bar_of = _bar_of(case.panel)
    kids = [o for o in r.orders if _pid(o) is not None]
    algo_of = {rec["parent_id"]: rec["algo"] for rec in r.executions}
    minutes = _local_minutes(np.array([o.created_ns for o in kids], dtype=np.int64))
    expected = _expected_volume(case.panel)
    hours = cfg.session_minutes
    for o, m in zip(kids, minutes.tolist(), strict=True):
        last_call = False
        if hours is not None:
            assert hours[0] <= m and m + 1 < hours[1], f"child {o.id} at minute {m}"
            last_call = m + 2 >= hours[1]
        scheduled = algo_of[_pid(o)] not in ("market", "pov")
        if scheduled and not (last_call and cfg.leftover == "market"):
            ev = expected[bar_of[o.created_ns], o.sid]
            if not math.isnan(ev):
                cap = cfg.max_participation * ev * cfg.child_interval
                assert o.quantity <= cap + max(lot, 1.0) * 1e-6, (o, cap)
    _check_fills_in_session(r, case, hours)
    _check_session_closes(r, case, cfg)
    venue_cap = case.execution["max_participation"]
    if venue_cap is None:
        return
    per_bar: dict[tuple[int, int], float] = defaultdict(float)
    for f in r.fills:
        per_bar[f.bar_index, f.sid] += f.quantity
    vol = case.panel.fields["volume"]
    for (t, sid), q in per_bar.items():
        v = vol[t, sid]
        assert v > 0
        assert q <= round_to_lot(venue_cap * v, lot) + TOL


@PROPS
@given(cases())
def test_accounting_and_shortfall_identities(case: Case) -> None:
    """Cash is the initial cash less the fills' cash flows and fees; equity is cash plus
    positions at the last price; P&L (realized + unrealized - fees) is the equity's
    change; each parent's cost split sums to its Perold shortfall, computed here from
    its fills, fees and unfilled rest."""
    r, engine = simulate(case)
    flows = sum(int(f.side) * f.quantity * f.price for f in r.fills)
    fees = sum(f.fee for f in r.fills)
    assert math.isclose(r.total_fees, fees, rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(r.cash[-1], 1e6 - flows - fees, rel_tol=1e-9, abs_tol=1e-4)
    pos = np.zeros(case.panel.n_symbols)
    for f in r.fills:
        pos[f.sid] += int(f.side) * f.quantity
    np.testing.assert_allclose(r.final_positions, pos, atol=1e-6)
    last = pd.DataFrame(case.panel.fields["close"]).ffill().iloc[-1].fillna(0.0).to_numpy()
    assert math.isclose(r.equity[-1], r.cash[-1] + float(pos @ last), rel_tol=1e-9, abs_tol=1e-4)
    pnl = r.total_realized + float(engine.ledger.unrealized().sum()) - r.total_fees
    assert math.isclose(pnl, r.equity[-1] - 1e6, rel_tol=1e-9, abs_tol=1e-4)
    df = execution_frame(r.executions, r.fills)
    if df.empty:
        return
    by_parent: dict[int, list[Any]] = defaultdict(list)
    parent_of = {c: rec["parent_id"] for rec in r.executions for c in rec["children"]}
    for f in r.fills:
        if f.order_id in parent_of:
            by_parent[parent_of[f.order_id]].append(f)
    for _, row in df.iterrows():
        fl = by_parent[int(row["parent_id"])]
        s = 1.0 if row["side"] == "buy" else -1.0
        a, qty, filled = row["arrival_price"], row["quantity"], row["filled"]
        paid = sum(f.price * f.quantity for f in fl)
        missed = s * (row["end_price"] - a) * (qty - filled) if qty - filled > 0 else 0.0
        perold = s * (paid - a * filled) + sum(f.fee for f in fl) + missed
        split = sum(row[c] for c in COSTS[:-1])
        scale = a * qty
        assert math.isclose(split, row["shortfall"], rel_tol=1e-9, abs_tol=1e-9 * scale)
        assert math.isclose(row["shortfall"], perold, rel_tol=1e-7, abs_tol=1e-7 * scale)
        assert math.isclose(
            row["spread_cost"] + row["impact_cost"],
            sum(f.slippage for f in fl),
            rel_tol=1e-9,
            abs_tol=1e-9 * scale,
        )


@PROPS
@given(cases())
def test_compiled_and_reference_sizing_agree(case: Case) -> None:
    """Whole-number lots: the compiled child pass places the same children as the
    Python reference path (``ParentBook.build`` None), so the runs are the same."""
    if not float(case.execution["lot_size"]).is_integer():
        case = replace(case, execution={**case.execution, "lot_size": 1.0})
    fast, _ = simulate(case)
    with patch.object(book.ParentBook, "build", classmethod(lambda cls, *a: None)):
        slow, _ = simulate(case)

    def orders(r: RunResult) -> list[tuple[Any, ...]]:
        return [
            (o.id, o.sid, int(o.side), o.quantity, o.type, o.limit_price, o.created_ns, o.status)
            for o in r.orders
        ]

    assert orders(fast) == orders(slow)
    assert [rec["status"] for rec in fast.executions] == [rec["status"] for rec in slow.executions]
