"""Replaying a period through the paper runtime (accelerated) gives exactly the orders,
fills, equity and risk events of a backtest of the same period and config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alphapulse.config import parse_config
from alphapulse.engine.runner import run_backtest
from alphapulse.live.session import run_session

from .helpers import assert_same_run, paper_cfg


@pytest.mark.parametrize(
    "over",
    [
        {},
        {"fill_at": "close"},
        {"portfolio": {"method": "inverse_vol", "rebalance": {"min_trade_value": 500}}, "risk": {}},
    ],
    ids=["next_open+risk", "fill_at_close", "inverse_vol_rebalance+default_risk"],
)
def test_replay_matches_backtest(shared_data: Path, over: dict[str, Any]) -> None:
    cfg = parse_config(paper_cfg(**over))
    backtest = run_backtest(cfg, workers=1)
    paper = run_session(cfg, persist=False).results
    assert list(paper) == list(backtest)
    for label, r in backtest.items():
        assert len(r.fills) > 0, label
        assert_same_run(paper[label], r)


def test_paper_real_time_pacing(shared_data: Path) -> None:
    """``speed`` paces rows by their time gaps: 10 daily bars at 86400x ~ 10 s / 1000."""
    import time

    cfg = parse_config(
        paper_cfg(
            data={"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "KO"],
                  "start": "2016-01-04", "end": "2016-01-15"},
            paper={"speed": 86_400 * 20},
        )
    )  # fmt: skip
    t0 = time.monotonic()
    done = run_session(cfg, persist=False)
    elapsed = time.monotonic() - t0
    assert done.runtime.steps == 10 and done.runtime.completed
    assert elapsed >= 11 / 20 * 0.9  # 11 days from first to last bar, at 20 days a second
