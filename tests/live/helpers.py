"""Shared helpers of the paper-trading tests: configs and run comparisons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphapulse.engine.loop import RunResult
from alphapulse.store import Store

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "FTV"]  # FTV lists in 2016: sparse start


def paper_cfg(**over: Any) -> dict[str, Any]:
    """Three strategies (one with limits, brackets and trailing stops) on six stocks."""
    cfg: dict[str, Any] = {
        "name": "paper-test",
        "data": {
            "source": "sp500_daily_2013_2018",
            "symbols": SYMBOLS,
            "start": "2015-06-01",
            "end": "2016-12-31",
        },
        "initial_cash": 100_000.0,
        "execution": {
            "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
            "slippage": {"model": "fixed_bps", "bps": 5},
            "max_participation": 0.1,
        },
        "risk": {
            "limits": {"max_position_pct": 0.2},
            "stops": {
                "stop_loss": {"value": 0.04},
                "take_profit": {"value": 0.08},
                "trailing": True,
            },
            "guards": {"stale_data": {"bars": 3, "action": "flatten"}},
        },
        "strategies": [
            {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}},
            {"strategy": "mean_reversion", "params": {"window": 10, "entry_z": 1.0}},
            {"strategy": "momentum", "params": {"lookback": 20, "rebalance_every": 5}},
        ],
        "paper": {"feed": "replay", "speed": 0},
    }
    cfg.update(over)
    return cfg


def order_tuples(r: RunResult) -> list[tuple[Any, ...]]:
    return [
        (o.id, o.symbol, o.side, o.type, o.quantity, o.notional, o.created_ns, o.status,
         o.filled_qty, o.avg_fill_price, o.stop_price, o.limit_price, o.parent_id, o.tag,
         o.reason)
        for o in r.orders
    ]  # fmt: skip


def fill_tuples(r: RunResult) -> list[tuple[Any, ...]]:
    return [
        (f.order_id, f.symbol, f.side, f.quantity, f.price, f.fee, f.ts_ns, f.bar_index, f.tag)
        for f in r.fills
    ]


def assert_same_run(a: RunResult, b: RunResult) -> None:
    """Bit-identical orders, fills, equity curve and final book."""
    assert order_tuples(a) == order_tuples(b)
    assert fill_tuples(a) == fill_tuples(b)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.equity, b.equity)
    np.testing.assert_array_equal(a.cash, b.cash)
    np.testing.assert_array_equal(a.final_positions, b.final_positions)
    assert [(e.ts_ns, e.kind, e.reason, e.symbol) for e in a.risk_events] == [
        (e.ts_ns, e.kind, e.reason, e.symbol) for e in b.risk_events
    ]


class Crash(BaseException):
    """The process dies (not an ``Exception``: nothing catches it)."""


def stored_table(store: Store, table: str, run_id: str) -> pd.DataFrame:
    """A run's rows of ``table`` without the surrogate ``id`` and the ``run_id``."""
    df = store.read_table(table, run_id)
    return df.drop(columns=[c for c in ("id", "run_id") if c in df.columns]).reset_index(drop=True)
