"""``BarIngestor``: a bar (or cross-section) from a feed is stored, then published.

Storing first means a subscriber never sees a bar that is not in the store. Both steps
are safe to repeat: ``upsert_bars`` is idempotent and consumers tolerate duplicates, so
a feed can replay after a failure between the two. Messages carry idempotency keys
(``<topic>@<symbol>@<timeframe>@<ts>``, ``<topic>@<ts>``) for ``bus.dedup``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from alphapulse.bus.base import Bus
from alphapulse.bus.messages import BarMsg, CrossSectionMsg, Topic
from alphapulse.store.validate import check_timeframe


class BarStore(Protocol):
    """What the ingestor needs of a store (``alphapulse.store.Store``)."""

    def upsert_bars(self, df: pd.DataFrame, timeframe: str) -> int: ...


class BarIngestor:
    """Stores and publishes bars of one timeframe: single bars to ``bar_topic``,
    cross-sections (one transaction for all their bars) to ``cross_topic``."""

    def __init__(
        self,
        store: BarStore,
        bus: Bus,
        timeframe: str,
        *,
        bar_topic: str = Topic.BARS,
        cross_topic: str = Topic.CROSS_SECTIONS,
    ) -> None:
        self.store = store
        self.bus = bus
        self.timeframe = check_timeframe(timeframe)
        self.bar_topic = bar_topic
        self.cross_topic = cross_topic

    def on_bar(self, bar: BarMsg) -> str:
        """Store and publish one bar; returns the message id."""
        self._check(bar.timeframe)
        frame = pd.DataFrame(
            {
                "symbol": [bar.symbol],
                "timestamp": pd.to_datetime([bar.ts_ns], unit="ns", utc=True),
                "open": [bar.open],
                "high": [bar.high],
                "low": [bar.low],
                "close": [bar.close],
                "volume": [bar.volume],
            }
        )
        self.store.upsert_bars(frame, self.timeframe)
        key = f"{self.bar_topic}@{bar.symbol}@{self.timeframe}@{bar.ts_ns}"
        return self.bus.publish(self.bar_topic, bar, key=key)

    def on_cross_section(self, bars: CrossSectionMsg) -> str:
        """Store the bars present (close not NaN) and publish the cross-section."""
        self._check(bars.timeframe)
        has = ~np.isnan(bars.close)
        if has.any():
            n = int(has.sum())
            frame = pd.DataFrame(
                {
                    "symbol": np.asarray(bars.symbols, dtype=object)[has],
                    "timestamp": pd.to_datetime(np.full(n, bars.ts_ns), unit="ns", utc=True),
                    **{f: getattr(bars, f)[has] for f in ("open", "high", "low", "close")},
                    "volume": bars.volume[has],
                }
            )
            self.store.upsert_bars(frame, self.timeframe)
        return self.bus.publish(self.cross_topic, bars, key=f"{self.cross_topic}@{bars.ts_ns}")

    def ingest(self, item: BarMsg | CrossSectionMsg) -> str:
        """``on_bar`` or ``on_cross_section``, by type."""
        if isinstance(item, CrossSectionMsg):
            return self.on_cross_section(item)
        return self.on_bar(item)

    def _check(self, timeframe: str) -> None:
        if check_timeframe(timeframe) != self.timeframe:
            raise ValueError(f"bar of timeframe {timeframe!r} sent to a {self.timeframe} ingestor")
