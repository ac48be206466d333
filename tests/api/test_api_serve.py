"""``alphapulse serve``: options, the missing-token error and a real server on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from alphapulse.cli import app
from alphapulse.core.errors import ConfigError

from .conftest import AUTH, TOKEN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_refuses_a_short_token(tmp_path: Path) -> None:
    env = {**os.environ, "ALPHAPULSE_API_TOKEN": "tiny-secret-value"}
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", "serve"]
    res = subprocess.run(
        [*cmd, "--env-file", str(tmp_path / "none.env")], env=env, capture_output=True, timeout=60
    )
    assert res.returncode == 2 and res.stdout == b""
    lines = res.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "--gen-token" in lines[0] and "tiny-secret" not in lines[0]


def test_serve_help_and_missing_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = CliRunner().invoke(app, ["serve", "--help"])
    assert res.exit_code == 0 and "--port" in res.output and "--db" in res.output
    monkeypatch.delenv("ALPHAPULSE_API_TOKEN", raising=False)
    res = CliRunner().invoke(app, ["serve", "--env-file", str(tmp_path / "none.env")])
    assert isinstance(res.exception, ConfigError)
    assert "ALPHAPULSE_API_TOKEN is not set" in str(res.exception)


def test_serve_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ALPHAPULSE_API_TOKEN": TOKEN, "ALPHAPULSE_API_JOB_MODE": "thread"}
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", "serve"]
    args = ["--port", str(port), "--db", str(tmp_path / "s.sqlite"), "--log-level", "info"]
    proc = subprocess.Popen(
        [*cmd, *args], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        assert httpx.get(f"{base}/runs").status_code == 401
        assert httpx.get(f"{base}/runs?token={TOKEN}").status_code == 401
        assert httpx.get(f"{base}/health?access_token={TOKEN}").status_code == 200
        assert httpx.get(f"{base}/runs", headers=AUTH).json()["total"] == 0
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert b'"GET /runs HTTP/1.1" 401' in out and b'"GET /health HTTP/1.1" 200' in out
    assert TOKEN.encode() not in out
