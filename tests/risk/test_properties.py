"""Property tests over random signal streams on real prices (hypothesis, modest counts).

Limits after every fill, at fill prices. A limit L is enforced at the decision bar's
close p_ref and equity E_ref; the order fills one bar later, at p_fill, when the book is
worth E_fill. For every fill that increases exposure we check, with the other names of
the book marked at the fill bar's open (m_j, the fill price for the filled name):

    |q| x p_fill / E_fill                <= L x f_i x E_ref / E_fill      (position)
    sum_group |q_j| x m_j / E_fill      <= L x max_group f_j x E_ref / E_fill
    sum_all   |q_j| x m_j / E_fill      <= L x max_all f_j x E_ref / E_fill (gross; net when
                                                                            long-only)

with f_j = max(1, m_j / p_ref_j): the tolerance is exactly the adverse price move since
the decision (and E_ref / E_fill the equity move), nothing else. Participation: a
quantity order never fills more than ``max_participation`` x the decision bar's volume;
a notional order (sized by the venue at the fill price) by at most max(1, p_ref/p_fill).
"""

from __future__ import annotations

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from alphapulse.data.panel import Panel
from alphapulse.engine.feed import forward_fill
from alphapulse.engine.loop import RunResult
from tests.risk.conftest import GROUPS
from tests.risk.helpers import NO_GUARDS, RANDOM, config, run, ts_index

CHECKED_TAGS = ("open", "rebalance", "close")  # orders that passed check_order
REL = 1e-9
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)  # whole backtests: no shrinking


def _limits_run(panel: Panel, seed: int, short: bool, limits: dict, fill_at: str) -> RunResult:
    cfg = config(
        panel,
        RANDOM,
        {"seed": seed, "p_trade": 0.3, "short": short},
        initial_cash=5_000_000.0,
        fill_at=fill_at,
        execution={
            "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
            "slippage": {"model": "fixed_bps", "bps": 5},
            "allow_short": short,
        },
        portfolio={"method": "equal_weight", "gross": 1.0},
        risk={"limits": limits, "guards": NO_GUARDS},
    )
    return run(panel, cfg)


@settings(max_examples=25, deadline=None, phases=NO_SHRINK)
@given(
    seed=st.integers(0, 10_000),
    short=st.booleans(),
    fill_at=st.sampled_from(["next_open", "close"]),
    pos_pct=st.floats(0.05, 0.3),
    group_pct=st.floats(0.1, 0.5),
    gross=st.floats(0.3, 1.0),
    part=st.floats(0.0002, 0.01),
)
def test_no_limit_exceeded_after_any_fill(
    sp6: Panel,
    seed: int,
    short: bool,
    fill_at: str,
    pos_pct: float,
    group_pct: float,
    gross: float,
    part: float,
) -> None:
    limits = {
        "max_position_pct": pos_pct,
        "max_group_pct": group_pct,
        "groups": GROUPS,
        "max_gross_leverage": gross,
        "max_net_leverage": gross * 0.8,
        "max_participation": part,
        "max_order_notional": 400_000.0,
    }
    r = _limits_run(sp6, seed, short, limits, fill_at)
    assert len(r.fills) > 10
    orders = {o.id: o for o in r.orders}
    px = forward_fill(sp6["close"])
    opens = np.where(np.isnan(sp6["open"]), np.roll(px, 1, axis=0), sp6["open"])
    vol = sp6["volume"]
    groups = np.array([GROUPS.get(s, s) for s in sp6.symbols])
    pos = np.zeros(sp6.n_symbols)
    cash = r.initial_cash
    n_checked = 0
    e_dec = r.equity.copy()  # equity the risk stage saw at each decision
    snapped: set[int] = set()
    for f in r.fills:
        o = orders[f.order_id]
        if fill_at == "close" and o.created_ns == f.ts_ns and f.ts_ns not in snapped:
            snapped.add(f.ts_ns)  # first close fill of the bar: the book before them
            e_dec[f.bar_index] = cash + float(np.where(pos != 0, pos * px[f.bar_index], 0).sum())
        before = pos[f.sid]
        pos[f.sid] += f.signed_qty
        cash -= f.signed_qty * f.price + f.fee
        if o.tag not in CHECKED_TAGS or abs(pos[f.sid]) <= abs(before) + 1e-9:
            continue
        t_dec = ts_index(sp6, o.created_ns)
        e_ref = e_dec[t_dec]
        marks = px[f.bar_index] if fill_at == "close" else opens[f.bar_index].copy()
        marks = np.where(np.isfinite(marks), marks, px[f.bar_index]).copy()
        marks[f.sid] = f.price
        factor = np.maximum(1.0, marks / px[t_dec])
        held = pos != 0
        mv = np.abs(pos * marks)
        assert mv[f.sid] <= pos_pct * e_ref * factor[f.sid] * (1 + REL)
        g = groups == groups[f.sid]
        assert mv[g].sum() <= group_pct * e_ref * factor[g & held].max() * (1 + REL)
        assert mv.sum() <= gross * e_ref * factor[held].max() * (1 + REL)
        if not short:
            assert (pos * marks).sum() <= 0.8 * gross * e_ref * factor[held].max() * (1 + REL)
        n_checked += 1
    assert n_checked > 5
    for o in r.orders:  # participation, against the decision bar's volume
        if o.tag in CHECKED_TAGS and o.filled_qty > 0:
            t_dec = ts_index(sp6, o.created_ns)
            cap = part * vol[t_dec, o.sid]
            if o.notional is not None:  # sized at the fill price: the price move again
                cap *= max(1.0, px[t_dec, o.sid] / o.avg_fill_price)
            assert o.filled_qty <= cap * (1 + REL) + 1e-9
    if not short:
        assert np.all(r.cash >= -1e-6)  # no margin: cash never negative
        assert np.all(r.final_positions >= 0)
    for e in r.risk_events:  # resizes only shrink (never to zero, never past it)
        if e.kind == "order_resized":
            old, new = (float(x) for x in e.detail.split(" ", 1)[1].split(" -> "))
            assert 0 < new < old


