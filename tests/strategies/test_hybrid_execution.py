"""Execution switches of the hybrid: leaving ``limit`` for ``market`` trades back to the
target even when the fused view (and so the planner's target) did not change."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.engine.context import Context
from alphapulse.model.orders import OrderType, Side
from alphapulse.strategies.hybrid import Hybrid
from tests.risk.helpers import config, run, synthetic_panel

HMM = {"kind": "hmm", "n_states": 2, "min_train": 120, "refit_every": 150, "n_iter": 5}
RULES = {
    "calm": {"weights": {"bh": 1}},
    "high_vol": {"weights": {"bh": 1}, "gross": 0.5, "execution": "limit"},
}
LIMIT_BARS = range(10, 20)  # the scripted high_vol (limit) window


def _scripted(self: Hybrid, ctx: Context) -> str:
    return "high_vol" if ctx.t in LIMIT_BARS else "calm"


def test_limit_back_to_market_trades_to_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Hybrid, "_detect", _scripted)
    t = 40
    close = 100.0 * np.exp(np.cumsum(np.full(t, 0.002)))
    ohlcv = np.column_stack([close, close * 1.01, close * 0.99, close, np.full(t, 1e7)])
    panel = synthetic_panel({"AAA": ohlcv})
    params = {"experts": [{"strategy": "buy_and_hold", "name": "bh"}], "detector": HMM}
    r = run(panel, config(panel, "hybrid", {**params, "regimes": RULES}))
    pos = np.zeros(t)
    for f in r.fills:
        pos[f.bar_index :] += f.quantity * f.side
    full = pos[LIMIT_BARS.start - 1]
    assert full > 0
    # the limit regime halves the book with passive sells at the close
    assert 0.4 * full < pos[LIMIT_BARS.stop - 1] < 0.6 * full
    # back to market with the same fused view: the book returns to its full target
    assert pos[-1] == pytest.approx(full, rel=0.05)
    sells = [o for o in r.orders if o.side == Side.SELL]
    assert sells and all(o.type == OrderType.LIMIT for o in sells)
    resync = [o for o in r.orders if o.tag == "hybrid_resync"]
    assert len(resync) == 1 and resync[0].side == Side.BUY
    assert resync[0].type == OrderType.MARKET


def test_each_regime_works_its_targets_with_its_own_algorithm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``algo:`` per regime rule: the parents made while a regime is in force are worked
    by its algorithm (the strategy's ``execution:`` block's own where a rule has none)."""
    monkeypatch.setattr(Hybrid, "_detect", _scripted)
    t = 40
    close = 100.0 * np.exp(np.cumsum(np.full(t, 0.002)))
    ohlcv = np.column_stack([close, close * 1.01, close * 0.99, close, np.full(t, 1e7)])
    panel = synthetic_panel({"AAA": ohlcv})
    rules = {
        "calm": {"weights": {"bh": 1}, "algo": "market"},
        "high_vol": {"weights": {"bh": 1}, "gross": 0.5},  # the block's twap
    }
    params = {"experts": [{"strategy": "buy_and_hold", "name": "bh"}], "detector": HMM}
    cfg = config(panel, "hybrid", {**params, "regimes": rules})
    cfg["strategies"][0]["execution"] = {"algo": "twap", "horizon": "3d", "passive": False}
    r = run(panel, cfg)
    bar = {int(ts): i for i, ts in enumerate(panel.timestamps)}
    worked = [(bar[rec["decision_ns"]], rec["algo"]) for rec in r.executions]
    assert worked[0] == (0, "market")
    assert (LIMIT_BARS.start, "twap") in worked  # halved in high_vol
    assert (LIMIT_BARS.stop, "market") in worked  # back to full in calm


def test_a_rule_algo_needs_an_execution_block() -> None:
    from alphapulse.config import parse_config
    from alphapulse.core.errors import ConfigError

    panel = synthetic_panel({"AAA": np.full((5, 5), 100.0)})
    params = {
        "experts": [{"strategy": "buy_and_hold", "name": "bh"}],
        "detector": HMM,
        "regimes": {"calm": {"algo": "vwap"}, "high_vol": {"algo": "pov"}},
    }
    with pytest.raises(ConfigError, match=r"choose execution algorithms \(pov, vwap\)"):
        parse_config(config(panel, "hybrid", params))
    limit = {**params, "regimes": {"calm": {}, "high_vol": {"execution": "limit", "algo": "is"}}}
    with pytest.raises(ConfigError, match="algo: works market targets"):
        parse_config(config(panel, "hybrid", limit))


def test_the_resync_after_limits_is_worked_by_the_regime_algorithm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Hybrid, "_detect", _scripted)
    t = 40
    close = 100.0 * np.exp(np.cumsum(np.full(t, 0.002)))
    ohlcv = np.column_stack([close, close * 1.01, close * 0.99, close, np.full(t, 1e7)])
    panel = synthetic_panel({"AAA": ohlcv})
    rules = {**RULES, "calm": {"weights": {"bh": 1}, "algo": "pov"}}
    params = {"experts": [{"strategy": "buy_and_hold", "name": "bh"}], "detector": HMM}
    cfg = config(panel, "hybrid", {**params, "regimes": rules})
    cfg["strategies"][0]["execution"] = {"algo": "twap", "horizon": "3d", "passive": False}
    r = run(panel, cfg)
    bar = {int(ts): i for i, ts in enumerate(panel.timestamps)}
    back = [rec for rec in r.executions if bar[rec["decision_ns"]] == LIMIT_BARS.stop]
    assert [(rec["algo"], rec["side"]) for rec in back] == [("pov", int(Side.BUY))]
    assert not [o for o in r.orders if o.tag == "hybrid_resync"]
