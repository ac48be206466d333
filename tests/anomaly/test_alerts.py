"""Alert rules, sinks (log, webhook against a local receiver, bus) and the monitor."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest
from pydantic import ValidationError

from alphapulse.anomaly import AnomalyConfig, Severity
from alphapulse.anomaly.alerts import AlertRules
from alphapulse.anomaly.config import AlertConfig, WebhookConfig
from alphapulse.anomaly.metrics import AnomalyMetrics
from alphapulse.anomaly.monitor import AnomalyMonitor
from alphapulse.anomaly.records import Anomaly
from alphapulse.anomaly.sinks import LogSink, WebhookSink
from alphapulse.bus import AnomalyMsg, Topic
from alphapulse.bus.memory import InProcessBus
from alphapulse.engine.bars import BarSlice


def _a(ts: int, sym: str = "AAPL", sev: Severity = Severity.HIGH, kind: str = "gap") -> Anomaly:
    return Anomaly(ts, sym, kind, sev, 9.0, f"{sym} {kind} at {ts}", {"gap": 0.1, "sigma": 0.01})


def test_rules_severity_cooldown_and_dedup() -> None:
    rules = AlertRules(AlertConfig(min_severity="high", cooldown_bars=3))
    assert rules.filter([_a(0, sev=Severity.MEDIUM)], 0) == []  # below the minimum
    assert len(rules.filter([_a(1), _a(1, "MSFT")], 1)) == 2
    assert rules.filter([_a(1)], 1) == []  # the same anomaly delivered again
    assert rules.filter([_a(2)], 2) == []  # cooling down
    assert len(rules.filter([_a(3, sev=Severity.CRITICAL)], 3)) == 1  # worse goes through
    assert len(rules.filter([_a(4, kind="price_jump")], 4)) == 1  # other type: own cooldown
    assert rules.filter([_a(6)], 6) == []  # CRITICAL at bar 3 still cools
    assert len(rules.filter([_a(7)], 7)) == 1  # cooldown over
    assert rules.suppressed == 3


class _Receiver(BaseHTTPRequestHandler):
    fail_first = 0
    hits: ClassVar[list[dict]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        with self.lock:
            type(self).hits.append(body)
            failing = len(type(self).hits) <= type(self).fail_first
        self.send_response(503 if failing else 200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"hits": [], "fail_first": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def test_webhook_retries_until_delivered(receiver) -> None:
    url, handler = receiver
    handler.fail_first = 2
    metrics = AnomalyMetrics()
    sink = WebhookSink(WebhookConfig(url=url, retries=3, backoff=0.01), metrics, run="r1")
    sink.send([_a(1_700_000_000_000_000_000)])
    assert sink.flush(10)
    sink.close()
    assert len(handler.hits) == 3 and sink.sent == 1 and not sink.failed
    assert handler.hits[-1]["severity"] == "HIGH" and handler.hits[-1]["run"] == "r1"
    assert handler.hits[-1]["timestamp"].startswith("2023-11-14T22:13:20")
    deliveries = "alphapulse_alert_deliveries_total"
    assert metrics.value(deliveries, sink="webhook", outcome="retried") == 2
    assert metrics.value(deliveries, sink="webhook", outcome="sent") == 1


def test_failed_delivery_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    metrics = AnomalyMetrics()
    cfg = WebhookConfig(url="http://127.0.0.1:9/closed", retries=1, backoff=0.0, timeout=0.5)
    sink = WebhookSink(cfg, metrics)
    with caplog.at_level(logging.WARNING, "alphapulse.anomaly"):
        sink.send([_a(1), _a(2)])
        assert sink.flush(10)
    sink.close()
    assert [a.ts_ns for a in sink.failed] == [1, 2]
    assert metrics.value("alphapulse_alert_deliveries_total", sink="webhook", outcome="failed") == 2
    assert sum("not delivered" in r.message for r in caplog.records) == 2


def test_log_sink_levels(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "alphapulse.anomaly"):
        LogSink().send([_a(1, sev=Severity.CRITICAL), _a(2, sev=Severity.HIGH)])
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.WARNING]
    assert "CRITICAL gap AAPL" in caplog.records[0].getMessage()


def test_monitor_publishes_counts_and_alerts(receiver) -> None:
    url, handler = receiver
    cfg = AnomalyConfig(
        min_periods=5,
        pattern={"enabled": False},
        alerts={"min_severity": "critical", "webhook": {"url": url, "backoff": 0.0}},
    )
    bus = InProcessBus()
    sub = bus.subscribe(Topic.ANOMALIES, "audit", "a1")
    mon = AnomalyMonitor(cfg, ("A", "B", "C"), bus=bus)
    rng = np.random.default_rng(0)
    price = np.full(3, 100.0)
    for t in range(40):
        price = price * np.exp(rng.normal(0, 0.01, 3))
        close = price.copy()
        if t == 30:
            close[1] *= 1.5  # a 40-sigma print in B
        vol = np.full(3, 1e6)
        bar = BarSlice(t, t * 86_400_000_000_000, t, close, close, close, close, vol)
        mon.on_bar(bar)
    assert handler is not None
    mon.sinks[-1].flush(10)  # type: ignore[attr-defined]
    mon.close()
    msgs = [d.message for d in sub.poll(max_count=100)]
    assert msgs and all(isinstance(m, AnomalyMsg) for m in msgs)
    assert any(m.symbol == "B" and m.kind == "price_jump" for m in msgs)
    assert {h["symbol"] for h in handler.hits} == {"B"}
    crit = {"severity": "CRITICAL"}
    assert mon.metrics.value("alphapulse_alerts_total", type="price_jump", **crit) == 1
    assert mon.metrics.value("alphapulse_anomalies_total", type="bad_tick", **crit) == 1


def test_alerts_still_queued_at_close_are_kept_as_failed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker is stuck on the first alert when the sink closes: the rest are counted,
    logged and kept in ``failed`` (they were dropped with the daemon thread)."""
    stuck, release = threading.Event(), threading.Event()

    def deliver(self: WebhookSink, a: Anomaly) -> None:
        stuck.set()
        release.wait(30)

    monkeypatch.setattr(WebhookSink, "_deliver", deliver)
    metrics = AnomalyMetrics()
    sink = WebhookSink(WebhookConfig(url="http://127.0.0.1:9/x"), metrics)
    sink.send([_a(t) for t in range(5)])
    assert stuck.wait(30)
    with caplog.at_level(logging.ERROR, "alphapulse.anomaly"):
        sink.close(wait=0.05)
    release.set()
    assert [a.ts_ns for a in sink.failed] == [1, 2, 3, 4]
    assert metrics.value("alphapulse_alert_deliveries_total", sink="webhook", outcome="failed") == 4
    assert any("4 alerts undelivered" in r.getMessage() for r in caplog.records)


