"""Paper sessions in one API server share its metrics registry: a second session's
``AnomalyMonitor`` on that registry must count on it too, not fail to start (it raised
``DuplicateTimeseries`` when registering the anomaly counters again)."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry

from alphapulse.anomaly import AnomalyConfig
from alphapulse.anomaly.monitor import AnomalyMonitor
from alphapulse.engine.bars import BarSlice

DAY = 86_400_000_000_000
CFG = AnomalyConfig(min_periods=5, pattern={"enabled": False}, alerts={"min_severity": "high"})


def _session(mon: AnomalyMonitor, seed: int) -> None:
    """40 daily bars of 3 symbols; symbol B prints a 40-sigma close at bar 30."""
    rng = np.random.default_rng(seed)
    price = np.full(3, 100.0)
    for t in range(40):
        price = price * np.exp(rng.normal(0, 0.01, 3))
        close = price.copy()
        if t == 30:
            close[1] *= 1.5
        mon.on_bar(BarSlice(t, t * DAY, t, close, close, close, close, np.full(3, 1e6)))
    mon.close()


def test_second_monitor_on_the_same_registry_counts_there() -> None:
    registry = CollectorRegistry()
    first = AnomalyMonitor(CFG, ("A", "B", "C"), registry=registry)
    _session(first, 0)
    second = AnomalyMonitor(CFG, ("A", "B", "C"), registry=registry)  # raised here
    _session(second, 1)
    found = first.found + second.found
    assert any(a.symbol == "B" and a.type == "price_jump" for a in second.found)
    for kind in {a.type for a in found}:
        for sev in {a.severity for a in found if a.type == kind}:
            labels = {"type": kind, "severity": sev.name}
            want = sum(a.type == kind and a.severity == sev for a in found)
            assert registry.get_sample_value("alphapulse_anomalies_total", labels) == want
    # both monitors' counters are the registry's, whichever object reads them
    assert first.metrics.value(
        "alphapulse_alerts_total", type="price_jump", severity="CRITICAL"
    ) == second.metrics.value("alphapulse_alerts_total", type="price_jump", severity="CRITICAL")
    assert (
        second.metrics.value("alphapulse_alerts_total", type="price_jump", severity="CRITICAL") == 2
    )


def test_monitors_on_separate_registries_count_apart() -> None:
    one, two = CollectorRegistry(), CollectorRegistry()
    _session(AnomalyMonitor(CFG, ("A", "B", "C"), registry=one), 0)
    AnomalyMonitor(CFG, ("A", "B", "C"), registry=two)
    labels = {"type": "price_jump", "severity": "CRITICAL"}
    assert one.get_sample_value("alphapulse_anomalies_total", labels) == 1
    assert two.get_sample_value("alphapulse_anomalies_total", labels) is None
