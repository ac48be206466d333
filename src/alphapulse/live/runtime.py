"""The paper runtime: one live feed, one engine per strategy (independent ledger, venue
and risk stage), each step journaled. Runs until the feed ends or ``stop`` is set; a
stop lets the current step finish and be written before returning.

Per step: strategies switched off through the API are paused (``control``; while a
journal catches up, as they were at that step), every
engine steps, the cross-section is stored and published, the journals commit (they
hold a step whose cross-section failed until a later step stores it), then
each strategy's signals, orders, fills and risk events are published and counted
(``outlets``; a persisted session writes them with the journal rows to the outbox and
sends the outbox last). Bus and database errors are logged and recorded, never raised; a
strategy's error is recorded and the others go on, but a ``ConfigError`` (settings that
do not fit the data, e.g. ``execution.session`` hours no longer than a bar) stops the
session before the step is journaled: it would fail every step the same way."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from alphapulse.core.errors import ConfigError
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.loop import Engine, RunResult
from alphapulse.engine.stages import RiskEvent
from alphapulse.live.feed import LiveFeed
from alphapulse.live.journal import RunJournal
from alphapulse.live.outlets import Outlets, StrategyControl

log = logging.getLogger(__name__)
StepHook = Callable[[BarSlice], None]


@dataclass
class Latency:
    """Seconds from a row's arrival to the last strategy's orders, per step."""

    samples: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.samples, q)) if self.samples else float("nan")


class PaperRuntime:
    """Drives the engines from the feed; see the module docstring."""

    def __init__(
        self,
        feed: LiveFeed,
        engines: dict[str, Engine],
        *,
        journals: dict[str, RunJournal] | None = None,
        stop: threading.Event | None = None,
        on_step: StepHook | None = None,
        outlets: Outlets | None = None,
        control: StrategyControl | None = None,
    ) -> None:
        self.feed = feed
        self.engines = engines
        self.journals = journals or {}
        self.stop = stop or threading.Event()
        self.on_step = on_step
        self.outlets = outlets
        self.control = control
        self.latency = Latency()
        self.events: list[RiskEvent] = []  # runtime errors (strategy or database)
        self.steps = 0
        self.completed = False  # the feed ended (rather than a stop)

    def run(self) -> dict[str, RunResult]:
        """Process bars until the feed ends or ``stop`` is set; the engines' results."""
        try:
            for bar in self.feed:
                self._step(bar)
                if self.on_step is not None:
                    self.on_step(bar)
                if self.stop.is_set():
                    break
            else:
                self.completed = not self.stop.is_set()
        finally:
            self.feed.close()
        return {label: e.result() for label, e in self.engines.items()}

    def _step(self, bar: BarSlice) -> None:
        arrived = self.feed.last_arrival_ns
        off = self.control.disabled() if self.control is not None else None
        for label, engine in self.engines.items():
            journal = self.journals.get(label)
            if journal is not None and journal.catching_up(bar.ts_ns):  # as it ran
                engine.paused = journal.paused_at(bar.ts_ns)
            elif off is not None:
                engine.paused = label in off
        for label, engine in self.engines.items():
            try:
                engine.step(bar)
            except ConfigError:
                raise
            except Exception as exc:  # a strategy bug must not stop the others
                self._error(bar, label, "strategy_error", exc)
        latency = (time.perf_counter_ns() - arrived) / 1e9 if arrived else None
        if latency is not None:
            self.latency.samples.append(latency)
        out = self.outlets
        stored = True
        if out is not None:
            try:  # stored before the journals: a journaled step's bars are in the store
                out.bars(bar)
            except Exception as exc:  # retried at the next step; the journals wait for it
                stored = False
                self._error(bar, "feed", "bus_error", exc)
        for label, journal in self.journals.items():
            write = journal.commit if stored else journal.hold
            try:
                write(bar.ts_ns, out.signal_messages(label, bar) if out else ())
            except Exception as exc:  # retried with the next step's commit
                self._error(bar, label, "journal_error", exc)
        if out is not None:
            for label in self.engines:
                try:
                    out.strategy_step(label, bar)
                except Exception as exc:
                    self._error(bar, label, "bus_error", exc)
            out.step_done(bar, latency)
            try:
                out.flush()
            except Exception as exc:  # the outbox keeps them: sent once the bus is back
                self._error(bar, "outbox", "bus_error", exc)
        self.steps += 1

    def _error(self, bar: BarSlice, label: str, kind: str, exc: Exception) -> None:
        log.error("%s at %d (%s): %s: %s", kind, bar.ts_ns, label, type(exc).__name__, exc)
        event = RiskEvent(bar.ts_ns, kind, type(exc).__name__, detail=f"{label}: {exc}")
        self.events.append(event)
        if self.outlets is not None and kind != "bus_error" and label in self.engines:
            try:
                self.outlets.risk_event(label, event)
            except Exception as bus_exc:
                log.error("bus_error (%s): %s", label, bus_exc)
