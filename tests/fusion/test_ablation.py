"""The ablation table: a bad ``--oos-start`` is one ConfigError line before any run,
not a traceback after them."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.config import BacktestConfig, parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.fusion.ablation import COLUMNS, run_ablation
from tests.rl.conftest import day, random_walk

EXPERTS = [
    {"strategy": "sma_cross", "name": "trend", "params": {"fast": 5, "slow": 20}},
    {"strategy": "buy_and_hold", "name": "bh"},
]


@pytest.fixture(scope="module")
def panel() -> Panel:
    return random_walk(120, 2)


@pytest.fixture(scope="module")
def cfg() -> BacktestConfig:
    hybrid = {"strategy": "hybrid", "params": {"experts": EXPERTS}}
    return parse_config({"data": {"source": "synthetic"}, "strategies": [hybrid]})


@pytest.mark.parametrize(
    ("start", "needle"),
    [
        ("garbage", "--oos-start: not a date"),
        ("2100-01-01", "--oos-start 2100-01-01: fewer than 2 bars from it"),
        (119, "fewer than 2 bars from it"),  # the last bar: no return to score
    ],
)
def test_bad_oos_start_is_a_config_error(
    panel: Panel, cfg: BacktestConfig, start: str | int, needle: str
) -> None:
    text = day(panel, start) if isinstance(start, int) else start
    with pytest.raises(ConfigError, match=needle):
        run_ablation(cfg, panel, oos_start=text, n_boot=20, workers=1)


def test_oos_start_near_the_end_is_scored(panel: Panel, cfg: BacktestConfig) -> None:
    table = run_ablation(cfg, panel, oos_start=day(panel, 117), n_boot=20, workers=1)
    assert list(table.columns) == COLUMNS and len(table) == 5
    assert np.isfinite(table["max_dd"]).all()
