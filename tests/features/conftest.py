"""Real-data panel for the feature tests: a few S&P 500 symbols, DHR with missing bars
(and rows with a close but no open/high/low), FTV listed mid-sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel

SYMBOLS = ["AAPL", "DHR", "FTV", "XOM", "O", "JPM"]


@pytest.fixture(scope="session")
def sp_panel(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data)
