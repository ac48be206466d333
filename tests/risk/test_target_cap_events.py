"""Targets cut by a limit are reported once per new capped value (outputs and DB)."""

from __future__ import annotations

from pathlib import Path

from alphapulse.config import parse_config
from alphapulse.engine.runner import load_data, run_backtest


def test_capped_targets_are_reported_once(shared_data: Path) -> None:
    cfg = parse_config(
        {
            "data": {
                "source": "sp500_daily_2013_2018",
                "symbols": ["AAPL", "MSFT", "XOM", "JPM", "KO"],
                "end": "2013-12-31",
            },
            "risk": {"limits": {"max_position_pct": 0.10}},
            "strategies": [{"strategy": "buy_and_hold"}],  # 20% each, every bar
        }
    )
    r = run_backtest(cfg, load_data(cfg))["buy_and_hold"]
    caps = [e for e in r.risk_events if e.kind == "target_resized"]
    assert sorted(e.symbol for e in caps) == ["AAPL", "JPM", "KO", "MSFT", "XOM"]
    assert {e.reason for e in caps} == {"max_position"}
    assert all(e.detail == "weight 0.2 -> 0.1" for e in caps)
    weights = r.gross_exposure[-1] / r.equity[-1]
    assert weights <= 0.5 + 0.05  # five names capped at 10% (plus price drift)
