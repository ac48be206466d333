"""Prometheus counters of anomalies and alert delivery, on a given registry (the API's
``Metrics.registry`` or a new one): no process-global counts. Monitors on one registry
(paper sessions one after another, or side by side, in one API server) share its
counters (kept per registry, weakly): a registry takes each metric name once."""

from __future__ import annotations

import threading
import weakref

from prometheus_client import CollectorRegistry, Counter

from alphapulse.anomaly.records import Anomaly

_Counters = tuple[Counter, Counter, Counter]
_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, _Counters] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _counters(r: CollectorRegistry) -> _Counters:
    """The registry's anomaly, alert and delivery counters, registered on first use."""
    with _LOCK:
        got = _BY_REGISTRY.get(r)
        if got is None:
            labels = ["type", "severity"]
            got = (
                Counter("alphapulse_anomalies", "Anomalies detected", labels, registry=r),
                Counter("alphapulse_alerts", "Anomaly alerts raised", labels, registry=r),
                Counter(
                    "alphapulse_alert_deliveries",
                    "Alert deliveries by sink and outcome (sent, retried, failed)",
                    ["sink", "outcome"],
                    registry=r,
                ),
            )
            _BY_REGISTRY[r] = got
        return got


class AnomalyMetrics:
    """``alphapulse_anomalies_total`` / ``alphapulse_alerts_total`` by type and severity,
    ``alphapulse_alert_deliveries_total`` by sink and outcome (sent, retried, failed)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._anomalies, self._alerts, self._deliveries = _counters(self.registry)

    def detected(self, anomalies: list[Anomaly]) -> None:
        for a in anomalies:
            self._anomalies.labels(a.type, a.severity.name).inc()

    def alerted(self, alerts: list[Anomaly]) -> None:
        for a in alerts:
            self._alerts.labels(a.type, a.severity.name).inc()

    def delivery(self, sink: str, outcome: str) -> None:
        self._deliveries.labels(sink, outcome).inc()

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent), e.g. for tests and ``/metrics``."""
        got = self.registry.get_sample_value(name, labels)
        return float(got) if got is not None else 0.0
