"""Stops and exits: bracket prices, gaps through the stop, trailing (never loosens),
partial entry fills, and the reconciliation of children with a shrinking position."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from alphapulse.config import parse_config
from alphapulse.data.panel import Panel
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import Engine, RunResult
from alphapulse.engine.runner import build_engine
from alphapulse.model.orders import Order, OrderType, Side
from alphapulse.portfolio.estimators import average_true_range
from alphapulse.risk.config import StopsConfig
from alphapulse.risk.manager import StandardRiskManager
from alphapulse.risk.stops import ExtremeTracker, bracket_prices, reconcile, trail
from tests.risk.helpers import NO_GUARDS, NO_LIMITS, synthetic_panel

FREE = {"commission": {"model": "none"}, "slippage": {"model": "none"}}


def _bars(
    closes: list[float], gap: dict[int, tuple[float, float, float, float]] | None = None
) -> np.ndarray:
    rows = [(c, c * 1.01, c * 0.99, c, 1e7) for c in closes]
    for i, ohlc in (gap or {}).items():
        rows[i] = (*ohlc, 1e7)
    return np.array(rows, dtype=float)


def _cfg(stops: dict, **execution: object) -> dict:
    return {
        "data": {"source": "synthetic"},
        "initial_cash": 100_000.0,
        "execution": {**FREE, **execution},
        "risk": {"limits": NO_LIMITS, "guards": NO_GUARDS, "stops": stops, "measures": {}},
        "strategies": [{"strategy": "buy_and_hold"}],
    }


def _step_all(panel: Panel, cfg: dict) -> tuple[Engine, RunResult, list[dict]]:
    c = parse_config(cfg)
    feed = PanelFeed(panel)
    engine = build_engine(c, c.strategies[0], feed)
    snaps = []
    for bar in feed:
        engine.step(bar)
        kids = [o for o in engine.venue.open_orders() if o.parent_id is not None]
        snaps.append({o.type: (o.stop_price or o.limit_price, o.quantity) for o in kids})
    return engine, engine.result(), snaps


def test_bracket_prices_pct_and_atr() -> None:
    pct = StopsConfig.model_validate(
        {"stop_loss": {"method": "pct", "value": 0.05}, "take_profit": {"value": 0.1}}
    )
    assert bracket_prices(pct, Side.BUY, 100.0, np.nan) == pytest.approx((95.0, 110.0))
    assert bracket_prices(pct, Side.SELL, 100.0, np.nan) == pytest.approx((105.0, 90.0))
    atr = StopsConfig.model_validate({"stop_loss": {"method": "atr", "value": 3}})
    assert bracket_prices(atr, Side.BUY, 100.0, 2.0) == (94.0, None)
    assert bracket_prices(atr, Side.BUY, 100.0, np.nan) == (None, None)  # no ATR yet
    assert bracket_prices(atr, Side.BUY, 5.0, 2.0) == (None, None)  # not a positive price


def test_gap_through_the_stop_fills_at_the_open() -> None:
    closes = [100.0] * 12
    panel = synthetic_panel({"AAA": _bars(closes, {8: (90.0, 91.0, 89.0, 90.0)})})
    cfg = _cfg({"stop_loss": {"method": "pct", "value": 0.05}})
    _, r, snaps = _step_all(panel, cfg)
    entry = next(o for o in r.orders if o.tag == "open")
    assert entry.stop_loss == pytest.approx(95.0)
    assert snaps[1][OrderType.STOP] == (pytest.approx(95.0), entry.filled_qty)
    exit_fill = next(f for f in r.fills if f.tag == "open:stop_loss")
    assert exit_fill.bar_index == 8 and exit_fill.price == 90.0  # the open, not the stop
    assert r.final_positions[0] == 0.0
    assert [e.kind for e in r.risk_events] == ["stop_loss"]


def test_trailing_stop_follows_the_high_water_mark_and_never_loosens() -> None:
    closes = [100, 100, 102, 105, 104, 110, 108, 109, 115, 112, 111, 113, 100, 99]
    bars = _bars([float(c) for c in closes], {12: (112.0, 112.5, 99.0, 100.0)})
    panel = synthetic_panel({"AAA": bars})
    cfg = _cfg({"stop_loss": {"method": "pct", "value": 0.05}, "trailing": True})
    engine, r, snaps = _step_all(panel, cfg)
    stops = [s[OrderType.STOP][0] for s in snaps if OrderType.STOP in s]
    assert all(b >= a for a, b in itertools.pairwise(stops))  # never loosens
    # after bar t the stop is 95% of the highest close since the entry (bar 1)
    for t in range(2, 11):
        assert snaps[t][OrderType.STOP][0] == pytest.approx(0.95 * max(closes[1 : t + 1]))
    exit_fill = next(f for f in r.fills if f.tag.endswith("stop_loss"))
    assert exit_fill.bar_index == 12 and exit_fill.price == pytest.approx(0.95 * 115)  # touched
    assert isinstance(engine.risk, StandardRiskManager) and engine.risk.trailing_updates >= 3


def test_atr_stop_is_k_atr_below_the_decision_close() -> None:
    rng = np.random.default_rng(3)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 40)))
    bars = _bars(list(closes))
    panel = synthetic_panel({"AAA": bars})
    cfg = _cfg({"stop_loss": {"method": "atr", "value": 2.0}, "atr_window": 14})
    cfg["strategies"] = [
        {"strategy": "tests.engine.strategies_for_tests:RandomSignals", "params": {"seed": 4}}
    ]
    _, r, _ = _step_all(panel, cfg)
    entries = [o for o in r.orders if o.parent_id is None and o.stop_loss is not None]
    assert entries
    for o in entries:
        t = int(np.searchsorted(panel.timestamps, o.created_ns))
        if t < 1:
            continue
        lo = max(0, t - 14)
        atr = average_true_range(
            bars[lo : t + 1, 1:2], bars[lo : t + 1, 2:3], bars[lo : t + 1, 3:4]
        )
        assert o.stop_loss == pytest.approx(closes[t] - 2.0 * atr[0])


def test_partial_entry_fills_are_protected_as_they_fill() -> None:
    """A participation cap fills the entry over several bars; the stop child always
    covers exactly what the entry has filled (the core's bracket semantics)."""
    bars = _bars([100.0] * 10)
    bars[:, 4] = 2_000.0  # volume: 10% = 200 shares a bar
    panel = synthetic_panel({"AAA": bars})
    cfg = _cfg({"stop_loss": {"method": "pct", "value": 0.05}}, max_participation=0.1)
    _, r, snaps = _step_all(panel, cfg)
    entry = next(o for o in r.orders if o.tag == "open")
    assert entry.filled_qty > 200  # took several bars
    filled = 0.0
    for t, snap in enumerate(snaps):
        filled = sum(f.quantity for f in r.fills if f.order_id == entry.id and f.bar_index <= t)
        if filled:
            assert snap[OrderType.STOP][1] == filled


def _kid(oid: int, parent: int, side: Side, qty: float, kind: OrderType, px: float) -> Order:
    return Order(
        oid, "AAA", 0, side, qty, 0, type=kind,
        stop_price=px if kind == OrderType.STOP else None,
        limit_price=px if kind == OrderType.LIMIT else None, parent_id=parent, oco_group=parent,
    )  # fmt: skip


def test_reconcile_shrinks_the_newest_bracket_first() -> None:
    old = [
        _kid(2, 1, Side.SELL, 100, OrderType.STOP, 90),
        _kid(3, 1, Side.SELL, 100, OrderType.LIMIT, 120),
    ]
    new = [_kid(5, 4, Side.SELL, 50, OrderType.STOP, 95)]
    amends = reconcile(120.0, [*old, *new], 1.0)  # a sell took the position to 120
    assert [(a.order_id, a.quantity, a.cancel) for a in amends] == [(5, 20.0, False)]
    amends = reconcile(80.0, [*old, *new], 1.0)
    assert {(a.order_id, a.quantity, a.cancel) for a in amends} == {
        (2, 80.0, False), (3, 80.0, False), (5, None, True)
    }  # fmt: skip
    assert all(a.cancel for a in reconcile(0.0, [*old, *new], 1.0))
    assert all(a.cancel for a in reconcile(-10.0, old, 1.0))  # wrong side
    pending_sell = Order(9, "AAA", 0, Side.SELL, 100, 0)  # a working reducing order
    assert {a.order_id for a in reconcile(150.0, [*old, *new, pending_sell], 1.0)} == {2, 3, 5}


def test_trail_only_tightens() -> None:
    cfg = StopsConfig.model_validate({"stop_loss": {"method": "pct", "value": 0.1}})
    long_stop = _kid(2, 1, Side.SELL, 10, OrderType.STOP, 90.0)
    assert trail(cfg, long_stop, 110.0, np.nan) == pytest.approx(99.0)
    assert trail(cfg, long_stop, 95.0, np.nan) is None  # would loosen
    short_stop = _kid(3, 1, Side.BUY, 10, OrderType.STOP, 110.0)
    assert trail(cfg, short_stop, 90.0, np.nan) == pytest.approx(99.0)
    assert trail(cfg, short_stop, 105.0, np.nan) is None
    tp = _kid(4, 1, Side.SELL, 10, OrderType.LIMIT, 120.0)
    assert trail(cfg, tp, 130.0, np.nan) is None  # take-profits do not trail


def test_extreme_tracker_resets_with_the_position() -> None:
    x = ExtremeTracker(2)
    x.update(np.array([10.0, -5.0]), np.array([100.0, 50.0]))
    x.update(np.array([10.0, -5.0]), np.array([104.0, 48.0]))
    x.update(np.array([10.0, -5.0]), np.array([101.0, 49.0]))
    assert list(x.extreme) == [104.0, 48.0]
    x.update(np.array([0.0, 5.0]), np.array([90.0, 60.0]))
    assert np.isnan(x.extreme[0]) and x.extreme[1] == 60.0