@settings(max_examples=25, deadline=None, phases=NO_SHRINK)
@given(seed=st.integers(0, 10_000), limit=st.floats(0.01, 0.06), short=st.booleans())
def test_kill_switch_fires_exactly_at_the_threshold(
    sp6: Panel, seed: int, limit: float, short: bool
) -> None:
    cfg = config(
        sp6,
        RANDOM,
        {"seed": seed, "p_trade": 0.3, "short": short},
        execution={"allow_short": short},
        portfolio={"method": "equal_weight"},
        risk={
            "limits": {"max_position_pct": 0.5, "max_group_pct": None},
            "guards": {**NO_GUARDS, "max_drawdown": limit},
        },
    )
    r = run(sp6, cfg)
    dd = 1.0 - r.equity / np.maximum.accumulate(r.equity)
    crossed = np.flatnonzero(dd >= limit)
    kills = [e for e in r.risk_events if e.kind == "kill_switch"]
    if crossed.size == 0:
        assert kills == []
        return
    t = int(crossed[0])
    assert [ts_index(sp6, e.ts_ns) for e in kills] == [t]
    ts = int(sp6.timestamps[t])
    orders = {o.id: o for o in r.orders}
    assert all(o.tag == "flatten" for o in r.orders if o.created_ns >= ts)
    assert all(orders[f.order_id].tag == "flatten" for f in r.fills if f.ts_ns > ts)
    assert np.all(r.final_positions == 0.0)
    assert all(o.created_ns < ts or o.tag == "flatten" for o in r.orders)


@settings(max_examples=20, deadline=None, phases=NO_SHRINK)
@given(
    seed=st.integers(0, 10_000),
    sl=st.floats(0.01, 0.08),
    tp=st.floats(0.02, 0.15),
    trailing=st.booleans(),
    short=st.booleans(),
)
def test_exits_never_open_a_position(
    sp6: Panel, seed: int, sl: float, tp: float, trailing: bool, short: bool
) -> None:
    """Bracket children (stop-loss, take-profit, trailing) only ever close what is held:
    an exit fill never exceeds the position and never flips it, even with shorting on."""
    cfg = config(
        sp6,
        RANDOM,
        {"seed": seed, "p_trade": 0.2, "short": short},
        execution={"allow_short": short},
        risk={
            "limits": {"max_position_pct": 0.3, "max_group_pct": None},
            "stops": {
                "stop_loss": {"method": "pct", "value": sl},
                "take_profit": {"method": "pct", "value": tp},
                "trailing": trailing,
            },
            "guards": NO_GUARDS,
        },
    )
    r = run(sp6, cfg)
    orders = {o.id: o for o in r.orders}
    pos = np.zeros(sp6.n_symbols)
    exits = 0
    for f in r.fills:
        o = orders[f.order_id]
        if o.parent_id is not None:
            held = pos[f.sid]
            assert held != 0 and np.sign(held) == -int(f.side)
            assert f.quantity <= abs(held) + 1e-9
            exits += 1
        pos[f.sid] += f.signed_qty
    assert exits > 0
    if not short:
        assert np.all(r.final_positions >= 0)
