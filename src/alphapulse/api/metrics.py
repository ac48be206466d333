"""Prometheus instrumentation on a per-instance registry (no process-global state).

``Metrics`` is what the engine side calls (the API's backtests at the end of each run,
the paper runtime per bar); ``HttpMetrics`` is ASGI middleware timing every request.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Trading and HTTP metrics registered on their own ``CollectorRegistry``."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r, s = self.registry, ["strategy"]
        self._bars = Counter("alphapulse_bars_processed", "Bars processed", s, registry=r)
        self._signals = Counter("alphapulse_signals", "Signals emitted", s, registry=r)
        self._orders = Counter("alphapulse_orders", "Orders submitted", s, registry=r)
        self._fills = Counter("alphapulse_fills", "Fills booked", s, registry=r)
        self._rejections = Counter(
            "alphapulse_rejections", "Orders rejected", [*s, "reason"], registry=r
        )
        self._feed_rejections = Counter(
            "alphapulse_feed_rejections",
            "Live bars dropped by the feed, by reason (and symbol of the config)",
            ["reason", "symbol"],
            registry=r,
        )
        self._value = Gauge("alphapulse_portfolio_value", "Portfolio value (equity)", s, registry=r)
        self._exposure = Gauge(
            "alphapulse_exposure",
            "Gross (sum |position value|) or net position value over equity",
            [*s, "side"],
            registry=r,
        )
        self._latency = Histogram(
            "alphapulse_decision_latency_seconds",
            "Bar arrival to orders submitted",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._lag = Gauge(
            "alphapulse_feed_lag_seconds", "Wall clock minus last bar time", registry=r
        )
        self._backtests = Counter(
            "alphapulse_backtests", "Backtest runs ended, by status", ["status"], registry=r
        )
        self._running = Gauge("alphapulse_backtests_running", "Backtest jobs running", registry=r)
        self._http = Counter(
            "alphapulse_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self._http_time = Histogram(
            "alphapulse_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )

    # -- trading ------------------------------------------------------------------------
    def bar_processed(self, strategy: str, n: int = 1) -> None:
        """``n`` bars went through ``strategy``."""
        self._bars.labels(strategy).inc(n)

    def signal(self, strategy: str, n: int = 1) -> None:
        """``strategy`` emitted ``n`` signals."""
        self._signals.labels(strategy).inc(n)

    def order(self, strategy: str, n: int = 1) -> None:
        """``strategy`` submitted ``n`` orders."""
        self._orders.labels(strategy).inc(n)

    def fill(self, strategy: str, n: int = 1) -> None:
        """``n`` fills were booked for ``strategy``."""
        self._fills.labels(strategy).inc(n)

    def rejection(self, strategy: str, reason: str = "rejected", n: int = 1) -> None:
        """``n`` orders of ``strategy`` were rejected (by risk or the venue)."""
        self._rejections.labels(strategy, reason).inc(n)

    def feed_rejection(self, reason: str, symbol: str = "", n: int = 1) -> None:
        """The live feed dropped ``n`` bars of ``symbol`` ("": a whole row) for ``reason``
        (``late``, ``invalid``, ``off_grid``, ``duplicate``, ``conflict``, ``future``,
        ``stale``: ``docs/paper.md``)."""
        self._feed_rejections.labels(reason, symbol).inc(n)

    def portfolio_value(self, strategy: str, value: float) -> None:
        """The current equity of ``strategy``'s portfolio."""
        self._value.labels(strategy).set(value)

    def exposure(self, strategy: str, gross: float, net: float) -> None:
        """``strategy``'s gross and net exposure as fractions of its equity."""
        self._exposure.labels(strategy, "gross").set(gross)
        self._exposure.labels(strategy, "net").set(net)

    def decision_latency(self, seconds: float) -> None:
        """Time from a bar's arrival to its orders being submitted."""
        self._latency.observe(seconds)

    def feed_lag(self, seconds: float) -> None:
        """How far the live feed is behind the wall clock."""
        self._lag.set(seconds)

    # -- backtest jobs and HTTP -----------------------------------------------------------
    def backtest_started(self) -> None:
        """A backtest job began."""
        self._running.inc()

    def backtest_ended(self, status: str) -> None:
        """A backtest job ended (``finished`` or ``failed``)."""
        self._running.dec()
        self._backtests.labels(status).inc()

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request served."""
        self._http.labels(method, route, str(status)).inc()
        self._http_time.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


class HttpMetrics:
    """ASGI middleware: request count and latency labelled by route template (bounded
    cardinality: unmatched paths count as ``<unmatched>``)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or "<unmatched>"
            self.metrics.http_request(scope["method"], path, code, time.perf_counter() - start)
