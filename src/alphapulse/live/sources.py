"""Pick the live source a configuration asks for (``paper.feed``)."""

from __future__ import annotations

import threading

from alphapulse.config import BacktestConfig, PaperConfig
from alphapulse.core.errors import ConfigError
from alphapulse.engine.runner import load_data
from alphapulse.live.bars import OHLCV
from alphapulse.live.feed import BarSource
from alphapulse.live.replay import ReplaySource


def build_source(
    cfg: BacktestConfig, stop: threading.Event, resume_ts: int | None
) -> tuple[BarSource, tuple[str, ...], tuple[str, ...]]:
    """``(source, symbols, fields)``. A replay plays ``data`` (the backtest's bars); the
    network feeds poll or stream ``data.symbols``. ``resume_ts``: the last stored step
    (a replay plays the bars up to it without pacing; a polling feed asks for the bars
    after it, the earlier ones come from the store: ``live.recovery``)."""
    p = cfg.paper if cfg.paper is not None else PaperConfig()
    if p.feed == "replay":
        panel = load_data(cfg)
        source = ReplaySource(panel, speed=p.speed, stop=stop, fast_until=resume_ts)
        return source, panel.symbols, tuple(panel.fields)
    symbols = tuple(cfg.data.symbols or ())
    if not symbols:
        raise ConfigError(f"data.symbols: required for the {p.feed} feed")
    if p.feed in ("ccxt", "yfinance"):
        from alphapulse.live.polling import TIMEFRAME_NS, PollingSource, grid_phase, provider_for

        since = None if resume_ts is None else resume_ts + TIMEFRAME_NS[p.timeframe]
        poller = PollingSource(
            provider_for(p), symbols, p.timeframe, interval=p.poll_interval, grace=p.grace,
            stop=stop, max_backoff=p.max_backoff, heartbeat=p.heartbeat, since_ns=since,
            phase=grid_phase(p.feed),
        )  # fmt: skip
        return poller, symbols, OHLCV
    from alphapulse.live.alpaca_stream import AlpacaStreamSource

    stream = AlpacaStreamSource(
        symbols, grace=p.grace, stop=stop, url=p.feed_url, feed=p.alpaca_data_feed,
        max_backoff=p.max_backoff, heartbeat=p.heartbeat,
    )  # fmt: skip
    return stream, symbols, OHLCV
