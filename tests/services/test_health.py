"""A service's /health flips to 503 ``stale`` once no bar came for ``stale_after``
seconds; /metrics carries the process collector and the freshness gauges."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from alphapulse.bus.memory import InProcessBus
from alphapulse.bus.messages import CrossSectionMsg
from alphapulse.core.errors import ConfigError
from alphapulse.services.bus_source import BusSource
from alphapulse.services.health import Freshness, HealthServer, service_registry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paper.yaml"


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_health_flips_when_the_feed_stalls() -> None:
    now = [1000.0]
    registry = service_registry("trade")
    fresh = Freshness(registry, stale_after=5.0, clock=lambda: now[0])
    server = HealthServer(registry, fresh.check, 0)
    url = f"http://127.0.0.1:{server.port}"
    try:
        fresh.mark()
        now[0] += 4.0
        assert _get(f"{url}/health") == (200, b'{"status": "ok", "feed_age": 4.0}')
        now[0] += 2.0
        code, body = _get(f"{url}/health")
        assert (code, json.loads(body)["status"]) == (503, "stale")
        text = _get(f"{url}/metrics")[1].decode()
        assert "alphapulse_feed_stale 1.0" in text
        assert "alphapulse_feed_age_seconds 6.0" in text
        assert 'alphapulse_service_up{service="trade"} 1.0' in text
        assert "process_resident_memory_bytes" in text
        assert _get(f"{url}/nothing")[0] == 404
    finally:
        server.close()


def _cross(ts: int, symbols: tuple[str, ...], close: list[float]) -> CrossSectionMsg:
    a = np.array(close)
    return CrossSectionMsg(ts, "1d", symbols, a, a, a, a, a * 0 + 100)


def test_bus_source_skips_journaled_and_repeated_bars() -> None:
    bus = InProcessBus()
    stop = threading.Event()
    src = BusSource(bus, "feed", "g", "c", ("A", "B"), stop=stop, after_ns=1, poll_seconds=0.05)
    rows = src.rows()
    first = bus.subscribe("feed", "g", "c")  # the group exists before publishing
    first.close()
    for ts, syms, close in [(1, ("A", "B"), [1.0, 2.0]), (2, ("B", "A"), [20.0, 10.0]),
                            (2, ("A", "B"), [9.0, 9.0]), (3, ("A",), [30.0])]:  # fmt: skip
        bus.publish("feed", _cross(ts, syms, close))
    got = [next(rows), next(rows)]
    stop.set()
    assert [r.ts_ns for r in got] == [2, 3]
    np.testing.assert_array_equal(got[0].fields["close"], [10.0, 20.0])  # mapped by symbol
    np.testing.assert_array_equal(got[1].fields["close"], [30.0, np.nan])


def test_health_port_taken_is_a_config_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            HealthServer(service_registry("ingest"), lambda: (True, {}), port)


@pytest.mark.parametrize("service", ["ingest", "trade"])
def test_service_on_a_taken_port_exits_with_one_line(service: str, tmp_path: Path) -> None:
    """A second service on the same --port (e.g. two ingests): ``error: ...``, exit 2."""
    cli = str(Path(sys.executable).with_name("alphapulse"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = [cli, service, str(EXAMPLE), "--bus", "redis://127.0.0.1:1/0", "--port", str(port)]
        args += ["--db", f"sqlite:///{tmp_path / 'a.sqlite'}"]
        r = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: --host/--port: cannot serve on 127.0.0.1:{port}: Address already in use"
    ]
