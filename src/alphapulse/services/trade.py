"""``alphapulse trade``: the paper session of a config fed from the bus (``ingest``'s
topic) instead of its own feed; orders, fills, signals and the journal go out exactly as
in ``alphapulse paper`` (``live.session``)."""

from __future__ import annotations

import threading

from alphapulse.api.metrics import Metrics
from alphapulse.bus.base import Bus
from alphapulse.config import BacktestConfig, PaperConfig
from alphapulse.core.errors import ConfigError
from alphapulse.live.bars import OHLCV
from alphapulse.live.feed import BarSource
from alphapulse.live.session import SessionResult, SourceFactory, run_session
from alphapulse.services import FEED_TOPIC
from alphapulse.services.bus_source import BusSource
from alphapulse.services.health import Freshness


def bus_source_factory(
    bus: Bus, session: str, freshness: Freshness | None, topic: str = FEED_TOPIC
) -> SourceFactory:
    """A ``run_session`` source reading ``topic`` as consumer group ``trade.<session>``."""

    def factory(
        cfg: BacktestConfig, stop: threading.Event, resume: int | None
    ) -> tuple[BarSource, tuple[str, ...], tuple[str, ...]]:
        symbols = tuple(cfg.data.symbols or ())
        if not symbols:
            raise ConfigError("data.symbols: required by alphapulse trade")
        group = f"trade.{session}"
        p = cfg.paper if cfg.paper is not None else PaperConfig()
        source = BusSource(
            bus, topic, group, group, symbols, stop=stop, after_ns=resume, freshness=freshness,
            timeframe=p.timeframe,
        )  # fmt: skip
        return source, symbols, OHLCV

    return factory


def run_trade(
    cfg: BacktestConfig,
    bus: Bus,
    *,
    db_url: str | None,
    stop: threading.Event,
    metrics: Metrics,
    freshness: Freshness | None = None,
) -> SessionResult:
    """Run the persisted paper session of ``cfg`` on the bus's bars until ``stop``."""
    p = cfg.paper if cfg.paper is not None else PaperConfig()
    if not p.persist:
        raise ConfigError("paper.persist: alphapulse trade journals to the database (true)")
    session = p.session or cfg.name
    return run_session(
        cfg, stop=stop, db_url=db_url, persist=True, bus=bus, metrics=metrics,
        source=bus_source_factory(bus, session, freshness),
    )  # fmt: skip
