"""Shared fixtures: the real-data root (../shared/data by default, $ALPHAPULSE_DATA).

Without the data, real-data tests skip locally; under ``CI=true`` the run stops at once
with one line saying where it looked (CI must run every real-data test)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI", "").strip().lower() not in {"true", "1", "yes"}:
        return
    from alphapulse.core.errors import DataError
    from alphapulse.data.catalog import data_root

    try:
        data_root()
    except DataError as exc:
        pytest.exit(f"real market data is required under CI=true: {exc}", returncode=2)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    env = os.environ.get("ALPHAPULSE_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not root.is_dir():
        pytest.skip(f"real market data not found at {root}")
    return root
