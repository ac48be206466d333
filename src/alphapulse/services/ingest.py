"""``alphapulse ingest``: the configured live feed (``paper.feed``: replay, ccxt,
yfinance, alpaca) into the store's ``bars`` table and onto the bus, one cross-section
at a time (stored first: ``bus.ingest.BarIngestor``). A restart resumes after the last
stored cross-section (the latest bar over the symbols): a replay plays the stored ones
again without pacing, a polling feed asks for the bars after it (those missed while
ingest was down). A crash may fall between storing a cross-section and publishing it, so
a network feed's restart first publishes the last stored one again (``trade`` drops it
if it had it already). A stored cross-section is never changed: ``trade`` may have
stepped on it and replays it from the store on its restart, so a feed giving its time
again (a replay; a provider's revised or late bars) gets the stored bars published.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left

import numpy as np
from sqlalchemy import func, select

from alphapulse.bus.base import Bus
from alphapulse.bus.ingest import BarIngestor
from alphapulse.bus.messages import CrossSectionMsg
from alphapulse.config import BacktestConfig, PaperConfig
from alphapulse.live.bars import OHLCV, BarRow, RejectHook
from alphapulse.live.feed import LiveFeed
from alphapulse.live.recovery import stored_rows, unjournaled_times
from alphapulse.live.sources import build_source
from alphapulse.services import FEED_TOPIC
from alphapulse.services.health import Freshness
from alphapulse.store import Store
from alphapulse.store.schema import TABLES
from alphapulse.store.validate import check_timeframe

log = logging.getLogger(__name__)
CHUNK = 1024  # stored cross-sections read at once (a replay's restart reads them all)


def run_ingest(
    cfg: BacktestConfig,
    store: Store,
    bus: Bus,
    *,
    stop: threading.Event,
    freshness: Freshness | None = None,
    topic: str = FEED_TOPIC,
    on_reject: RejectHook | None = None,
) -> int:
    """Ingest until the feed ends or ``stop`` is set; the number of cross-sections.
    The bars are stored under ``paper.timeframe`` (what ``trade`` reads on recovery)."""
    p = cfg.paper if cfg.paper is not None else PaperConfig()
    resume = last_stored_ts(store, p.timeframe, tuple(cfg.data.symbols or ()))
    if resume is not None:
        log.info("ingest: resuming after the stored bar at %d", resume)
    source, symbols, fields = build_source(cfg, stop, resume)
    ingestor = BarIngestor(store, bus, p.timeframe, cross_topic=topic)
    stored = StoredCrossSections(store, bus, topic, p.timeframe, symbols, resume)
    feed = LiveFeed(source, symbols, fields=fields, session_tz=cfg.data.session_tz)
    if on_reject is not None:  # the bars the feed drops, by reason
        feed.watch_rejections(on_reject)
    n = 0
    try:
        if resume is not None and p.feed != "replay":  # a replay publishes it again anyway
            stored.publish(resume)
        for bar in feed:
            msg = CrossSectionMsg.from_slice(bar, symbols, p.timeframe)
            if stored.covers(msg.ts_ns):
                stored.publish(msg.ts_ns, got=msg)
            else:
                ingestor.on_cross_section(msg)
            if freshness is not None:
                freshness.mark()
            n += 1
            if stop.is_set():
                break
    finally:
        feed.close()
    log.info("ingest: %d cross-sections stored and published on %s", n, topic)
    return n


class StoredCrossSections:
    """The cross-sections stored before a restart, up to the last one (``horizon``).
    They are never stored again (``trade`` may have stepped on them), only published
    again from the store, under the key ``BarIngestor`` gave them."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        topic: str,
        timeframe: str,
        symbols: tuple[str, ...],
        horizon: int | None,
    ) -> None:
        self.store, self.bus, self.topic = store, bus, topic
        self.timeframe, self.symbols, self.horizon = timeframe, symbols, horizon
        self._after: int | None = None  # ``_times``: the stored times after this one
        self._times: list[int] = []
        self._rows: dict[int, BarRow] = {}

    def covers(self, ts_ns: int) -> bool:
        """Whether a cross-section at ``ts_ns`` was stored (or skipped) before."""
        return self.horizon is not None and ts_ns <= self.horizon

    def publish(self, ts_ns: int, got: CrossSectionMsg | None = None) -> None:
        """Publish the stored cross-section at ``ts_ns`` (none stored: nothing);
        ``got``: the feed's, whose bars that differ from the stored ones are logged."""
        kept = self.read(ts_ns)
        if got is not None:
            _log_revised(got, kept)
        if kept is not None:
            self.bus.publish(self.topic, kept, key=f"{self.topic}@{ts_ns}")

    def read(self, ts_ns: int) -> CrossSectionMsg | None:
        """The stored cross-section at ``ts_ns`` (NaN where a symbol has no bar; None
        where none has)."""
        if ts_ns not in self._rows:
            self._load(ts_ns)
        row = self._rows.pop(ts_ns, None)
        if row is None:
            return None
        return CrossSectionMsg(ts_ns, self.timeframe, self.symbols, *(row.fields[k] for k in OHLCV))

    def _load(self, ts_ns: int) -> None:
        """Read the stored cross-sections from ``ts_ns`` on, up to ``CHUNK`` of them."""
        if self._after is None or ts_ns <= self._after:
            self._after = ts_ns - 1
            self._times = unjournaled_times(self.store, self.symbols, self.timeframe, ts_ns - 1)
        i = bisect_left(self._times, ts_ns)
        if i < len(self._times) and self._times[i] == ts_ns:
            rows = stored_rows(self.store, self.symbols, self.timeframe, self._times[i : i + CHUNK])
            self._rows = {row.ts_ns: row for row in rows}


def _log_revised(got: CrossSectionMsg, kept: CrossSectionMsg | None) -> None:
    """Log the bars of ``got`` that differ from the stored ones (``kept``): a provider's
    revision or a bar that came after its cross-section was stored; they are dropped."""
    new = np.vstack([getattr(got, k) for k in OHLCV])
    old = (
        np.full_like(new, np.nan) if kept is None else np.vstack([getattr(kept, k) for k in OHLCV])
    )
    same = ((new == old) | (np.isnan(new) & np.isnan(old))).all(axis=0)
    differ = [s for s, keep, bar in zip(got.symbols, same, ~np.isnan(got.close), strict=True)
              if bar and not keep]  # fmt: skip
    if differ:
        log.info("ingest: bars at %d of %s differ from the cross-section stored before the "
                 "restart: kept the stored one", got.ts_ns, ", ".join(differ))  # fmt: skip


def last_stored_ts(store: Store, timeframe: str, symbols: tuple[str, ...]) -> int | None:
    """The latest stored bar over ``symbols`` (all when empty) of ``timeframe``: the last
    cross-section ingest stored (None: nothing stored yet)."""
    series = TABLES["bar_series"]
    query = select(func.max(series.c.last_ts)).where(
        series.c.timeframe == check_timeframe(timeframe)
    )
    if symbols:
        query = query.where(series.c.symbol.in_(symbols))
    with store.engine.connect() as conn:
        got = conn.execute(query).scalar()
    return None if got is None else int(got)
