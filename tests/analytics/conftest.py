"""Shared real-data fixtures for the analytics tests (skipped when the data is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="session")
def aapl_close() -> pd.Series:
    """AAPL daily closes 2013-02-08 .. 2018-02-07 on a naive date index."""
    frame = pd.read_csv(_require(DATA / "sp500_daily_2013_2018" / "AAPL_data.csv.gz"))
    index = pd.DatetimeIndex(pd.to_datetime(frame["date"]), name="date")
    return pd.Series(frame["close"].to_numpy(dtype=float), index=index, name="AAPL")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _require(DATA)
