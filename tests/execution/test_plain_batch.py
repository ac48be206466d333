"""The venue's compiled pass over plain market orders (``execution.batch``) must give,
bit for bit, what its per-order path gives: every order (quantity, status, reason, fill
price), fill and book row equal with the pass on and off, on real data, under every
built-in commission and slippage model, participation caps, small cash (resized and
rejected orders), shorting and fills at the close."""

from __future__ import annotations

from typing import Any

import pytest

from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import build_engine
from alphapulse.execution.venue import SimulatedVenue
from tests.engine.run_compare import assert_same_accounts

SYMBOLS = ["AAPL", "XOM", "JPM", "FTV", "DWDP", "HLT", "O", "VRTX", "APTV", "NVDA", "KO", "CVX"]
PSH = {"model": "per_share", "per_share": 0.01, "minimum": 2.0}
SQRT = {"model": "sqrt_impact", "coefficient": 1.0, "spread_bps": 2.0}
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("sma_cross", {"fast": 10, "slow": 30}, {}, {}),
    (
        "mean_reversion",
        {"window": 20, "entry_z": 1.0, "exit_z": 0.0, "short": True},
        {"commission": PSH, "slippage": SQRT, "allow_short": True},
        {},
    ),
    (
        "momentum",
        {"lookback": 20, "rebalance_every": 3},
        {
            "commission": {"model": "maker_taker"},
            "slippage": {"model": "half_spread", "spread_bps": 8.0},
            "max_participation": 0.00002,
        },
        {"initial_cash": 4000.0},
    ),
    (
        "momentum",
        {"lookback": 60, "rebalance_every": 5, "short": True},
        {"commission": {**PSH, "maximum_pct": None}, "slippage": SQRT},
        {"initial_cash": 3000.0, "fill_at": "close"},
    ),
    (
        "mean_reversion",
        {"window": 20, "entry_z": 1.5, "exit_z": 0.0},
        {"commission": {"model": "none"}, "slippage": {"model": "none"}},
        {"risk": {}},
    ),
]


def _run(raw: dict[str, Any], batch: bool) -> RunResult:
    cfg = parse_config(raw)
    panel = load_panel("sp500_daily_2013_2018", SYMBOLS)
    feed = PanelFeed(panel)
    engine = build_engine(cfg, cfg.strategies[0], feed)
    assert isinstance(engine.venue, SimulatedVenue)
    assert engine.venue._plain_costs is not None
    if not batch:
        engine.venue._plain_costs = None  # the per-order path
    return engine.run(feed)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_batch_equals_per_order_path(case: int) -> None:
    strategy, params, execution, over = CASES[case]
    raw: dict[str, Any] = {
        "data": {"source": "in-memory"},
        "initial_cash": 100_000.0,
        "execution": execution,
        "strategies": [{"strategy": strategy, "params": params}],
        **over,
    }
    a, b = _run(raw, batch=True), _run(raw, batch=False)
    assert len(a.fills) > 50
    assert [repr(o) for o in a.orders] == [repr(o) for o in b.orders]
    assert [repr(f) for f in a.fills] == [repr(f) for f in b.fills]
    assert_same_accounts(a, b)
