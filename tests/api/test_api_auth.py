"""Authentication, public probes, settings and secret hygiene."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alphapulse.api import ApiSettings
from alphapulse.api.security import mask_url, redact, redact_text, token_matches
from alphapulse.core.errors import ConfigError
from alphapulse.store import open_store

from .conftest import AUTH, TOKEN, make_client

PROTECTED = ["/runs", "/runs/x", "/runs/x/summary", "/runs/x/orders", "/strategies", "/metrics"]


def test_health_and_ready_need_no_token(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "head"}}


@pytest.mark.parametrize("path", PROTECTED)
def test_token_required(client: TestClient, path: str) -> None:
    res = client.get(path)
    assert res.status_code == 401
    assert res.headers["www-authenticate"] == "Bearer"
    assert res.json()["error"] == "missing or invalid bearer token"


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer ",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer é".encode("latin-1"),
    ],
)
def test_wrong_token_rejected(client: TestClient, header: str | bytes) -> None:
    assert client.get("/runs", headers={"Authorization": header}).status_code == 401
    assert (
        client.post("/strategies/sma_cross/disable", headers={"Authorization": header}).status_code
        == 401
    )


def test_right_token_accepted(client: TestClient) -> None:
    assert client.get("/runs", headers=AUTH).status_code == 200
    assert client.get("/runs", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200


def test_token_matches() -> None:
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches(f"Bearer {TOKEN}", TOKEN + "!")


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/runs", "/runs/{run_id}/summary", "/runs/{run_id}/risk-events", "/strategies"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_docs_can_be_switched_off(sqlite_url: str) -> None:
    with make_client(sqlite_url, docs=False, job_mode="thread") as c:
        assert c.get("/openapi.json").status_code == 404
        assert c.get("/docs").status_code == 404


def test_mask_url() -> None:
    url = "postgresql+psycopg://alice:s3cret-pw@db.example:5432/prod"
    assert "s3cret-pw" not in mask_url(url)
    assert mask_url(url).startswith("postgresql+psycopg://alice:***@db.example")
    assert mask_url("not a url :// user:pw@host") == "not a url :// user:pw@host"
    assert redact_text(f"failed {url} with abc", ["abc"]) == (
        "failed postgresql+psycopg://alice:***@db.example:5432/prod with ***"
    )
    doc = {"data": {"db_url": url, "api_key": "K", "token": None}, "items": [{"password": "p"}]}
    out = redact(doc)
    assert "s3cret-pw" not in str(out) and out["data"]["api_key"] == "***"
    assert out["items"][0]["password"] == "***" and out["data"]["token"] is None


def test_settings_from_env_and_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    from_file, from_env = "from-file-" + "f" * 32, "from-env-" + "e" * 32
    env_file.write_text(f"ALPHAPULSE_API_TOKEN={from_file}\nALPHAPULSE_API_MAX_JOBS=3\n")
    s = ApiSettings.from_env(env_file, environ={})
    assert s.token.get_secret_value() == from_file and s.max_jobs == 3
    s = ApiSettings.from_env(env_file, environ={"ALPHAPULSE_API_TOKEN": from_env})
    assert s.token.get_secret_value() == from_env
    s = ApiSettings.from_env(env_file, environ={}, db_url="postgresql://u:pw@h/db")
    assert "pw" not in repr(s) and from_file not in repr(s)
    with pytest.raises(ConfigError, match="ALPHAPULSE_API_TOKEN is not set"):
        ApiSettings.from_env(tmp_path / "missing.env", environ={})
    with pytest.raises(ConfigError, match="max_jobs: Input should be greater than or equal"):
        ApiSettings.from_env(None, environ={"ALPHAPULSE_API_TOKEN": TOKEN}, max_jobs=0)


def test_secrets_never_in_responses_or_logs(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_url = "postgresql+psycopg://bob:pg-pass-9f2e@127.0.0.1:1/none"
    body: dict[str, Any] = {
        "data": {"source": "store", "symbols": ["AAPL"], "db_url": secret_url},
        "strategies": [{"strategy": "buy_and_hold"}],
    }
    seen = []
    with open_store(sqlite_url) as store:  # a run recorded by the CLI with a secret URL
        rid = store.record_run("cli/x", body, run_id="cli-run")
        store.finish_run(rid, status="failed", metrics={"error": f"no {secret_url}"})
    with make_client(sqlite_url, job_mode="thread") as c:
        seen.append(c.get("/runs", headers={"Authorization": f"Bearer {TOKEN}-wrong"}).text)
        res = c.post("/runs", json=body, headers=AUTH)  # a client may not name a database
        assert res.status_code == 422
        assert {"field": "data.db_url", "message": "unknown key"} in res.json()["fields"]
        seen.append(res.text)
        for path in (f"/runs/{rid}", f"/runs/{rid}/summary", "/runs", "/ready", "/metrics"):
            seen.append(c.get(path, headers=AUTH).text)
        bad = {**body, "data": {**body["data"], "dbb_url": secret_url}}
        seen.append(c.post("/runs", json=bad, headers=AUTH).text)
    text = "\n".join(seen) + caplog.text
    assert "pg-pass-9f2e" not in text and TOKEN not in text
    assert "bob:***@127.0.0.1" in seen[2]  # the run's config, redacted
