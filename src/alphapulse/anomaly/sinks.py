"""Where anomalies and alerts go: the log, a webhook (HTTP POST, retried, off the bar
loop's thread), the bus, and the run tables. No alert is dropped silently: a delivery
that fails after its retries is logged, counted (``alphapulse_alert_deliveries_total
{outcome="failed"}``) and kept in ``failed``."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any, Protocol

import pandas as pd

from alphapulse.anomaly.config import Severity, WebhookConfig
from alphapulse.anomaly.metrics import AnomalyMetrics
from alphapulse.anomaly.records import Anomaly

log = logging.getLogger("alphapulse.anomaly")
LEVELS = {
    Severity.LOW: logging.INFO,
    Severity.MEDIUM: logging.INFO,
    Severity.HIGH: logging.WARNING,
    Severity.CRITICAL: logging.ERROR,
}


class AlertSink(Protocol):
    name: str

    def send(self, alerts: list[Anomaly]) -> None: ...

    def close(self) -> None: ...


def payload(a: Anomaly, run: str = "") -> dict[str, Any]:
    """The JSON body of one alert."""
    return {
        "run": run,
        "timestamp": pd.Timestamp(a.ts_ns, unit="ns", tz="UTC").isoformat(),
        "ts_ns": a.ts_ns,
        "symbol": a.symbol,
        "type": a.type,
        "severity": a.severity.name,
        "score": a.score,
        "message": a.message,
        "values": a.values,
    }


class LogSink:
    """One log line per alert, at WARNING for HIGH and ERROR for CRITICAL."""

    name = "log"

    def __init__(self, metrics: AnomalyMetrics | None = None) -> None:
        self.metrics = metrics

    def send(self, alerts: list[Anomaly]) -> None:
        for a in alerts:
            log.log(
                LEVELS[a.severity],
                "anomaly %s %s %s: %s",
                a.severity.name,
                a.type,
                a.symbol,
                a.message,
            )
            if self.metrics is not None:
                self.metrics.delivery(self.name, "sent")

    def close(self) -> None:
        return None


class WebhookSink:
    """POSTs each alert as JSON from a background thread: ``retries`` more tries after a
    failure (timeout, connection error or a non-2xx answer), backoff doubling."""

    name = "webhook"

    def __init__(
        self, cfg: WebhookConfig, metrics: AnomalyMetrics | None = None, run: str = ""
    ) -> None:
        import httpx

        self.cfg = cfg
        self.metrics = metrics
        self.run = run
        self.failed: list[Anomaly] = []
        self.sent = 0
        self._client = httpx.Client(timeout=cfg.timeout)
        self._queue: queue.Queue[Anomaly | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="anomaly-webhook", daemon=True)
        self._thread.start()

    def send(self, alerts: list[Anomaly]) -> None:
        for a in alerts:
            self._queue.put(a)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued alert was delivered or failed; False on a timeout."""
        end = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < end:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self, wait: float | None = None) -> None:
        """Stop after the queued alerts, waiting at most ``wait`` seconds (default: two
        alerts' worth of tries, plus 5 s); what is still queued then is undelivered:
        kept in ``failed``, counted and logged, never lost silently."""
        self._queue.put(None)
        default = self.cfg.timeout * (self.cfg.retries + 1) * 2 + 5
        self._thread.join(default if wait is None else wait)
        left = []
        while True:
            try:
                a = self._queue.get_nowait()
            except queue.Empty:
                break
            if a is not None:
                left.append(a)
        if left:
            log.error("%d alerts undelivered when the webhook sink closed", len(left))
            self.failed.extend(left)
            for _ in left:
                self._count("failed")
        self._client.close()

    def _work(self) -> None:
        while True:
            a = self._queue.get()
            try:
                if a is None:
                    return
                self._deliver(a)
            finally:
                self._queue.task_done()

    def _deliver(self, a: Anomaly) -> None:
        body = json.dumps(payload(a, self.run))
        delay = self.cfg.backoff
        for attempt in range(self.cfg.retries + 1):
            if attempt:
                self._count("retried")
                time.sleep(delay)
                delay *= 2
            try:
                r = self._client.post(
                    self.cfg.url, content=body, headers={"content-type": "application/json"}
                )
                if 200 <= r.status_code < 300:
                    self.sent += 1
                    self._count("sent")
                    return
                why = f"HTTP {r.status_code}"
            except Exception as exc:  # timeouts, refused connections: retried
                why = f"{type(exc).__name__}: {exc}"
            log.warning(
                "alert webhook try %d failed (%s %s): %s", attempt + 1, a.type, a.symbol, why
            )
        self.failed.append(a)
        self._count("failed")
        log.error(
            "alert not delivered to the webhook after %d tries: %s", self.cfg.retries + 1, a.message
        )

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.delivery(self.name, outcome)


class BusSink:
    """Publishes every anomaly (not only alerts) as an ``AnomalyMsg``."""

    name = "bus"

    def __init__(self, bus: Any) -> None:
        self.bus = bus

    def send(self, alerts: list[Anomaly]) -> None:
        from alphapulse.bus import AnomalyMsg, Topic

        for a in alerts:
            detail = json.dumps({"severity": a.severity.name, "message": a.message, **a.values})
            self.bus.publish(
                Topic.ANOMALIES, AnomalyMsg(a.ts_ns, a.symbol, a.type, a.score, detail)
            )

    def close(self) -> None:
        return None


def store_frame(df: pd.DataFrame) -> pd.DataFrame:
    """An anomalies frame (``records.COLUMNS``) as rows of the ``anomalies`` table:
    ts, symbol, kind, score and a JSON detail with severity, message and values."""
    detail = [
        {"severity": sev, "message": msg, "values": json.loads(vals)}
        for sev, msg, vals in zip(df["severity"], df["message"], df["values"], strict=True)
    ]
    return pd.DataFrame(
        {
            "timestamp": df["timestamp"],
            "symbol": df["symbol"],
            "kind": df["type"],
            "score": df["score"],
            "detail": detail,
        }
    )
