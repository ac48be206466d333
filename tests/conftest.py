"""Shared fixtures: the real-data root (../shared/data by default, $ALPHAPULSE_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    env = os.environ.get("ALPHAPULSE_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not root.is_dir():
        pytest.skip(f"real market data not found at {root}")
    return root
