"""Walk-forward optimisation: the stitched curve pays for switching between the chosen
sets' books, and the result carries a buy-and-hold baseline over the same bars."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from alphapulse.analytics import optimize as opt
from alphapulse.analytics.optimize_config import OptimizeConfig
from alphapulse.data.panel import Panel
from alphapulse.model.orders import Fill, Side

N = 60  # returns; windows (0, 20, 30), (10, 30, 40), (20, 40, 50), (30, 50, 60)
RATE, BPS = 0.001, 2.0  # percent commission, fixed slippage
COSTS = {"commission": {"model": "percent", "rate": RATE},
         "slippage": {"model": "fixed_bps", "bps": BPS}}  # fmt: skip
INITIAL = 1e6
OPEN, CLOSE = (101.0, 51.0), (100.0, 50.0)  # per symbol, every bar
UNITS = {5: (1000.0, 0.0), 10: (0.0, 3000.0)}  # fast=5 holds A only, fast=10 B only


def _panel(close: np.ndarray, opens: np.ndarray) -> Panel:
    ts = np.asarray(
        np.datetime64("2015-01-05", "ns") + np.arange(len(close)) * np.timedelta64(1, "D"),
        dtype=np.int64,
    )
    high, low = np.maximum(opens, close) + 1.0, np.minimum(opens, close) - 1.0
    fields = {"open": opens, "high": high, "low": low, "close": close,
              "volume": np.full(close.shape, 1e6)}  # fmt: skip
    return Panel(ts, ("A", "B"), fields)


def _set_returns(fast: int) -> np.ndarray:
    """fast=5 earns 1% a bar before return 25, fast=10 after: chosen 5, 5, 10, 10."""
    r = np.zeros(N)
    if fast == 5:
        r[:25] = 0.01
    else:
        r[25:] = 0.01
    return r


def _fake_run(fast: int) -> SimpleNamespace:
    fills = [
        Fill(i + 1, sym, i, Side.BUY, q, OPEN[i], 0.0, 0, 0)
        for i, (sym, q) in enumerate(zip("AB", UNITS[fast], strict=True))
        if q
    ]
    return SimpleNamespace(equity=INITIAL * np.cumprod(np.r_[1.0, 1.0 + _set_returns(fast)]),
                           fills=fills)  # fmt: skip


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_backtest(cfg: Any, panel: Panel, workers: Any = None) -> dict[str, Any]:
        flat = SimpleNamespace(equity=np.full(panel.n_bars, INITIAL), fills=[])
        return {s.label: flat if s.strategy == "buy_and_hold" else _fake_run(s.params["fast"])
                for s in cfg.strategies}  # fmt: skip

    monkeypatch.setattr(opt, "run_backtest", run_backtest)


def _cfg(engine: str, **backtest: Any) -> OptimizeConfig:
    return OptimizeConfig.model_validate({
        "backtest": {"data": {"source": "x", "symbols": ["A", "B"]}, "initial_cash": INITIAL,
                     "execution": COSTS, **backtest},
        "strategy": "sma_cross", "engine": engine, "fixed": {"slow": 50},
        "params": {"fast": [5, 10]}, "objective": "total_return",
        "walk_forward": {"train_bars": 20, "test_bars": 10},
    })  # fmt: skip


def _taker_cost(units: float, ref: float) -> float:
    """Percent commission on the slipped price plus the slippage, for ``units`` (signed)."""
    px = ref * (1.0 + math.copysign(BPS * 1e-4, units))
    return RATE * abs(units) * px + abs(units) * abs(px - ref)


def test_switching_between_sets_is_charged_at_the_first_test_bar(fake_engine: None) -> None:
    close = np.tile(CLOSE, (N + 1, 1))
    res = opt.optimize(_cfg("event"), _panel(close, np.tile(OPEN, (N + 1, 1))))
    assert [w["params"]["fast"] for w in res["windows"]] == [5, 5, 10, 10]
    eq5, eq10 = _fake_run(5).equity, _fake_run(10).equity
    # window 0 (test from bar 20): buy fast=5's book, 1000 A per eq5[20], with 1e6
    entry = _taker_cost(INITIAL * 1000.0 / eq5[20], OPEN[0])
    wealth = INITIAL * (1.0 + 0.01) - entry  # bar 21: the set's return less the cost
    wealth *= 1.01**4  # returns 21-24 earn 1%, then nothing up to bar 40
    # window 2 (test from bar 40): sell A, buy B, at bar 41's open
    switch = _taker_cost(-wealth * 1000.0 / eq5[40], OPEN[0])
    switch += _taker_cost(wealth * 3000.0 / eq10[40], OPEN[1])
    final = (wealth * 1.01 - switch) * 1.01**19
    eq = np.asarray(res["oos_equity"]["equity"])
    assert eq[-1] == pytest.approx(final, rel=1e-12)  # the old code: 1.01**25 x 1e6
    assert eq[1] == pytest.approx(INITIAL * 1.01 - entry, rel=1e-12)
    costs = [w["switch_cost"] for w in res["windows"]]
    assert costs[1] == 0.0 and costs[3] == 0.0  # the same set: nothing to trade
    assert costs[0] == pytest.approx(entry, rel=1e-12)
    assert costs[2] == pytest.approx(switch, rel=1e-12) and switch > 250.0
    assert res["oos"]["switching_cost"] == pytest.approx(entry + switch, rel=1e-12)


def test_fill_at_close_switches_at_the_last_training_close(fake_engine: None) -> None:
    opens = np.tile(OPEN, (N + 1, 1))
    res = opt.optimize(_cfg("event", fill_at="close"), _panel(np.tile(CLOSE, (N + 1, 1)), opens))
    entry = _taker_cost(INITIAL * 1000.0 / _fake_run(5).equity[20], CLOSE[0])
    assert res["oos_equity"]["equity"][1] == pytest.approx(INITIAL * 1.01 - entry, rel=1e-12)
    assert res["windows"][0]["switch_cost"] == pytest.approx(entry, rel=1e-12)


def _prices() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(N + 1)[:, None]
    close = 100.0 + np.array([[8.0, 5.0]]) * np.sin(t / np.array([[3.0, 5.0]])) + 0.1 * t
    return close, close + 0.37  # opens a little above the closes


@pytest.mark.parametrize("engine", ["event", "compiled"])
def test_buy_and_hold_baseline_over_the_stitched_bars(engine: str) -> None:
    """buy_and_hold decides at the last training close (bar 20), buys half the cash in
    each symbol at bar 21's open (all in: slipped price and commission) and holds."""
    close, opens = _prices()
    cfg = _cfg(engine, initial_cash=100_000.0)
    cfg = cfg.model_copy(update={"params": {"fast": [2, 3]}, "fixed": {"slow": 12}})
    panel = _panel(close, opens)
    res = opt.optimize(cfg, panel)
    px = opens[21] * (1.0 + BPS * 1e-4)
    units = np.floor(50_000.0 / (px * (1.0 + RATE)))
    cash = 100_000.0 - float((units * px * (1.0 + RATE)).sum())
    want = np.r_[100_000.0, cash + close[21:61] @ units]  # bar 20, then bars 21..60
    base = res["baseline"]["buy_and_hold"]
    assert np.allclose(res["oos_equity"]["buy_and_hold"], want, rtol=1e-12)
    r = want[1:] / want[:-1] - 1.0
    ppy = opt._ppy(panel.index())
    wealth = np.cumprod(1.0 + r)
    assert base["n_bars"] == res["oos"]["n_bars"] == 40
    assert base["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(ppy))
    assert base["cagr"] == pytest.approx(wealth[-1] ** (ppy / 40) - 1.0)
    assert base["max_drawdown"] == pytest.approx(
        min((wealth / np.maximum.accumulate(np.maximum(wealth, 1.0))).min() - 1.0, 0.0)
    )
    assert base["engine"] == engine and res["engine"] == engine


def test_compiled_and_event_charge_the_same_switches() -> None:
    """Also: ``slow`` fixed below the default ``fast`` (10) is fine; the result's settings
    came from a backtest of the strategy with the fixed parameters only (a ConfigError)."""
    close, opens = _prices()
    cfg = _cfg("event").model_copy(update={"params": {"fast": [2, 3, 4]}, "fixed": {"slow": 6}})
    panel = _panel(close, opens)
    event = opt.optimize(cfg, panel)
    compiled = opt.optimize(cfg.model_copy(update={"engine": "compiled"}), panel)
    assert [w["params"] for w in event["windows"]] == [w["params"] for w in compiled["windows"]]
    costs = [w["switch_cost"] for w in event["windows"]]
    assert costs == pytest.approx([w["switch_cost"] for w in compiled["windows"]], rel=1e-9)
    assert np.allclose(event["oos_equity"]["equity"], compiled["oos_equity"]["equity"])
    assert costs[0] > 0.0  # the first window buys its set's book from cash
    for prev, w, cost in zip(event["windows"], event["windows"][1:], costs[1:], strict=False):
        assert (cost == 0.0) == (prev["params"] == w["params"])


def test_sqrt_impact_switches_see_the_venues_volatility_in_any_order() -> None:
    """Under square-root impact a switch prices with the EWMA volatility of the closes
    before its fill bar: carried forward across switches in time order, it equals a
    fresh estimate for each switch, and an earlier switch after a later one starts over."""
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (N + 1, 2)), axis=0))
    impact = {"model": "sqrt_impact", "coefficient": 1.0, "spread_bps": 2.0}
    sqrt = {"commission": {"model": "percent", "rate": RATE}, "slippage": impact}
    cfg = _cfg("event", execution=sqrt).baseline_config()
    panel = _panel(close, close * 1.001)
    before, after = np.zeros(2), np.array([0.004, -0.002])
    fresh = [opt.SwitchCost(cfg, panel)(before, after, b, 1e6) for b in (20, 40, 30)]
    carried = opt.SwitchCost(cfg, panel)
    assert [carried(before, after, b, 1e6) for b in (20, 40, 30)] == fresh
    flat = opt.SwitchCost(cfg, _panel(np.full((N + 1, 2), 100.0), np.full((N + 1, 2), 100.0)))
    assert fresh[0] > flat(before, after, 20, 1e6) > 0  # volatility raises the impact
