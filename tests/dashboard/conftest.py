"""Dashboard fixtures: an app on a temp SQLite store with one finished backtest, a
logged-in test client (cookie + CSRF token) and helpers."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import AUTH, TINY_RUN, TOKEN, make_client, wait_finished
from tests.dashboard.chromium import chromium

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PAPER_RUN: dict[str, Any] = {
    "name": "ui-paper",
    "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT"],
             "start": "2015-01-01", "end": "2015-06-30"},
    "strategies": [{"strategy": "buy_and_hold"}],
}  # fmt: skip


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def wait_session(client: TestClient, name: str, timeout: float = 60) -> dict[str, Any]:
    """Poll ``GET /sessions/{name}`` until it is no longer running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info: dict[str, Any] = client.get(f"/sessions/{name}", headers=AUTH).json()
        if info["status"] != "running":
            return info
        time.sleep(0.1)
    raise AssertionError(f"session {name} still running after {timeout}s")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """A client (no credentials) of an app holding one finished run, and that run's id."""
    db = Path(tmp_path_factory.mktemp("ui")) / "ui.sqlite"
    with make_client(f"sqlite:///{db}", job_mode="thread") as client:
        body = {**TINY_RUN, "strategies": TINY_RUN["strategies"][:1]}
        ids = client.post("/runs", json=body, headers=AUTH).json()["runs"]
        assert wait_finished(client, [r["id"] for r in ids]) == ["finished"]
        yield client, ids[0]["id"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, one per test module."""
    with chromium() as b:
        yield b


def login(client: TestClient) -> str:
    """Log ``client`` in through the form; the CSRF token of its session."""
    form = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"token": TOKEN, "csrf": form}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    return csrf_of(client.get("/").text)


__all__ = ["AUTH", "PAPER_RUN", "TOKEN", "csrf_of", "login", "wait_session"]
