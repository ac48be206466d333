"""The ablation table: a bad ``--oos-start`` is one ConfigError line before any run,
not a traceback after them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from alphapulse.config import BacktestConfig, parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.engine.runner import run_backtest
from alphapulse.fusion.ablation import COLUMNS, _score, run_ablation, variants
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


def test_first_scored_bar_holds_its_fees(panel: Panel, cfg: BacktestConfig) -> None:
    """A fee paid at the first scored bar lowers that bar's return: the equity before it
    (the initial cash at the data's first bar) is the base, as the fees column counts it."""
    run = run_backtest(cfg.model_copy(update={"strategies": variants(cfg)[-1:]}), panel)
    r = next(iter(run.values()))
    flat = replace(r, initial_cash=100.0, equity=np.full(len(r.timestamps), 99.0), fills=[])
    first = _score("flat", flat, int(r.timestamps[0]), n_boot=10)
    assert first[COLUMNS.index("max_dd")] == pytest.approx(-0.01)
    assert first[COLUMNS.index("cagr")] < 0
    later = _score("flat", flat, int(r.timestamps[5]), n_boot=10)  # base: bar 4's 99
    assert later[COLUMNS.index("max_dd")] == 0.0 and later[COLUMNS.index("cagr")] == 0.0
