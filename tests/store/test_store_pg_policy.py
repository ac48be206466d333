"""An unreachable PostgreSQL server skips the PostgreSQL tests locally, fails them in CI."""

from __future__ import annotations

import pytest
from store_helpers import pg_unreachable, session_schemas

DEAD_URL = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"


def test_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        pg_unreachable("down")
    with pytest.raises(pytest.skip.Exception):
        next(session_schemas(DEAD_URL))


def test_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        pg_unreachable("down")
    with pytest.raises(pytest.fail.Exception):
        next(session_schemas(DEAD_URL))
