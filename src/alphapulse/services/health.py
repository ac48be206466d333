"""A service's liveness and metrics: ``GET /health`` (200 ``ok`` or 503 with the reason,
JSON) and ``GET /metrics`` (Prometheus text) on a small threaded HTTP server, plus the
process collector (CPU seconds, resident memory, open files) and data freshness."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from alphapulse.core.errors import ConfigError

#: ``(healthy, details)`` of a service right now.
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


def service_registry(service: str) -> CollectorRegistry:
    """A registry with the process (``process_cpu_seconds_total``,
    ``process_resident_memory_bytes``, ...) and platform collectors and an info gauge."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    up = Gauge("alphapulse_service_up", "1 while the service runs", ["service"], registry=registry)
    up.labels(service).set(1)
    return registry


class Freshness:
    """When the last bar arrived (wall clock): ``alphapulse_feed_age_seconds`` and
    ``alphapulse_feed_stale`` (1 once no bar came for ``stale_after`` seconds; the
    ``DataStale`` alert in ``deploy/service_alert_rules.yml``)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        stale_after: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stale_after = stale_after
        self.clock = clock
        self.started = clock()
        self.last: float | None = None
        self.bars = Counter("alphapulse_feed_bars", "Cross-sections received", registry=registry)
        age = Gauge("alphapulse_feed_age_seconds", "Seconds since the last bar", registry=registry)
        age.set_function(self.age)
        stale = Gauge("alphapulse_feed_stale", "1: no bar for stale_after s", registry=registry)
        stale.set_function(lambda: float(self.stale()))
        limit = Gauge("alphapulse_feed_stale_after_seconds", "Staleness limit", registry=registry)
        limit.set(stale_after)

    def mark(self) -> None:
        """A bar arrived now."""
        self.last = self.clock()
        self.bars.inc()

    def age(self) -> float:
        """Seconds since the last bar (since the start before the first one)."""
        return self.clock() - (self.last if self.last is not None else self.started)

    def stale(self) -> bool:
        return self.age() > self.stale_after

    def check(self) -> tuple[bool, dict[str, Any]]:
        """A :data:`HealthCheck`: unhealthy (``stale``) once the feed stopped."""
        stale = self.stale()
        return not stale, {"status": "stale" if stale else "ok", "feed_age": round(self.age(), 3)}


def feed_rejections(registry: CollectorRegistry) -> Callable[[str, str], None]:
    """``alphapulse_feed_rejections_total{reason, symbol}`` on ``registry`` and the hook
    that counts a dropped bar (``live.bars.RejectHook``) for ingest; trade counts them
    through its ``api.metrics.Metrics``, which holds the same counter."""
    counter = Counter(
        "alphapulse_feed_rejections",
        "Live bars dropped by the feed, by reason (and symbol of the config)",
        ["reason", "symbol"],
        registry=registry,
    )

    def rejected(reason: str, symbol: str) -> None:
        counter.labels(reason, symbol).inc()

    return rejected


class HealthServer:
    """Serves ``/health`` and ``/metrics`` on ``host:port`` (port 0: any free one) in a
    daemon thread until :meth:`close`; :class:`ConfigError` if it cannot listen there."""

    def __init__(
        self, registry: CollectorRegistry, check: HealthCheck, port: int, host: str = "127.0.0.1"
    ) -> None:
        handler = _handler(registry, check)
        try:
            self.server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:  # port taken, unknown host: the service cannot start
            reason = exc.strerror or str(exc)
            raise ConfigError(f"--host/--port: cannot serve on {host}:{port}: {reason}") from exc
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(registry: CollectorRegistry, check: HealthCheck) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path.split("?")[0] == "/health":
                ok, body = check()
                self._send(200 if ok else 503, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b'{"detail": "not found"}', "application/json")

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # no access log
            return

    return Handler
