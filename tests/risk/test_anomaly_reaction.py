"""The risk stage's anomaly reaction: block new risk or flatten, as risk events."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.anomaly import AnomalyConfig
from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import History
from alphapulse.engine.runner import make_engine
from alphapulse.risk.anomaly_reaction import AnomalyReaction
from tests.risk.helpers import NO_GUARDS, NO_LIMITS, config, run

CRASH = 200


def _crashed(panel: Panel, sym: str = "XOM") -> Panel:
    """``sym`` gaps down 35% at bar CRASH and stays there (a market event)."""
    j = panel.symbols.index(sym)
    fields = {k: v.copy() for k, v in panel.fields.items()}
    for k in ("open", "high", "low", "close"):
        fields[k][CRASH:, j] *= 0.65
    return Panel(panel.timestamps, panel.symbols, fields)


def _cfg(panel: Panel, action: str) -> dict:
    anomalies = {
        "pattern": {"enabled": False},
        "reaction": {"min_severity": "critical", "action": action, "bars": 10},
    }
    risk = {"limits": NO_LIMITS, "guards": NO_GUARDS}
    return config(panel, anomalies=anomalies, risk=risk)


def test_flatten_on_critical(sp6: Panel) -> None:
    panel = _crashed(sp6)
    res = run(panel, _cfg(panel, "flatten"))
    events = [e for e in res.risk_events if e.kind.startswith("anomaly_")]
    assert [(e.kind, e.symbol) for e in events] == [("anomaly_flatten", "XOM")]
    assert events[0].ts_ns == panel.timestamps[CRASH]
    assert events[0].reason in ("price_jump:CRITICAL", "gap:CRITICAL")
    xom = [(f.bar_index, f.side.name, f.tag) for f in res.fills if f.symbol == "XOM"]
    assert xom[0][1] == "BUY" and xom[1] == (CRASH + 1, "SELL", "flatten")
    assert xom[2][0] > CRASH + 9  # no re-entry while the 10-bar block lasts
    plain = run(panel, {**_cfg(panel, "flatten"), "anomalies": None})
    assert not any(e.kind.startswith("anomaly_") for e in plain.risk_events)
    assert all(f.side.name == "BUY" for f in plain.fills if f.symbol == "XOM")


def test_block_window_and_one_event_per_episode(sp6: Panel) -> None:
    panel = _crashed(sp6)
    cfg = AnomalyConfig.model_validate(_cfg(panel, "block")["anomalies"])
    react = AnomalyReaction(cfg, panel.symbols)
    xom = panel.symbols.index("XOM")
    blocked_at, events = [], []
    for t in range(panel.n_bars):
        f = [panel.fields[k][t] for k in ("open", "high", "low", "close", "volume")]
        bar = BarSlice(t, int(panel.timestamps[t]), t, *f)
        ev, flat = react.on_bar(bar)
        assert flat == []
        events += ev
        blocked_at.append(bool(react.blocked(t)[xom]))
    assert [e.symbol for e in events if e.symbol == "XOM"] == ["XOM"]
    assert blocked_at[CRASH : CRASH + 10] == [True] * 10
    assert not blocked_at[CRASH - 1] and not blocked_at[CRASH + 10]


def test_reaction_needs_a_risk_block(sp6: Panel) -> None:
    cfg = _cfg(sp6, "block")
    cfg.pop("risk")
    with pytest.raises(ConfigError, match=r"anomalies\.reaction"):
        run(sp6, cfg)


def test_no_anomaly_block_no_detector(sp6: Panel) -> None:
    c = parse_config(config(sp6, risk={}))
    hist = History({k: np.asarray(v) for k, v in sp6.fields.items()}, sp6.timestamps)
    engine = make_engine(c, c.strategies[0], sp6.symbols, hist)
    assert engine.risk.anomaly is None  # type: ignore[attr-defined]
