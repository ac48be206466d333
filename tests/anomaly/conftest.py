"""Real sp500 bars for the anomaly tests (a few full-history symbols)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphapulse.anomaly.evaluate import Bars
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel

SYMBOLS = ("AAPL", "MSFT", "XOM", "JPM", "PFE", "KO", "GE", "INTC", "WMT", "CVX", "T", "MRK")


@pytest.fixture(scope="package")
def panel(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SYMBOLS, end="2015-12-31", root=shared_data)


@pytest.fixture(scope="package")
def bars(panel: Panel) -> Bars:
    return Bars(*(np.array(panel[f]) for f in ("open", "high", "low", "close", "volume")))
