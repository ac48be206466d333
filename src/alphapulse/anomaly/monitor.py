"""Real-time anomaly monitoring for paper trading: per bar, detect, count, publish every
anomaly on the bus and send the alerts the rules pass to the sinks. ``chain`` plugs it
into ``PaperRuntime(on_step=...)``; a monitor failure is logged, never raised."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
from prometheus_client import CollectorRegistry

from alphapulse.anomaly.alerts import AlertRules
from alphapulse.anomaly.config import AnomalyConfig
from alphapulse.anomaly.detector import AnomalyDetector
from alphapulse.anomaly.metrics import AnomalyMetrics
from alphapulse.anomaly.records import Anomaly, to_frame
from alphapulse.anomaly.sinks import AlertSink, BusSink, LogSink, WebhookSink
from alphapulse.engine.bars import BarSlice

log = logging.getLogger(__name__)
StepHook = Callable[[BarSlice], None]


class AnomalyMonitor:
    """Detector + metrics + bus + alert rules + sinks for one live universe."""

    def __init__(
        self,
        cfg: AnomalyConfig,
        symbols: tuple[str, ...],
        *,
        bus: Any = None,
        metrics: AnomalyMetrics | None = None,
        registry: CollectorRegistry | None = None,
        run: str = "",
        quiet_until: int | None = None,
    ) -> None:
        self.detector = AnomalyDetector(cfg, symbols)
        self.metrics = metrics if metrics is not None else AnomalyMetrics(registry)
        self.bus = BusSink(bus) if bus is not None else None
        self.rules = AlertRules(cfg.alerts) if cfg.alerts is not None else None
        self.sinks: list[AlertSink] = []
        if cfg.alerts is not None:
            if cfg.alerts.log:
                self.sinks.append(LogSink(self.metrics))
            if cfg.alerts.webhook is not None:
                self.sinks.append(WebhookSink(cfg.alerts.webhook, self.metrics, run))
        self.bars = 0
        self.found: list[Anomaly] = []
        self._last_ts: int | None = None
        self.quiet_until = quiet_until  # bars before it: a restart's replay, routed before

    def on_bar(self, bar: BarSlice) -> list[Anomaly]:
        """This bar's anomalies (at the config's minimum severity), after routing them;
        a bar at or before the last one seen (delivered again) is skipped. A bar before
        ``quiet_until`` (a restarted session replaying its journaled steps) is detected
        and passes the alert rules (their cooldowns stay as they were) but is neither
        counted, published nor alerted again."""
        if self._last_ts is not None and bar.ts_ns <= self._last_ts:
            log.warning("anomaly monitor: bar at %d already seen; skipped", bar.ts_ns)
            return []
        self._last_ts = bar.ts_ns
        found = self.detector.update(bar.ts_ns, bar.open, bar.close, bar.volume)
        self.bars += 1
        if not found:
            return found
        self.found.extend(found)
        quiet = self.quiet_until is not None and bar.ts_ns < self.quiet_until
        if not quiet:
            self.metrics.detected(found)
            if self.bus is not None:
                self.bus.send(found)
        if self.rules is not None:
            alerts = self.rules.filter(found, self.bars - 1)
            if alerts and not quiet:
                self.metrics.alerted(alerts)
                for sink in self.sinks:
                    sink.send(alerts)
        return found

    def chain(self, after: StepHook | None = None) -> StepHook:
        """A step hook that runs the monitor, then ``after``; errors are logged."""

        def hook(bar: BarSlice) -> None:
            try:
                self.on_bar(bar)
            except Exception as exc:  # monitoring must not stop trading
                log.error(
                    "anomaly monitor failed at %d: %s: %s", bar.ts_ns, type(exc).__name__, exc
                )
            if after is not None:
                after(bar)

        return hook

    def tables(self) -> dict[str, pd.DataFrame]:
        """``{"anomalies": frame}`` for ``write_outputs`` (what the session found)."""
        return {"anomalies": to_frame(self.found)}

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
