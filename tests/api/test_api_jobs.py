"""The run manager: a backtest that cannot be started leaves no run ``running``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from alphapulse.api.jobs import RunManager
from alphapulse.api.metrics import Metrics
from alphapulse.config import parse_config
from alphapulse.store import open_store
from alphapulse.store.schema import TABLES


def test_a_job_the_pool_refuses_marks_its_runs_failed(tmp_path: Path) -> None:
    """Before, the rows written before the pool refused the job (a request during
    shutdown) stayed ``running`` for ever."""
    url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    cfg = parse_config(
        {
            "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL"]},
            "strategies": [{"strategy": "buy_and_hold"}, {"strategy": "sma_cross"}],
        }
    )
    with open_store(url) as store:
        jobs = RunManager(store, url, Metrics(), max_jobs=1, mode="thread")
        jobs.shutdown()
        with pytest.raises(RuntimeError, match="shutdown"):
            jobs.submit(cfg)
        with store.engine.connect() as conn:
            status = conn.execute(select(TABLES["runs"].c.status)).scalars().all()
    assert status == ["failed", "failed"]
