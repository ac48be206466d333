"""``alphapulse ingest``: the configured live feed (``paper.feed``: replay, ccxt,
yfinance, alpaca) into the store's ``bars`` table and onto the bus, one cross-section
at a time (stored first: ``bus.ingest.BarIngestor``)."""

from __future__ import annotations

import logging
import threading

from alphapulse.bus.base import Bus
from alphapulse.bus.ingest import BarIngestor
from alphapulse.bus.messages import CrossSectionMsg
from alphapulse.config import BacktestConfig, PaperConfig
from alphapulse.live.feed import LiveFeed
from alphapulse.live.sources import build_source
from alphapulse.services import FEED_TOPIC
from alphapulse.services.health import Freshness
from alphapulse.store import Store

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
    source, symbols, fields = build_source(cfg, stop, None)
    ingestor = BarIngestor(store, bus, p.timeframe, cross_topic=topic)
    feed = LiveFeed(source, symbols, fields=fields, session_tz=cfg.data.session_tz)
    n = 0
    try:
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
