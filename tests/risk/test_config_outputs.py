"""Config keys (the YAML of docs/risk.md), engine wiring, output files, and the risk
stage's state being per instance (backtest and paper trading drive it the same way)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.outputs import write_outputs
from alphapulse.engine.runner import build_engine
from alphapulse.engine.stages import PassThroughRisk
from alphapulse.portfolio.construction import EqualSlot
from alphapulse.portfolio.rebalance import Rebalancer
from alphapulse.portfolio.vol_target import VolatilityTarget
from alphapulse.risk import StandardRiskManager
from alphapulse.risk.measures import COLUMNS
from tests.risk.helpers import RANDOM, config, run

DOC = Path(__file__).resolve().parents[2] / "docs" / "risk.md"


def doc_yaml() -> dict:
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    return yaml.safe_load(block.group(1))


def test_the_documented_yaml_is_valid_and_wired(sp6: Panel) -> None:
    doc = doc_yaml()
    cfg = parse_config(config(sp6, "buy_and_hold", **doc))
    assert cfg.portfolio is not None and cfg.portfolio.method == "vol_target"
    assert cfg.risk is not None and cfg.risk.limits.groups["AAPL"] == "tech"
    engine = build_engine(cfg, cfg.strategies[0], PanelFeed(sp6))
    assert isinstance(engine.constructor, Rebalancer)
    assert isinstance(engine.constructor.inner, VolatilityTarget)
    assert isinstance(engine.risk, StandardRiskManager)
    assert engine.planner.mode == "always" and engine.planner.min_trade_value == 1000


def test_defaults_are_pass_through_and_equal_slot(sp6: Panel) -> None:
    cfg = parse_config(config(sp6, "buy_and_hold"))
    engine = build_engine(cfg, cfg.strategies[0], PanelFeed(sp6))
    assert isinstance(engine.constructor, EqualSlot)
    assert isinstance(engine.risk, PassThroughRisk)
    assert engine.planner.mode == "on_change"
    defaults = parse_config(config(sp6, "buy_and_hold", risk={})).risk
    assert defaults is not None
    assert defaults.limits.max_position_pct == 0.10 and defaults.limits.max_group_pct == 0.30
    assert defaults.guards.daily_loss_limit == 0.03 and defaults.guards.max_drawdown == 0.15
    assert defaults.guards.intraday_loss_limit == 0.03


@pytest.mark.parametrize(
    ("over", "message"),
    [
        (
            {"risk": {"limits": {"max_positon_pct": 0.1}}},
            "risk.limits.max_positon_pct: unknown key",
        ),
        ({"portfolio": {"method": "vol_target", "fraction": 0.5}}, "fraction: unknown key"),
        ({"portfolio": {"method": "nope"}}, "portfolio"),
        ({"risk": {"guards": {"max_drawdown": 1.5}}}, "risk.guards.max_drawdown"),
        ({"risk": {"stops": {"stop_loss": {"method": "atr"}}}}, "value"),
        # a window shorter than min_periods never fills: every measure silently NaN
        (
            {"risk": {"measures": {"window": 10, "min_periods": 20}}},
            "risk.measures: Value error, min_periods 20 > window 10",
        ),
        # a window of 10**12 bars was accepted, then allocated (MemoryError mid-run)
        (
            {"risk": {"measures": {"window": 10**12}}},
            "risk.measures.window: Input should be less than or equal to 1000000",
        ),
        (
            {"risk": {"guards": {"auto_disable": {"window": 10**12}}}},
            "risk.guards.auto_disable.window: Input should be less than or equal to 1000000",
        ),
        # 5 meant as 5%: a long's stop would sit below zero, so longs silently got none
        (
            {"risk": {"stops": {"stop_loss": {"method": "pct", "value": 5}}}},
            "risk.stops: Value error, stop_loss: pct value 5.0 is a fraction",
        ),
    ],
)
def test_bad_keys_are_clear_errors(sp6: Panel, over: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(config(sp6, "buy_and_hold", **over))


def test_unknown_benchmark_symbol(sp6: Panel) -> None:
    cfg = parse_config(config(sp6, "buy_and_hold", risk={"measures": {"benchmark": "SPY"}}))
    with pytest.raises(ConfigError, match="SPY"):
        build_engine(cfg, cfg.strategies[0], PanelFeed(sp6))


def test_outputs_carry_events_measures_and_summary(sp6: Panel, tmp_path: Path) -> None:
    cfg = config(
        sp6,
        RANDOM,
        {"seed": 4, "p_trade": 0.5},
        risk={
            "limits": {"max_position_pct": 0.05, "max_order_notional": 20_000},
            "guards": {"max_drawdown": 0.01},
        },
    )
    r = run(sp6, cfg)
    s = write_outputs(r, tmp_path)
    ev = pd.read_csv(tmp_path / "risk_events.csv")
    assert list(ev.columns) == ["timestamp", "kind", "reason", "symbol", "order_id", "detail"]
    assert len(ev) == len(r.risk_events) > 0
    assert {"order_resized", "kill_switch"} <= set(ev["kind"])
    eq = pd.read_csv(tmp_path / "equity.csv")
    assert list(eq.columns[:6]) == [
        "timestamp", "equity", "cash", "exposure", "gross_exposure", "net_exposure"
    ]  # fmt: skip
    assert set(COLUMNS) <= set(eq.columns) and len(eq) == sp6.n_bars
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    risk = on_disk["risk"]
    assert risk == s["risk"]
    assert risk["events"]["kill_switch"] == 1 and risk["first_halt_kind"] == "kill_switch"
    kill = next(e for e in r.risk_events if e.kind == "kill_switch")
    assert pd.Timestamp(risk["first_halt_at"]) == pd.Timestamp(kill.ts_ns, unit="ns", tz="UTC")
    assert sum(risk["events"].values()) == risk["n_events"] == len(ev)
    assert risk["measures"]["var_hist_95"]["max"] >= risk["measures"]["var_hist_95"]["mean"]


def test_pass_through_outputs_have_an_empty_events_file(sp6: Panel, tmp_path: Path) -> None:
    r = run(sp6, config(sp6, "buy_and_hold"))
    s = write_outputs(r, tmp_path)
    assert pd.read_csv(tmp_path / "risk_events.csv").empty
    assert s["risk"]["n_events"] == 0 and s["risk"]["first_halt_at"] is None


def test_state_is_per_instance_stepping_interleaved_like_paper_trading(sp6: Panel) -> None:
    """Two engines stepped alternately, bar by bar (as live bars arrive), give exactly the
    results of a plain backtest: no state is shared between risk stages."""
    raw = config(
        sp6,
        RANDOM,
        {"seed": 9, "p_trade": 0.4},
        portfolio={"method": "vol_target", "lookback": 40, "rebalance": {"every": 3}},
        risk={
            "stops": {"stop_loss": {"method": "pct", "value": 0.04}, "trailing": True},
            "guards": {"daily_loss_limit": 0.01},
        },
    )
    cfg = parse_config(raw)
    feeds = [PanelFeed(sp6), PanelFeed(sp6)]
    engines = [build_engine(cfg, cfg.strategies[0], f) for f in feeds]
    for a, b in zip(feeds[0], feeds[1], strict=True):
        engines[0].step(a)
        engines[1].step(b)
    alone = run(sp6, raw)
    for e in engines:
        res = e.result()
        assert res.fills == alone.fills
        assert res.risk_events == alone.risk_events
        np.testing.assert_array_equal(res.equity, alone.equity)
        for k in COLUMNS:
            np.testing.assert_array_equal(res.extra[k], alone.extra[k])
