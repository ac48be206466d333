"""Fixtures of the data-layer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphapulse.core.errors import DataError
from alphapulse.data.catalog import data_root as find_data_root


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The shared market-data folder; tests using it skip when it is absent."""
    try:
        return find_data_root()
    except DataError as exc:
        pytest.skip(f"shared market data (../shared/data or $ALPHAPULSE_DATA) not found: {exc}")
