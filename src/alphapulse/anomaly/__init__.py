"""Market anomaly detection (``docs/anomalies.md``): causal detectors over cross-sections
(price, volume, stale, bad ticks, divergence, IsolationForest patterns), severities,
alerts and sinks."""

from __future__ import annotations

from alphapulse.anomaly.config import AnomalyConfig, Severity
from alphapulse.anomaly.detector import AnomalyDetector, scan, scan_panel
from alphapulse.anomaly.records import Anomaly, to_frame

__all__ = [
    "Anomaly",
    "AnomalyConfig",
    "AnomalyDetector",
    "Severity",
    "scan",
    "scan_panel",
    "to_frame",
]
