"""Golden results: each built-in strategy on 10 real S&P 500 stocks, 2013-2018, costs on.
Any change to engine, execution, accounting or metrics that moves these numbers must be
deliberate: regenerate with ALPHAPULSE_REGEN_GOLDEN=1 and explain why in the commit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.engine.outputs import summary
from alphapulse.engine.runner import run_backtest

GOLDEN = Path(__file__).parent / "golden"
SYMBOLS = ["AAPL", "MSFT", "JPM", "XOM", "JNJ", "PG", "KO", "INTC", "BA", "FTV"]
CASES = {
    "buy_and_hold": {},
    "sma_cross": {"fast": 20, "slow": 100},
    "mean_reversion": {"window": 20, "entry_z": 2.0, "exit_z": 0.0},
    "momentum": {"lookback": 126, "rebalance_every": 21},
}
KEYS = [
    "final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "n_trades",
    "win_rate", "profit_factor", "total_fees", "n_orders", "n_fills", "turnover", "exposure",
]  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_results(shared_data: Path, name: str) -> None:
    panel = load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data)
    cfg = parse_config(
        {
            "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
            "initial_cash": 1_000_000,
            "execution": {
                "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
                "slippage": {"model": "fixed_bps", "bps": 2},
                "max_participation": 0.05,
            },
            "strategies": [{"strategy": name, "params": CASES[name]}],
        }
    )
    got = summary(run_backtest(cfg, panel)[name])
    got = {k: got[k] for k in KEYS}
    path = GOLDEN / f"{name}.json"
    if os.environ.get("ALPHAPULSE_REGEN_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=2) + "\n")
    want = json.loads(path.read_text())
    assert got.keys() == want.keys()
    for k, v in want.items():
        if v is None:
            assert got[k] is None, k
        else:
            assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
