"""``BusSource``: the rows of ``alphapulse trade``, read from the feed topic of the bus.

The consumer group starts at the beginning of the stream (``trade`` sees every bar that
``ingest`` published, also those sent before it first started). A delivery is acked only
when the runtime asks for the next row, i.e. after its step was journaled; after a crash
the unacked one is delivered again and skipped like every bar at or before the last
journaled step (``after_ns``) or an earlier one (a re-published duplicate). A
cross-section of another timeframe than ``timeframe`` (an ingest with another
``paper.timeframe``) is logged and skipped: stepping on it, and storing it under this
session's timeframe, would corrupt the run and the store. So is anything on the topic
that ``ingest`` would never have published (it validates before storing): another kind
of message, a timestamp more than a day ahead of this machine's clock, or a bar of a
traded symbol the store would refuse (``live.bars.bar_problem``). Stepped on, such a bar
fails to store on every later step until trade stops, and a far-future timestamp makes
every real bar after it look like a duplicate, also after a restart."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
from redis.exceptions import ResponseError

from alphapulse.bus.base import Bus, Delivery
from alphapulse.bus.messages import CrossSectionMsg
from alphapulse.bus.redis_streams import RedisStreamsBus
from alphapulse.live.bars import OHLCV, BarRow, RejectHook, bar_problem
from alphapulse.services.health import Freshness

log = logging.getLogger(__name__)
#: How far ahead of this machine's clock a cross-section may start (clock skew).
MAX_AHEAD_NS = 86_400_000_000_000


def start_group_at_beginning(bus: Bus, topic: str, group: str) -> None:
    """Create ``group`` on ``topic`` reading from its first entry (no-op if it exists)."""
    if not isinstance(bus, RedisStreamsBus):
        return
    try:
        bus.call(lambda: bus.client.xgroup_create(bus.key(topic), group, id="0", mkstream=True))
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class BusSource:
    """Cross-sections of ``topic`` as rows over ``symbols`` (NaN where one is missing)."""

    def __init__(
        self,
        bus: Bus,
        topic: str,
        group: str,
        consumer: str,
        symbols: tuple[str, ...],
        *,
        stop: threading.Event,
        after_ns: int | None = None,
        freshness: Freshness | None = None,
        poll_seconds: float = 0.5,
        timeframe: str | None = None,
    ) -> None:
        self.bus = bus
        self.topic, self.group, self.consumer = topic, group, consumer
        self.symbols = symbols
        self.stop = stop
        self.last = after_ns
        self.freshness = freshness
        self.poll_seconds = poll_seconds
        self.timeframe = timeframe  # None: any
        self._hook: RejectHook | None = None

    def watch_rejections(self, hook: RejectHook) -> None:
        """Tell ``hook`` of every entry skipped from now on, as ``(reason, symbol)``:
        ``invalid`` (another kind, another timeframe, a bar the store refuses: its symbol)
        or ``future`` (a timestamp out of range)."""
        self._hook = hook

    def _reject(self, reason: str, symbol: str = "") -> None:
        if self._hook is not None:
            self._hook(reason, symbol)

    def rows(self) -> Iterator[BarRow]:
        start_group_at_beginning(self.bus, self.topic, self.group)
        sub = self.bus.subscribe(self.topic, self.group, self.consumer)
        try:
            while not self.stop.is_set():
                for d in sub.poll(timeout=self.poll_seconds, max_count=1):
                    row = self._row(d)
                    if row is not None:
                        yield row  # the step runs and is journaled before we resume
                        self.last = row.ts_ns
                    sub.ack(d)
        finally:
            sub.close()

    def _row(self, d: Delivery) -> BarRow | None:
        msg = d.message
        if not isinstance(msg, CrossSectionMsg):
            log.warning("entry %s of %s skipped: a %s, not a cross-section",
                        d.id, d.topic, type(msg).__name__)  # fmt: skip
            self._reject("invalid")
            return None
        if self.last is not None and msg.ts_ns <= self.last:
            return None  # journaled already, or a duplicate
        if self.timeframe is not None and msg.timeframe != self.timeframe:
            log.warning(
                "cross-section at %d skipped: timeframe %s, this session trades %s "
                "(paper.timeframe of ingest and trade differ)",
                msg.ts_ns, msg.timeframe, self.timeframe,
            )  # fmt: skip
            self._reject("invalid")
            return None
        where = {s: i for i, s in enumerate(msg.symbols)}
        idx = np.array([where.get(s, -1) for s in self.symbols], dtype=np.int64)
        have = idx >= 0
        fields = {}
        for name in OHLCV:
            out = np.full(len(self.symbols), np.nan)
            out[have] = getattr(msg, name)[idx[have]]
            fields[name] = out
        problem = self._problem(msg.ts_ns, fields)
        if problem is not None:
            reason, symbol, why = problem
            log.warning("cross-section at %d (entry %s of %s) rejected: %s",
                        msg.ts_ns, d.id, d.topic, why)  # fmt: skip
            self._reject(reason, symbol)
            return None
        if self.freshness is not None:
            self.freshness.mark()
        return BarRow(msg.ts_ns, fields, time.perf_counter_ns())

    def _problem(self, ts_ns: int, fields: dict[str, np.ndarray]) -> tuple[str, str, str] | None:
        """Why ``ingest`` would never have published this row, as (reason, symbol,
        text); None: it is valid."""
        if not pd.Timestamp.min.value <= ts_ns <= time.time_ns() + MAX_AHEAD_NS:
            return "future", "", "timestamp out of range (more than a day ahead of this clock?)"
        for i in np.flatnonzero(~np.isnan(fields["close"])).tolist():
            problem = bar_problem({k: float(fields[k][i]) for k in OHLCV})
            if problem is not None:
                return "invalid", self.symbols[i], f"{self.symbols[i]}: {problem}"
        return None

    def close(self) -> None:
        self.stop.set()
