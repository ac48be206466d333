"""The three services as separate processes on this machine's PostgreSQL and Redis:
``ingest`` replays a feed onto the bus, ``trade`` runs the engines from it, ``serve``
shows the orders and fills. Killing ``trade`` with SIGKILL and restarting it loses and
repeats nothing (the fills equal a backtest of the same bars); a stalled ``ingest``
turns ``trade``'s feed freshness stale (the ``DataStale`` alert's metric)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from alphapulse.config import parse_config
from alphapulse.engine.runner import run_backtest
from alphapulse.live.journal import run_id_for

pytestmark = pytest.mark.postgres
CLI = str(Path(sys.executable).with_name("alphapulse"))
DAY_SECONDS = 0.03  # one day of bars replays in this many seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def _wait(what: str, cond: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _metric(body: str, name: str) -> float:
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def procs() -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    running: dict[str, subprocess.Popen[bytes]] = {}
    yield running
    for p in running.values():
        if p.poll() is None:
            p.kill()
        p.wait(10)


def test_ingest_trade_serve(
    shared_data: Path, tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str,
    procs: dict[str, subprocess.Popen[bytes]],
) -> None:  # fmt: skip
    session = f"svc-{uuid.uuid4().hex[:8]}"
    raw = {
        "name": "svc",
        "data": {
            "source": "sp500_daily_2013_2018",
            "symbols": ["AAPL", "MSFT", "XOM"],
            "start": "2015-01-01",
            "end": "2015-06-30",
            "root": str(shared_data),
        },
        "strategies": [
            {"strategy": "sma_cross", "name": "sma", "params": {"fast": 3, "slow": 10}},
            {"strategy": "mean_reversion", "name": "mr", "params": {"window": 10}},
        ],
        "paper": {
            "feed": "replay",
            "speed": 86400 / DAY_SECONDS,
            "timeframe": "1d",
            "session": session,
        },
    }
    config = tmp_path / "svc.yaml"
    config.write_text(yaml.safe_dump(raw))
    token = secrets.token_urlsafe(32)
    env = {**os.environ, "ALPHAPULSE_DB_URL": pg_url, "ALPHAPULSE_BUS_URL": redis_url,
           "ALPHAPULSE_BUS_PREFIX": redis_prefix, "ALPHAPULSE_API_TOKEN": token}  # fmt: skip
    ports = {k: _free_port() for k in ("ingest", "trade", "api")}
    logs = {k: (tmp_path / f"{k}.log").open("ab") for k in ("ingest", "trade", "api")}

    def start(name: str, *args: str) -> None:
        procs[name] = subprocess.Popen(
            [CLI, *args], env=env, stdout=logs[name], stderr=subprocess.STDOUT, cwd=tmp_path
        )

    trade_args = ("trade", str(config), "--port", str(ports["trade"]), "--stale-after", "1.5")
    start("api", "serve", "--port", str(ports["api"]), "--log-level", "warning")
    start("trade", *trade_args)
    start("ingest", "ingest", str(config), "--port", str(ports["ingest"]))
    trade_url = f"http://127.0.0.1:{ports['trade']}"

    def bars_done() -> float:
        code, body = _get(f"{trade_url}/metrics")
        return _metric(body, 'alphapulse_bars_processed_total{strategy="sma"}') if code else 0

    # a stalled ingest: trade's feed goes stale (health 503, alphapulse_feed_stale 1)
    _wait("trade to process 10 bars", lambda: bars_done() >= 10, 40)
    procs["ingest"].send_signal(signal.SIGSTOP)
    _, body = _wait("a stale feed", lambda: (r := _get(f"{trade_url}/health"))[0] == 503 and r)
    assert json.loads(body)["status"] == "stale"
    assert _metric(_get(f"{trade_url}/metrics")[1], "alphapulse_feed_stale ") == 1.0
    procs["ingest"].send_signal(signal.SIGCONT)
    assert _wait("fresh again", lambda: _get(f"{trade_url}/health")[0] == 200) is True

    # more steps journaled, then SIGKILL in the middle of the replay and restart
    _wait("trade to process 40 bars", lambda: bars_done() >= 40, 20)
    procs["trade"].send_signal(signal.SIGKILL)
    procs["trade"].wait(10)
    start("trade", *trade_args)
    assert procs["ingest"].wait(40) == 0
    # every bar went through the engines once: the fills equal a backtest's
    cfg = parse_config(raw)
    expected = run_backtest(cfg, workers=1)
    n_bars = len(expected["sma"].equity)
    api = f"http://127.0.0.1:{ports['api']}"
    for label, r in expected.items():
        rid = run_id_for(session, label)

        def rows(table: str, rid: str = rid) -> list[dict[str, Any]]:
            code, body = _get(f"{api}/runs/{rid}/{table}?limit=1000", token)
            return json.loads(body)["items"] if code == 200 else []

        _wait(f"{label}: all steps", lambda rows=rows: len(rows("portfolio")) == n_bars, 30)
        fills = rows("fills")
        assert len(fills) == len(r.fills) > 0
        assert [(f["symbol"], f["quantity"], f["price"]) for f in fills] == [
            (f.symbol, f.quantity, f.price) for f in r.fills
        ]
        assert len(rows("orders")) == len(r.orders)
    ingest_metrics = _get(f"http://127.0.0.1:{ports['ingest']}/metrics")
    assert ingest_metrics[0] == 0  # ingest exited at the end of its feed
    metrics = _get(f"{trade_url}/metrics")[1]
    assert _metric(metrics, "process_resident_memory_bytes") > 10e6
    assert _metric(metrics, "process_cpu_seconds_total") > 0
    procs["trade"].send_signal(signal.SIGTERM)
    assert procs["trade"].wait(20) == 0
