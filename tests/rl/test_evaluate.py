"""``rl evaluate``: the baselines are scored as the policy is, fold by fold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from alphapulse.config import StrategyConfig
from alphapulse.data.panel import Panel
from alphapulse.engine.runner import run_strategy
from alphapulse.rl import evaluate as rl_evaluate
from tests.rl.conftest import day, rl_config


def test_baselines_start_each_fold_flat_like_the_policy(
    monkeypatch: pytest.MonkeyPatch, walk: Panel
) -> None:
    """Per fold, each baseline starts from a flat book of the initial cash and first
    decides on the window's first bar, as the policy does: buy and hold's returns in a
    window are those of buy and hold run on that window alone (its entry costs inside).
    Run once over the whole panel, it was invested from bar 0, its entry costs before the
    windows and its first window's first bar already earning."""
    cfg = rl_config(walk, 150, evaluate={"folds": 2, "train_bars": 100, "valid_bars": 20,
                                         "test_bars": 40, "bootstrap": 0})  # fmt: skip
    seen: dict[str, Any] = {}
    monkeypatch.setattr(rl_evaluate, "_fold", lambda shared, item, report: np.zeros(40))
    monkeypatch.setattr(rl_evaluate, "summary_table", lambda series, *_: seen.update(series))
    rl_evaluate.evaluate(cfg, walk)
    assert {k: len(v) for k, v in seen.items()} == dict.fromkeys(
        ["rl_ppo", "buy_and_hold", "sma_cross", "ml"], 80
    )
    bh = StrategyConfig(strategy="buy_and_hold")
    for k, (lo, hi) in enumerate(((220, 260), (260, 300))):
        alone = run_strategy(cfg.backtest(), bh, walk.slice_time(day(walk, lo), day(walk, hi - 1)))
        expected = rl_evaluate._returns(alone.equity, cfg.initial_cash)
        np.testing.assert_allclose(seen["buy_and_hold"][40 * k : 40 * (k + 1)], expected)
    assert all(seen[name][0] == 0.0 for name in ("buy_and_hold", "sma_cross", "ml"))
