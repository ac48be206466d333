"""Alert rules: which anomalies become alerts (minimum severity, per-symbol cooldown,
de-duplication). Pure state, no I/O: sinks deliver what ``AlertRules.filter`` passes."""

from __future__ import annotations

from alphapulse.anomaly.config import AlertConfig, Severity
from alphapulse.anomaly.records import Anomaly


class AlertRules:
    """At least ``min_severity``; one alert per (symbol, type) per ``cooldown_bars`` bars
    unless the severity rises; an identical anomaly (same bar, symbol, type) only once."""

    def __init__(self, cfg: AlertConfig) -> None:
        self.cfg = cfg
        self.min_severity = Severity.parse(cfg.min_severity)
        self._last: dict[tuple[str, str], tuple[int, Severity]] = {}  # -> (bar, severity)
        self._seen: set[tuple[int, str, str]] = set()  # keys alerted at the latest bar
        self.suppressed = 0

    def filter(self, anomalies: list[Anomaly], bar: int) -> list[Anomaly]:
        """The anomalies of bar number ``bar`` that should alert (bars in time order; a
        bar delivered twice, e.g. on a replay, does not alert twice)."""
        out = []
        for a in anomalies:
            if not any(k[0] == a.ts_ns for k in self._seen):
                self._seen = set()
            if a.severity < self.min_severity:
                continue
            key = (a.ts_ns, a.symbol, a.type)
            if key in self._seen:
                self.suppressed += 1
                continue
            self._seen.add(key)
            prev = self._last.get((a.symbol, a.type))
            if (
                prev is not None
                and bar - prev[0] <= self.cfg.cooldown_bars
                and a.severity <= prev[1]
            ):
                self.suppressed += 1
                continue
            self._last[(a.symbol, a.type)] = (bar, a.severity)
            out.append(a)
        return out
