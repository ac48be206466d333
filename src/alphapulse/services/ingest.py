"""``alphapulse ingest``: the configured live feed (``paper.feed``: replay, ccxt,
yfinance, alpaca) into the store's ``bars`` table and onto the bus, one cross-section
at a time (stored first: ``bus.ingest.BarIngestor``). A restart resumes after the last
stored bar: a replay plays the stored bars again without pacing, a polling feed asks for
the bars after it (those missed while ingest was down). A crash may fall between storing
a cross-section and publishing it, so a network feed's restart first publishes the last
stored one again (from the store; ``trade`` drops it if it had it already)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select

from alphapulse.bus.base import Bus
from alphapulse.bus.ingest import BarIngestor
from alphapulse.bus.messages import CrossSectionMsg
from alphapulse.config import BacktestConfig, PaperConfig
from alphapulse.live.bars import OHLCV
from alphapulse.live.feed import LiveFeed
from alphapulse.live.recovery import stored_rows
from alphapulse.live.sources import build_source
from alphapulse.services import FEED_TOPIC
from alphapulse.services.health import Freshness
from alphapulse.store import Store
from alphapulse.store.schema import TABLES
from alphapulse.store.validate import check_timeframe

log = logging.getLogger(__name__)


def run_ingest(
    cfg: BacktestConfig,
    store: Store,
    bus: Bus,
    *,
    stop: threading.Event,
    freshness: Freshness | None = None,
    topic: str = FEED_TOPIC,
) -> int:
    """Ingest until the feed ends or ``stop`` is set; the number of cross-sections.
    The bars are stored under ``paper.timeframe`` (what ``trade`` reads on recovery)."""
    p = cfg.paper if cfg.paper is not None else PaperConfig()
    resume = last_stored_ts(store, p.timeframe, tuple(cfg.data.symbols or ()))
    if resume is not None:
        log.info("ingest: resuming after the stored bar at %d", resume)
    source, symbols, fields = build_source(cfg, stop, resume)
    ingestor = BarIngestor(store, bus, p.timeframe, cross_topic=topic)
    feed = LiveFeed(source, symbols, fields=fields, session_tz=cfg.data.session_tz)
    n = 0
    try:
        if resume is not None and p.feed != "replay":  # a replay publishes it again anyway
            _publish_stored(store, bus, topic, p.timeframe, symbols, resume)
        for bar in feed:
            ingestor.on_cross_section(CrossSectionMsg.from_slice(bar, symbols, p.timeframe))
            if freshness is not None:
                freshness.mark()
            n += 1
            if stop.is_set():
                break
    finally:
        feed.close()
    log.info("ingest: %d cross-sections stored and published on %s", n, topic)
    return n


def _publish_stored(
    store: Store, bus: Bus, topic: str, timeframe: str, symbols: tuple[str, ...], ts_ns: int
) -> None:
    """Publish the stored cross-section at ``ts_ns`` (NaN where a symbol has no bar) again,
    under the key ``BarIngestor`` gave it."""
    row = stored_rows(store, symbols, timeframe, [ts_ns])[0]
    msg = CrossSectionMsg(ts_ns, timeframe, symbols, *(row.fields[k] for k in OHLCV))
    bus.publish(topic, msg, key=f"{topic}@{ts_ns}")


def last_stored_ts(store: Store, timeframe: str, symbols: tuple[str, ...]) -> int | None:
    """The earliest last stored bar over ``symbols`` (all when empty) of ``timeframe``
    (None: nothing stored yet)."""
    series = TABLES["bar_series"]
    query = select(func.min(series.c.last_ts)).where(
        series.c.timeframe == check_timeframe(timeframe)
    )
    if symbols:
        query = query.where(series.c.symbol.in_(symbols))
    with store.engine.connect() as conn:
        got = conn.execute(query).scalar()
    return None if got is None else int(got)
