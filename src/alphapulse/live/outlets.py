"""What the paper runtime reports besides its journal, and the switches it obeys.

- :class:`Outlets`: each step's cross-section (stored in the ``bars`` table first when
  an ingestor is given; one that fails is tried again, in order, at the next step),
  each strategy's signals, new/changed orders, fills and risk events on the bus, and
  the Prometheus metrics (``api.metrics.Metrics``).
- :class:`StrategyControl`: the API's persisted on/off switches
  (``api.control.strategy_states``), read at most every ``interval`` seconds.

Topics: ``bars.cross`` and ``signals`` (``SignalMsg.source`` = strategy label) are
shared; orders, fills and risk events go to ``orders.<label>``, ``fills.<label>`` and
``risk.<label>`` (their messages do not name the strategy). Every message has an
idempotency key (``live/outbox.py``).

With a ``publisher`` (a persisted session) nothing is sent directly: the cross-section
goes to the outbox through ``bus`` (an ``OutboxBus``), the strategies' messages are
written by their journals (:meth:`Outlets.signal_messages`) and :meth:`Outlets.flush`
sends the outbox after each step.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from alphapulse.bus.base import Bus
from alphapulse.bus.ingest import BarIngestor
from alphapulse.bus.messages import CrossSectionMsg, RiskMsg, Topic
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.loop import Engine
from alphapulse.engine.stages import RiskEvent
from alphapulse.live.delta import DeltaTracker
from alphapulse.live.outbox import (
    Envelope,
    OutboxPublisher,
    delta_envelopes,
    regime_envelopes,
    signal_envelopes,
    strategy_topic,
)
from alphapulse.model.orders import OrderStatus

if TYPE_CHECKING:
    from alphapulse.api.metrics import Metrics
    from alphapulse.store import Store

__all__ = ["Outlets", "StrategyControl", "strategy_topic"]
log = logging.getLogger(__name__)


class Outlets:
    """Publishes and counts what the engines do. ``quiet_until``: steps before this bar
    time (a restart re-running stored steps) are neither published nor counted; the last
    stored step is published again (at-least-once: consumers tolerate duplicates)."""

    def __init__(
        self,
        symbols: tuple[str, ...],
        engines: dict[str, Engine],
        timeframe: str,
        *,
        bus: Bus | None = None,
        ingestor: BarIngestor | None = None,
        metrics: Metrics | None = None,
        bar_ns: int | None = None,
        quiet_until: int | None = None,
        publisher: OutboxPublisher | None = None,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.symbols = symbols
        self.engines = engines
        self.timeframe = timeframe
        self.bus = ingestor.bus if ingestor is not None else bus
        self.ingestor = ingestor
        self.metrics = metrics
        self.bar_ns = bar_ns  # a live feed's bar length: feed lag = now - bar end
        self.quiet_until = quiet_until
        self.wall_ns = wall_ns
        self.publisher = publisher
        self.trackers = {label: DeltaTracker(e) for label, e in engines.items()}
        self._unsent: list[CrossSectionMsg] = []  # cross-sections not stored/published yet

    @property
    def journaled(self) -> bool:
        """Whether the journals write the strategies' messages (to the outbox)."""
        return self.publisher is not None

    def signal_messages(self, label: str, bar: BarSlice) -> list[Envelope]:
        """Strategy ``label``'s signals of this step, for its journal."""
        if not self.journaled or self.quiet(bar.ts_ns):
            return []
        engine = self.engines[label]
        signals = signal_envelopes(label, bar.ts_ns, engine.last_signals, self.symbols)
        return signals + regime_envelopes(label, bar.ts_ns, engine.strategy)

    def flush(self) -> int:
        """Send the outbox (a persisted session); messages sent."""
        return 0 if self.publisher is None else self.publisher.flush()

    def quiet(self, ts_ns: int) -> bool:
        return self.quiet_until is not None and ts_ns < self.quiet_until

    def bars(self, bar: BarSlice) -> None:
        """Store (with an ingestor) and publish the step's cross-section, after those of
        earlier steps that failed: a failed one is kept and goes first next time."""
        if self.quiet(bar.ts_ns) or self.bus is None:
            return
        self._unsent.append(CrossSectionMsg.from_slice(bar, self.symbols, self.timeframe))
        self.send_unsent()

    def send_unsent(self) -> None:
        """Store and publish the cross-sections not sent yet, in order (raises at the
        first that fails, which stays first)."""
        while self._unsent and self.bus is not None:
            msg = self._unsent[0]
            if self.ingestor is not None:
                self.ingestor.on_cross_section(msg)
            else:
                key = f"{Topic.CROSS_SECTIONS}@{msg.ts_ns}"
                self.bus.publish(Topic.CROSS_SECTIONS, msg, key=key)
            del self._unsent[0]

    def strategy_step(self, label: str, bar: BarSlice) -> None:
        """Publish and count what strategy ``label`` did this step (even if it fails,
        the same changes are not handed out again)."""
        engine = self.engines[label]
        tracker = self.trackers[label]
        delta = tracker.peek()
        tracker.advance(delta)
        m = self.metrics
        if m is not None:
            equity, _, gross, net = engine.ledger.totals()
            m.portfolio_value(label, equity)
            scale = 1.0 / equity if equity > 0 else float("nan")
            m.exposure(label, gross * scale, net * scale)
        if self.quiet(bar.ts_ns):
            return
        signals = signal_envelopes(label, bar.ts_ns, engine.last_signals, self.symbols)
        rejected = [o for o in delta.orders if o.status == OrderStatus.REJECTED]
        if m is not None:
            m.bar_processed(label)
            if signals:
                m.signal(label, len(signals))
            if delta.new_orders:
                m.order(label, delta.new_orders)
            if delta.fills:
                m.fill(label, len(delta.fills))
            for o in rejected:
                m.rejection(label, o.reason.split(":", 1)[0] or "rejected")
        bus = self.bus
        if bus is None or self.journaled:
            return
        regimes = regime_envelopes(label, bar.ts_ns, engine.strategy)
        for env in signals + regimes + delta_envelopes(label, bar.ts_ns, delta):
            bus.publish(env.topic, env.message, key=env.key)

    def risk_event(self, label: str, event: RiskEvent) -> None:
        """Publish a runtime error of strategy ``label`` as a risk event."""
        if self.bus is not None:
            topic = strategy_topic(Topic.RISK, label)
            key = f"{topic}@runtime@{event.ts_ns}@{uuid.uuid4().hex}"
            self.bus.publish(topic, RiskMsg.from_event(event), key=key)

    def step_done(self, bar: BarSlice, latency_s: float | None) -> None:
        """The step's decision latency and, for live feeds, the feed lag."""
        m = self.metrics
        if m is None or self.quiet(bar.ts_ns):
            return
        if latency_s is not None:
            m.decision_latency(latency_s)
        if self.bar_ns is not None:
            m.feed_lag((self.wall_ns() - bar.ts_ns - self.bar_ns) / 1e9)


class StrategyControl:
    """Which strategies are switched off through the API, read from ``store`` at most
    every ``interval`` seconds (0: every step). A failed read keeps the last answer."""

    def __init__(
        self,
        store: Store,
        labels: list[str],
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.labels = labels
        self.interval = interval
        self.clock = clock
        self.off: frozenset[str] = frozenset()
        self._next: float | None = None

    def disabled(self) -> frozenset[str]:
        now = self.clock()
        if self._next is not None and now < self._next:
            return self.off
        self._next = now + self.interval
        from alphapulse.api.control import strategy_states

        try:
            states = strategy_states(self.store, self.labels)
        except Exception as exc:  # the database is down: keep the last answer
            log.warning("strategy switches unreadable: %s: %s", type(exc).__name__, exc)
            return self.off
        off = frozenset(label for label, on in states.items() if not on)
        for label in sorted(off - self.off):
            log.warning("%s: disabled through the API, not trading", label)
        for label in sorted(self.off - off):
            log.warning("%s: enabled again", label)
        self.off = off
        return off
