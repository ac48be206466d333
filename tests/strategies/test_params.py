"""Strategy parameters are finite: Infinity is a one-line config error naming the field
(an infinite exit multiple gave infinite stop prices and broke the walk-forward's risk
stage; an infinite sentiment entry never trades; an infinite hybrid shadow cost)."""

from __future__ import annotations

import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError


@pytest.mark.parametrize(
    ("strategy", "field"),
    [
        ("ml", "stop_loss_atr"),
        ("ml", "take_profit_atr"),
        ("sentiment", "entry"),
        ("hybrid", "shadow_cost_bps"),
    ],
)
@pytest.mark.parametrize("value", [float("inf"), "Infinity"])
def test_infinite_params_are_refused(strategy: str, field: str, value: object) -> None:
    raw = {
        "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL"]},
        "strategies": [{"strategy": strategy, "params": {field: value}}],
    }
    with pytest.raises(ConfigError, match=rf"params\.{field}: Input should be a finite number"):
        parse_config(raw)
