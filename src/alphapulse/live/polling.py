"""Polling sources (ccxt, yfinance): every ``interval`` seconds fetch each symbol's
newly closed bars through the historical provider clients (their retries, Retry-After
handling and rate limiters included) and group them into cross-sections.

Only closed bars are asked for: the request range ends at the start of the bar in
progress, ``floor(now / timeframe) * timeframe`` (exclusive). A returned bar that has
not closed yet (``start + timeframe > now``: Yahoo stamps US hourly bars at :30) is
dropped and asked for again next round. A bar off the symbol's bar grid is dropped
(``CrossSections``; the grid is the timeframe's: :func:`grid_phase`) and the next request
starts at the grid's next bar. A symbol whose fetch fails is skipped for this round; after
a round with failures the next poll waits ``interval * 2**failures`` (capped at
``max_backoff``) -- nothing is raised.

An answer giving one bar time twice with different values (``DataError``, rule
``duplicate_timestamp``: nothing picks one) fails the symbol's round once, as any failed
fetch, and is counted in ``conflicts`` (once per symbol and round). If the next round's
answer for that range conflicts again, the range is asked again in halves on the bar grid,
halving each part that still conflicts: a part answered without a conflict goes through as
answered (a one-bar request, what every round asks for once caught up, has no second bar
to conflict with), a one-bar part that still conflicts is dropped (logged), and the next
request starts after the range. A provider that keeps a conflict costs one failed round
and a few narrower requests, not the symbol's feed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from alphapulse.config import PaperConfig
from alphapulse.core.errors import DataError
from alphapulse.data.providers.base import HistoricalProvider, empty_bars
from alphapulse.live.bars import OHLCV, BarRow, CrossSections, RejectHook

log = logging.getLogger(__name__)
TIMEFRAME_NS = {
    "1m": 60_000_000_000,
    "5m": 300_000_000_000,
    "15m": 900_000_000_000,
    "1h": 3_600_000_000_000,
    "1d": 86_400_000_000_000,
}


def provider_for(p: PaperConfig) -> HistoricalProvider:
    """The historical client a polling feed uses (``paper.feed_url`` redirects it)."""
    if p.feed == "ccxt":
        from alphapulse.data.providers.ccxt_client import CCXTProvider

        return CCXTProvider(p.exchange, base_url=p.feed_url)
    from alphapulse.data.providers.yfinance_client import YFinanceProvider

    return YFinanceProvider(base_url=p.feed_url)


def grid_phase(feed: str) -> int | None:
    """The bar grid of a polled ``feed``, as ``CrossSections.phase``: exchange candles
    (ccxt) start at multiples of the bar size from the epoch (daily ones at 00:00 UTC);
    Yahoo's hourly bars start at their exchange's open (None: each symbol's session
    anchor, ``bars.anchor_step``; the epoch grid for its other bar sizes)."""
    return 0 if feed == "ccxt" else None


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def _conflict(exc: Exception) -> bool:
    """Whether ``exc`` is an answer giving one bar time twice with different values."""
    return isinstance(exc, DataError) and exc.rule == "duplicate_timestamp"


class PollingSource:
    """Rows of closed bars polled from ``provider`` (see the module docstring)."""

    def __init__(
        self,
        provider: HistoricalProvider,
        symbols: tuple[str, ...],
        timeframe: str,
        *,
        interval: float = 5.0,
        grace: float = 2.0,
        stop: threading.Event | None = None,
        max_backoff: float = 60.0,
        heartbeat: float | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        since_ns: int | None = None,
        phase: int | None = None,
    ) -> None:
        self.provider = provider
        self.symbols = symbols
        self.timeframe = timeframe
        self.tf_ns = TIMEFRAME_NS[timeframe]
        self.interval = interval
        self.stop = stop or threading.Event()
        self.max_backoff = max_backoff
        self.heartbeat = heartbeat
        self.clock_ns = clock_ns
        self.sections = CrossSections(symbols, grace, bar_ns=self.tf_ns, phase=phase)
        self.failures = 0  # consecutive rounds with a failed fetch
        self.errors = 0  # failed fetches in total
        self.conflicts = 0  # rounds in which a symbol's answer gave a bar time twice
        self._conflicted: set[str] = set()  # symbols whose last answer conflicted
        self._next: dict[str, int] = {}  # next bar start wanted, per symbol
        self._since = since_ns  # first bar start wanted (default: the last closed bar)
        self._last_row = time.monotonic()

    def rows(self) -> Iterator[BarRow]:
        while not self.stop.is_set():
            ok = self.poll()
            self.failures = 0 if ok else self.failures + 1
            yield from self._ready()
            wait = self.interval * 2.0**self.failures if self.failures else self.interval
            deadline = self.sections.next_deadline()
            if deadline is not None:
                wait = min(wait, max(deadline, 0.01))
            if self.stop.wait(min(wait, self.max_backoff)):
                return

    def poll(self) -> bool:
        """One round over the symbols; False when a fetch failed."""
        now = self.clock_ns()
        end = now // self.tf_ns * self.tf_ns
        ok = True
        for sym in self.symbols:
            start = self._next.get(
                sym, self._since if self._since is not None else end - self.tf_ns
            )
            if start >= end:
                continue
            hits: list[tuple[int, int, str]] = []  # ranges whose answer conflicted
            try:
                if sym in self._conflicted:  # the answer conflicted last round
                    frames = self._around_conflicts(sym, start, end, hits)
                else:
                    frames = [self.provider.fetch_bars(sym, _dt(start), _dt(end), self.timeframe)]
            except Exception as exc:  # retries exhausted or a bad answer: next round
                ok = False
                self.errors += 1
                if _conflict(exc):
                    self._conflicted.add(sym)
                    self._count_conflict(sym)
                log.warning("poll %s failed: %s: %s", sym, type(exc).__name__, exc)
                continue
            self._conflicted.discard(sym)
            if hits:
                self._count_conflict(sym)
            dropped = [(lo, hi, why) for lo, hi, why in hits if hi - lo <= self.tf_ns]
            for lo, hi, why in dropped:
                log.warning("bars of %s in [%d, %d) dropped: a one-bar answer conflicts: %s",
                            sym, lo, hi, why)  # fmt: skip
            frame = pd.concat(frames) if len(frames) > 1 else (frames or [empty_bars()])[0]
            stamps = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
            closed = stamps + self.tf_ns <= now  # a bar still in progress: next round
            stamps = stamps[closed]
            values = frame.loc[closed, list(OHLCV)].to_numpy(dtype=np.float64)
            for ts, vals in zip(stamps.tolist(), values, strict=True):
                self.sections.add(sym, int(ts), dict(zip(OHLCV, vals.tolist(), strict=True)))
            after = self.sections.next_slot(sym, int(stamps[-1])) if len(stamps) else start
            self._next[sym] = max([after, *(hi for _, hi, _ in dropped)])
        return ok

    def _around_conflicts(
        self, sym: str, lo: int, hi: int, hits: list[tuple[int, int, str]]
    ) -> list[pd.DataFrame]:
        """The bars of ``[lo, hi)``; a range whose answer gives a bar time twice with
        different values is added to ``hits`` and asked again in halves on the bar grid,
        unless it is one bar's (dropped). Other errors are raised."""
        try:
            return [self.provider.fetch_bars(sym, _dt(lo), _dt(hi), self.timeframe)]
        except Exception as exc:
            if not _conflict(exc):
                raise
            hits.append((lo, hi, str(exc)))
            if hi - lo <= self.tf_ns:
                return []
        mid = lo + max(1, (hi - lo) // self.tf_ns // 2) * self.tf_ns
        left = self._around_conflicts(sym, lo, mid, hits)
        return left + self._around_conflicts(sym, mid, hi, hits)

    def _count_conflict(self, sym: str) -> None:
        self.conflicts += 1
        self.sections.reject(sym, "conflict")

    def watch_rejections(self, hook: RejectHook) -> None:
        """Tell ``hook`` of every bar dropped from now on (reason, symbol)."""
        self.sections.on_reject = hook

    def _ready(self) -> list[BarRow]:
        rows = self.sections.ready()
        if rows:
            self._last_row = time.monotonic()
            return rows
        hb = self.heartbeat
        last = self.sections.last_released
        if hb is None or last is None or time.monotonic() - self._last_row < hb:
            return []
        ts = last + self.tf_ns
        if ts + self.tf_ns > self.clock_ns():  # that period has not closed yet
            return []
        row = self.sections.empty_row(ts)
        self._last_row = time.monotonic()
        log.warning("no bars for %.0f s: empty cross-section at %d", hb, ts)
        return [row] if row is not None else []

    def close(self) -> None:
        self.stop.set()
