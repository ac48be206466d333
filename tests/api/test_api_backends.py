"""The API end to end on each backend (SQLite and PostgreSQL, worker-process jobs)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from alphapulse.api.control import is_enabled

from .conftest import AUTH, TINY_RUN, make_client, wait_finished


class TestBackends:
    def test_run_and_control(
        self, backend_url: str, shared_data: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        texts = []
        with make_client(backend_url, max_jobs=1) as client:
            ready = client.get("/ready")
            assert ready.json()["status"] == "ready", ready.text
            res = client.post("/runs", json=TINY_RUN, headers=AUTH)
            assert res.status_code == 202
            ids = [r["id"] for r in res.json()["runs"]]
            assert wait_finished(client, ids) == ["finished", "finished"]
            for rid in ids:
                summary = client.get(f"/runs/{rid}/summary", headers=AUTH).json()
                fills = client.get(f"/runs/{rid}/fills?limit=1000", headers=AUTH).json()
                assert fills["total"] == summary["metrics"]["n_fills"] == summary["cash"]["n_fills"]
                texts += [summary, fills, client.get(f"/runs/{rid}", headers=AUTH).text]
            positions = client.get(f"/runs/{ids[1]}/positions", headers=AUTH).json()
            assert {p["symbol"] for p in positions["items"]} == {"AAPL", "MSFT"}
            assert client.post("/strategies/momentum/disable", headers=AUTH).status_code == 200
            assert is_enabled(backend_url, "momentum") is False
            client.post("/strategies/momentum/enable", headers=AUTH)
            assert is_enabled(backend_url, "momentum") is True
            texts += [
                client.get("/metrics", headers=AUTH).text,
                client.get("/runs", headers=AUTH).text,
            ]
        password = make_url(backend_url).password
        if password:
            assert password not in str(texts) + caplog.text
            assert "***" in caplog.text  # the startup line shows the masked URL

    def test_ready_reports_an_unreachable_database(self, caplog: pytest.LogCaptureFixture) -> None:
        url = "postgresql+psycopg://u:hidden-pw-77@127.0.0.1:1/nowhere?connect_timeout=1"
        with make_client(url, job_mode="thread") as client:
            res = client.get("/ready")
            assert res.status_code == 503
            assert res.json() == {
                "status": "not_ready",
                "checks": {"database": "unreachable", "migrations": "unknown"},
            }
            assert client.get("/runs", headers=AUTH).status_code == 503
        assert "hidden-pw-77" not in caplog.text + res.text