def _bars(n: int) -> list[BarSlice]:
    rng = np.random.default_rng(0)
    price, out = np.full(3, 100.0), []
    for t in range(n):
        price = price * np.exp(rng.normal(0, 0.01, 3))
        close = price.copy()
        if t == 30:
            close[1] *= 1.5
        out.append(
            BarSlice(t, t * 86_400_000_000_000, t, close, close, close, close, np.full(3, 1e6))
        )
    return out


def test_a_bar_delivered_twice_is_seen_once() -> None:
    """The same bar again (a feed's retry) is skipped: no made-up gap from the bar's own
    close, and the state goes on as if it came once."""
    cfg = AnomalyConfig(min_periods=5, pattern={"enabled": False})
    once, twice = AnomalyMonitor(cfg, ("A", "B", "C")), AnomalyMonitor(cfg, ("A", "B", "C"))
    bars = _bars(40)
    for bar in bars:
        once.on_bar(bar)
        twice.on_bar(bar)
        assert twice.on_bar(bar) == []
    assert once.found == twice.found and any(a.symbol == "B" for a in once.found)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"min_severity": "high", "alerts": {"min_severity": "medium"}}, "would never be raised"),
        ({"reaction": {"types": ["price_jmp"]}}, "price_jmp: not an anomaly type"),
        ({"alerts": {"webhook": {"url": "http://x", "backoff": "Infinity"}}}, "finite"),
        ({"alerts": {"webhook": {"url": "http://x", "timeout": float("inf")}}}, "finite"),
        ({"winsor": float("nan")}, "finite"),
    ],
)
def test_settings_that_silence_alerts_or_cannot_work_are_refused(raw: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AnomalyConfig.model_validate(raw)
