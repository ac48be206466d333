"""Alpaca's live minute-bar stream (alpaca-py ``StockDataStream``) as a bar source.

The SDK runs its websocket loop in a background thread and reconnects by itself with
exponential backoff (we set its floor/ceiling from ``paper.max_backoff``); bars arrive
in a handler that queues them; ``rows`` groups them into cross-sections. ``url``
(``paper.feed_url``) replaces the stream endpoint (tests, proxies). Credentials:
``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``.

A bar whose minute has not closed by the wall clock (``clock_ns``, with ``SKEW_NS`` of
tolerance) is rejected and counted in ``future``: a bad stamp must not release a
look-ahead row nor make the real bars after it late. A bar not stamped on a whole minute
is dropped (``CrossSections``). The heartbeat's empty rows are
only for minutes that have closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from alpaca.data.enums import DataFeed
from alpaca.data.live.stock import StockDataStream

from alphapulse.live.bars import BarRow, CrossSections, RejectHook

log = logging.getLogger(__name__)
_Bar = tuple[str, int, dict[str, float]]
MINUTE_NS = 60_000_000_000
SKEW_NS = 5_000_000_000  # clock skew tolerated between Alpaca's stamps and ours


class AlpacaStreamSource:
    """Rows of the minute bars of ``symbols`` streamed by Alpaca."""

    def __init__(
        self,
        symbols: tuple[str, ...],
        *,
        grace: float = 2.0,
        stop: threading.Event | None = None,
        url: str | None = None,
        feed: str = "iex",
        max_backoff: float = 30.0,
        min_backoff: float = 1.0,
        heartbeat: float | None = None,
        api_key: str | None = None,
        secret_key: str | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.symbols = symbols
        self.stop = stop or threading.Event()
        self.sections = CrossSections(symbols, grace, bar_ns=MINUTE_NS, phase=0)
        self.heartbeat = heartbeat
        self.clock_ns = clock_ns
        self.future = 0  # bars rejected because their minute had not closed
        self._queue: queue.Queue[_Bar] = queue.Queue()
        self.stream = StockDataStream(
            api_key or os.environ.get("APCA_API_KEY_ID", ""),
            secret_key or os.environ.get("APCA_API_SECRET_KEY", ""),
            feed=DataFeed(feed),
            url_override=url,
            data_timeout=heartbeat,  # the SDK reconnects a socket silent for that long
        )
        self.stream._reconnect_min_backoff = min(min_backoff, max_backoff)
        self.stream._reconnect_max_backoff = max_backoff
        self.stream.subscribe_bars(self._on_bar, *symbols)
        self._thread: threading.Thread | None = None

    async def _on_bar(self, bar: Any) -> None:
        ts = int(bar.timestamp.timestamp() * 1e6) * 1000
        values = {"open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close}
        self._queue.put((bar.symbol, ts, {**values, "volume": bar.volume}))

    def rows(self) -> Iterator[BarRow]:
        self._thread = threading.Thread(target=self.stream.run, name="alpaca-stream", daemon=True)
        self._thread.start()
        last = time.monotonic()
        while not self.stop.is_set():
            deadline = self.sections.next_deadline()
            try:
                item = self._queue.get(timeout=0.2 if deadline is None else max(deadline, 0.001))
                self._add(*item)
            except queue.Empty:
                pass
            for row in self.sections.ready():
                last = time.monotonic()
                yield row
            if self.heartbeat is not None and time.monotonic() - last > self.heartbeat:
                log.warning("no bars from the Alpaca stream for %.0f s", self.heartbeat)
                last = time.monotonic()
                empty = self._empty_row()
                if empty is not None:
                    yield empty

    def _add(self, symbol: str, ts_ns: int, bar: dict[str, float]) -> None:
        """Group one bar, unless its minute has not closed yet (counted, logged)."""
        now = self.clock_ns()
        if ts_ns + MINUTE_NS > now + SKEW_NS:
            self.future += 1
            self.sections.reject(symbol, "future")
            log.warning(
                "bar of %s at %d rejected: its minute ends after now (%d)", symbol, ts_ns, now
            )
            return
        self.sections.add(symbol, ts_ns, bar)

    def watch_rejections(self, hook: RejectHook) -> None:
        """Tell ``hook`` of every bar dropped from now on (reason, symbol)."""
        self.sections.on_reject = hook

    def _empty_row(self) -> BarRow | None:
        """An all-NaN row one minute after the last one, once that minute has closed
        (feeds the stale-data guard)."""
        last = self.sections.last_released
        if last is None or last + 2 * MINUTE_NS > self.clock_ns():
            return None
        return self.sections.empty_row(last + MINUTE_NS)

    def close(self) -> None:
        self.stop.set()
        if self._thread is not None and self._thread.is_alive():
            loop = getattr(self.stream, "_loop", None)
            try:  # signal the stop, then drop the socket so the SDK's recv wakes up now
                if loop is not None and loop.is_running():
                    for stop in (self.stream.stop_ws(), self.stream.close()):
                        asyncio.run_coroutine_threadsafe(stop, loop).result(timeout=5)
            except Exception as exc:  # the loop may already be gone
                log.debug("stopping the Alpaca stream: %s", exc)
            self._thread.join(timeout=5)
