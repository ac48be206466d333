"""Real-data panels shared by the risk tests (loaded once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel

SP6 = ["AAPL", "MSFT", "XOM", "JPM", "KO", "CVX"]
GROUPS = {"AAPL": "tech", "MSFT": "tech", "XOM": "energy", "CVX": "energy"}
SP20 = [
    "AAPL", "MSFT", "AMZN", "GOOGL", "JPM", "XOM", "JNJ", "PG", "WMT", "KO",
    "INTC", "CSCO", "PFE", "BA", "DIS", "HD", "MRK", "CVX", "MCD", "IBM",
]  # fmt: skip
ETF4 = ["SPY", "QQQ", "IWM", "XLF"]


@pytest.fixture(scope="session")
def sp6(shared_data: Path) -> Panel:
    """Six large caps (two 2-name groups), 2014-07 .. 2016-06: the 2015-08 and 2016-01
    selloffs are inside."""
    return load_panel(
        "sp500_daily_2013_2018", SP6, start="2014-07-01", end="2016-06-30", root=shared_data
    )


@pytest.fixture(scope="session")
def sp20(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SP20, root=shared_data)


@pytest.fixture(scope="session")
def etf_2008(shared_data: Path) -> Panel:
    """SPY, QQQ, IWM, XLF through the 2008 crash."""
    return load_panel(
        "us_daily_long_1962_2017", ETF4, start="2008-06-01", end="2009-03-31", root=shared_data
    )
