"""The paper runtime: one live feed, one engine per strategy (independent ledger, venue
and risk stage), each step journaled. Runs until the feed ends or ``stop`` is set; a
stop lets the current step finish and be written before returning.

Per step: strategies switched off through the API are paused (``control``; while a
journal catches up, as they were at that step), every
engine steps, the cross-section is stored and published, the journals commit (they
hold a step whose cross-section failed until a later step stores it), then
each strategy's signals, orders, fills and risk events are published and counted
(``outlets``; a persisted session writes them with the journal rows to the outbox and
sends the outbox last). Bus and database errors are logged and recorded, not raised; a
strategy's error is recorded and the others go on, but a ``ConfigError`` (settings that
do not fit the data, e.g. ``execution.session`` hours no longer than a bar) stops the
session before the step is journaled: it would fail every step the same way.

Held steps are bounded: after ``max_bar_failures`` steps in a row whose cross-section
failed to store (:data:`MAX_BAR_FAILURES`), and at the end (feed over or ``stop``) when
the failed cross-sections still do not store or the held steps still do not commit, the
run raises :class:`UnjournaledError` naming the steps not journaled. Nothing of them is
written (every journaled step's bars are stored), so a restart runs them again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy.exc import DBAPIError

from alphapulse.core.errors import AlphaPulseError, ConfigError
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.loop import Engine, RunResult
from alphapulse.engine.stages import RiskEvent
from alphapulse.live.feed import LiveFeed
from alphapulse.live.journal import RunJournal
from alphapulse.live.outlets import Outlets, StrategyControl

log = logging.getLogger(__name__)
StepHook = Callable[[BarSlice], None]
#: Steps in a row whose cross-section fails to store before the run stops (their journals
#: are held meanwhile, in memory).
MAX_BAR_FAILURES = 5


class UnjournaledError(AlphaPulseError):
    """The run stopped with steps not journaled (a restart runs them again)."""


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
        max_bar_failures: int = MAX_BAR_FAILURES,
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
        self.max_bar_failures = max_bar_failures
        self._bar_failures = 0  # steps in a row whose cross-section failed
        self._bar_error = ""  # why the last one failed
        if outlets is not None and outlets.metrics is not None:  # bars the feed drops
            feed.watch_rejections(outlets.metrics.feed_rejection)

    def run(self) -> dict[str, RunResult]:
        """Process bars until the feed ends or ``stop`` is set; the engines' results."""
        last: BarSlice | None = None
        try:
            for bar in self.feed:
                last = bar
                self._step(bar)
                if self.on_step is not None:
                    self.on_step(bar)
                if self.stop.is_set():
                    break
            else:
                self.completed = not self.stop.is_set()
            if last is not None:
                self._write_held(last)
        finally:
            self.feed.close()
        return {label: e.result() for label, e in self.engines.items()}

    def _write_held(self, last: BarSlice) -> None:
        """At the end: store the cross-sections that failed and journal the held steps
        (or those whose commit failed) with the last one, else raise."""
        held = [j for j in self.journals.values() if j.unwritten]
        if not held:
            return
        try:
            if self.outlets is not None:
                self.outlets.send_unsent()
            for journal in held:
                journal.commit(last.ts_ns)
        except Exception as exc:
            self._error(last, "journal", "journal_error", exc)
            raise self._unjournaled(
                f"the held steps failed to store at the end ({_why(exc)})"
            ) from exc

    def _unjournaled(self, what: str) -> UnjournaledError:
        steps = sorted({ts for j in self.journals.values() for ts in j.unwritten})
        first, end = (pd.Timestamp(ts, tz="UTC").isoformat() for ts in (steps[0], steps[-1]))
        which = f"{len(steps)} steps from {first} to {end}" if len(steps) > 1 else first
        return UnjournaledError(
            f"paper stopped: {what}; not journaled: {which} (a restart runs them again "
            "from the last journaled step)"
        )

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
        stored = self._store_bars(bar)
        for label, journal in self.journals.items():
            write = journal.commit if stored else journal.hold
            try:
                write(bar.ts_ns, out.signal_messages(label, bar) if out else ())
            except Exception as exc:  # retried with the next step's commit
                self._error(bar, label, "journal_error", exc)
        n = self._bar_failures
        if self.journals and n >= self.max_bar_failures:
            raise self._unjournaled(
                f"the bars of {n} steps in a row failed to store ({self._bar_error})"
            )
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

    def _store_bars(self, bar: BarSlice) -> bool:
        """Store and publish the step's cross-section (after those that failed before);
        False if that fails: the journals hold the step, it is tried again next step."""
        if self.outlets is None:
            return True
        try:  # stored before the journals: a journaled step's bars are in the store
            self.outlets.bars(bar)
        except Exception as exc:
            self._bar_failures += 1
            self._bar_error = _why(exc)
            self._error(bar, "feed", "bus_error", exc)
            return False
        self._bar_failures = 0
        return True

    def _error(self, bar: BarSlice, label: str, kind: str, exc: Exception) -> None:
        log.error("%s at %d (%s): %s: %s", kind, bar.ts_ns, label, type(exc).__name__, exc)
        event = RiskEvent(bar.ts_ns, kind, type(exc).__name__, detail=f"{label}: {exc}")
        self.events.append(event)
        if self.outlets is not None and kind != "bus_error" and label in self.engines:
            try:
                self.outlets.risk_event(label, event)
            except Exception as bus_exc:
                log.error("bus_error (%s): %s", label, bus_exc)


def _why(exc: Exception) -> str:
    """An exception on one line (a database error by its driver's message)."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(inner).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else '?'}"
