"""Market anomaly detection (``docs/anomalies.md``): causal detectors over cross-sections
(price, volume, stale, bad ticks, divergence, IsolationForest patterns), severities,
alerts and sinks. Only the config is imported here (run configs load it); the detectors
live in ``anomaly.detector``."""

from __future__ import annotations

from alphapulse.anomaly.config import AnomalyConfig, Severity

__all__ = ["AnomalyConfig", "Severity"]
