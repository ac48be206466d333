"""The per-strategy ``execution:`` block."""

from __future__ import annotations

import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.execution.algos import AlgoConfig


def _cfg(execution: object) -> dict:
    return {
        "data": {"source": "x"},
        "strategies": [{"strategy": "sma_cross", "execution": execution}],
    }


def test_block_parses() -> None:
    cfg = parse_config(_cfg({"algo": "vwap", "horizon": "30min", "max_participation": 0.1}))
    ex = cfg.strategies[0].execution
    assert ex is not None and ex.algo == "vwap" and ex.horizon_ns == 30 * 60 * 10**9


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"algo": "iceberg"}, "strategies.0.execution.algo"),
        ({"horizon": "soon"}, "not a duration"),
        ({"horizon": "-5min"}, "must be positive"),
        ({"max_participation": 0}, "strategies.0.execution.max_participation"),
        ({"session": ["16:00", "09:30"]}, "open must come before the close"),
        ({"session": ["9h", "16:00"]}, "expected HH:MM"),
        ({"leftover": "carry"}, "needs session hours"),
        ({"urgncy": "low"}, "unknown key"),
    ],
)
def test_bad_block_is_one_clear_error(block: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(_cfg(block), "run.yaml")


def test_session_minutes() -> None:
    assert AlgoConfig(session=("09:30", "16:00")).session_minutes == (570, 960)
    assert AlgoConfig().session_minutes is None
