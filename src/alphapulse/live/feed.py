"""The live feed the paper runtime iterates: rows from a :class:`BarSource` appended to
a growing History and handed out as BarSlices, exactly as a PanelFeed does in a backtest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import GrowingHistory
from alphapulse.live.bars import OHLCV, BarRow, RejectHook, session_of


class BarSource(Protocol):
    """Where live rows come from: a replay, a poller or a stream. ``rows`` blocks until
    the next row is ready and ends when the source is exhausted or told to stop. A source
    that drops bars may also have ``watch_rejections(hook)`` (:meth:`LiveFeed.watch_rejections`)."""

    def rows(self) -> Iterator[BarRow]: ...

    def close(self) -> None: ...


class LiveFeed:
    """Iterating yields one BarSlice per row, after the row joined the History."""

    def __init__(
        self,
        source: BarSource,
        symbols: tuple[str, ...],
        *,
        fields: tuple[str, ...] = OHLCV,
        session_tz: str = "UTC",
    ) -> None:
        self.source = source
        self.symbols = symbols
        self.session_tz = session_tz
        self.history = GrowingHistory(fields, len(symbols))
        self.last_arrival_ns = 0  # perf_counter_ns at which the current row was ready

    def __iter__(self) -> Iterator[BarSlice]:
        for row in self.source.rows():
            t = self.history.append(row.ts_ns, row.fields) - 1
            self.last_arrival_ns = row.arrived_ns
            f = row.fields
            yield BarSlice(
                t=t,
                ts_ns=row.ts_ns,
                session=session_of(row.ts_ns, self.session_tz),
                open=f["open"],
                high=f["high"],
                low=f["low"],
                close=f["close"],
                volume=f["volume"],
            )

    def watch_rejections(self, hook: RejectHook) -> None:
        """Tell ``hook`` of every bar the source drops from now on, as ``(reason,
        symbol)`` (a source that drops none, e.g. a replay, never calls it)."""
        watch = getattr(self.source, "watch_rejections", None)
        if callable(watch):
            watch(hook)

    def close(self) -> None:
        self.source.close()
