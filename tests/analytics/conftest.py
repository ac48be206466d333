"""Shared real-data fixtures for the analytics tests (skipped when the data is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def aapl_close(shared_data: Path) -> pd.Series:
    """AAPL daily closes 2013-02-08 .. 2018-02-07 on a naive date index."""
    frame = pd.read_csv(shared_data / "sp500_daily_2013_2018" / "AAPL_data.csv.gz")
    index = pd.DatetimeIndex(pd.to_datetime(frame["date"]), name="date")
    return pd.Series(frame["close"].to_numpy(dtype=float), index=index, name="AAPL")


@pytest.fixture(scope="session")
def data_dir(shared_data: Path) -> Path:
    """The real-data root (``shared_data``: ../shared/data or $ALPHAPULSE_DATA)."""
    return shared_data
