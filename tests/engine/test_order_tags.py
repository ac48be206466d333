"""Explicit order tags fit the store, and a strategy's error names the strategy."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import OrderError
from alphapulse.data.catalog import load_panel
from alphapulse.engine.loop import MAX_TAG
from alphapulse.engine.runner import run_backtest

TAGGED = "tests.engine.strategies_for_tests:TaggedBuy"


def _run(shared_data: Path, tag: str) -> None:
    panel = load_panel("sp500_daily_2013_2018", ["AAPL"], root=shared_data, end="2013-03-01")
    cfg = parse_config(
        {
            "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL"]},
            "strategies": [
                {"strategy": "buy_and_hold"},
                {"strategy": TAGGED, "name": "tagger", "params": {"tag": tag}},
            ],
        }
    )
    run_backtest(cfg, panel, workers=1)


def test_a_tag_the_store_cannot_keep_is_an_order_error_naming_the_strategy(
    shared_data: Path,
) -> None:
    """orders.tag and fills.tag are 64 characters: PostgreSQL refused a longer tag at
    every journaled step (SQLite kept it), so a paper session persisted nothing."""
    _run(shared_data, "t" * MAX_TAG)  # fits, with ":take_profit" for its bracket
    with pytest.raises(OrderError, match=rf"^strategy 'tagger': AAPL: order tag .* {MAX_TAG}"):
        _run(shared_data, "t" * (MAX_TAG + 1))
