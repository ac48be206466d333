"""The guard: token before body, bounded bodies (413), token length, tokens out of logs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from alphapulse.api import ApiSettings, create_app
from alphapulse.api.logs import ScrubFilter, scrub, uvicorn_log_config
from alphapulse.cli import app as cli_app
from alphapulse.core.errors import ConfigError

from .conftest import AUTH, TOKEN, make_client

MB = 1 << 20


def call(
    app: Any, chunks: int, headers: list[tuple[bytes, bytes]], chunk: int = MB
) -> tuple[int, int]:
    """POST /runs straight into the ASGI app with ``chunks`` body chunks of ``chunk``
    bytes (no Content-Length unless given): (status, bytes the app pulled)."""
    data, pulled, sent, status = b"x" * chunk, 0, 0, 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled, sent
        sent += 1
        pulled += len(data)
        return {"type": "http.request", "body": data, "more_body": sent < chunks}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/runs",
        "raw_path": b"/runs",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return status, pulled


def settings(**kwargs: Any) -> ApiSettings:
    return ApiSettings(token=TOKEN, db_url="sqlite://", job_mode="thread", **kwargs)


def test_body_is_not_read_without_token() -> None:
    status, pulled = call(create_app(settings()), 150, [])
    assert (status, pulled) == (401, 0)
    wrong = [(b"authorization", f"Bearer {TOKEN}x".encode())]
    assert call(create_app(settings()), 150, wrong) == (401, 0)


def test_body_is_capped_while_streaming() -> None:
    auth = [(b"authorization", f"Bearer {TOKEN}".encode())]
    app = create_app(settings(max_body=64 * 1024))
    status, pulled = call(app, 1000, auth, chunk=16 * 1024)  # 16 MB, no Content-Length
    assert status == 413 and pulled <= 64 * 1024 + 16 * 1024
    lying = [*auth, (b"content-length", b"10")]  # Content-Length is not trusted
    assert call(app, 1000, lying, chunk=16 * 1024)[0] == 413
    declared = [*auth, (b"content-length", str(100 * MB).encode())]
    assert call(app, 100, declared) == (413, 0)


def test_small_bodies_reach_the_routes(sqlite_url: str) -> None:
    with make_client(sqlite_url, job_mode="thread", max_body=2048) as c:
        res = c.post("/runs", json={"x": "y" * 100}, headers=AUTH)
        assert res.status_code == 422
        assert {"field": "x", "message": "unknown key"} in res.json()["fields"]
        res = c.post("/runs", json={"x": "y" * 4000}, headers=AUTH)
        assert res.status_code == 413
        assert res.json() == {"error": "request body larger than 2048 bytes", "fields": []}
        assert c.get("/health").status_code == 200  # public paths need no token
        assert c.get("/nothing").status_code == 401  # everything else does


def test_max_body_from_env() -> None:
    env = {"ALPHAPULSE_API_TOKEN": TOKEN, "ALPHAPULSE_API_MAX_BODY": "4096"}
    assert ApiSettings.from_env(None, environ=env).max_body == 4096
    with pytest.raises(ConfigError, match="max_body"):
        ApiSettings.from_env(None, environ={**env, "ALPHAPULSE_API_MAX_BODY": "10"})


@pytest.mark.parametrize("token", ["x", "abc", "0" * 16, "y" * 31])
def test_short_tokens_are_refused(token: str) -> None:
    with pytest.raises(ConfigError, match=r"at least 32 characters.*--gen-token") as info:
        ApiSettings.from_env(None, environ={"ALPHAPULSE_API_TOKEN": token})
    assert token not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ValidationError, match="too short"):
        ApiSettings(token=token)


def test_gen_token_prints_an_accepted_token() -> None:
    res = CliRunner().invoke(cli_app, ["serve", "--gen-token"])
    token = res.output.strip()
    assert res.exit_code == 0 and len(token) >= 32 and "\n" not in token
    assert ApiSettings.from_env(None, environ={"ALPHAPULSE_API_TOKEN": token})
    assert CliRunner().invoke(cli_app, ["serve", "--gen-token"]).output.strip() != token


def test_scrub() -> None:
    line = f"GET /runs?access_token={TOKEN}&x=1 Authorization: Bearer {TOKEN} api_key=k"
    out = scrub(line)
    assert TOKEN not in out and "api_key=***" in out and "x=1" in out
    assert scrub(f"leaked {TOKEN[5:]}", (TOKEN[5:],)) == "leaked ***"


def test_logs_never_carry_the_token(tmp_path: Path) -> None:
    """Access records lose their query string, others are scrubbed, with the filter
    installed the way ``alphapulse serve`` installs it."""
    config = uvicorn_log_config((TOKEN,))
    assert all(h["filters"] == ["scrub"] for h in config["handlers"].values())
    flt = ScrubFilter((TOKEN,))
    access = logging.LogRecord(
        "uvicorn.access", 20, "x", 1, '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", f"/runs?token={TOKEN}", "1.1", 401), None,
    )  # fmt: skip
    assert flt.filter(access) and access.args == ("1.2.3.4:5", "GET", "/runs", "1.1", 401)
    other = logging.LogRecord("x", 40, "x", 1, "header %s", (f"Bearer {TOKEN}",), None)
    assert flt.filter(other) and TOKEN not in other.getMessage()


def test_request_logs_of_the_app_hold_no_token(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert client.get(f"/runs?token={TOKEN}").status_code == 401
    assert client.get(f"/runs?access_token={TOKEN}", headers=AUTH).status_code == 200
    server = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert any("rejected unauthenticated GET /runs" in m for m in server)
    assert not any(TOKEN in m for m in server)
