"""Prometheus counters of anomalies and alert delivery, on a given registry (the API's
``Metrics.registry`` or a new one): no process-global state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from alphapulse.anomaly.records import Anomaly


class AnomalyMetrics:
    """``alphapulse_anomalies_total`` / ``alphapulse_alerts_total`` by type and severity,
    ``alphapulse_alert_deliveries_total`` by sink and outcome (sent, retried, failed)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r, labels = self.registry, ["type", "severity"]
        self._anomalies = Counter("alphapulse_anomalies", "Anomalies detected", labels, registry=r)
        self._alerts = Counter("alphapulse_alerts", "Anomaly alerts raised", labels, registry=r)
        self._deliveries = Counter(
            "alphapulse_alert_deliveries",
            "Alert deliveries by sink and outcome (sent, retried, failed)",
            ["sink", "outcome"],
            registry=r,
        )

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
