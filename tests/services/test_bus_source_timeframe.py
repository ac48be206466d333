"""``trade`` reads only cross-sections of its own ``paper.timeframe``: a minute
cross-section on the feed topic (an ingest with another timeframe) is logged and
skipped, not traded on as an hourly bar nor stored under the hourly series."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from alphapulse.bus.memory import InProcessBus
from alphapulse.bus.messages import CrossSectionMsg
from alphapulse.config import parse_config
from alphapulse.services import FEED_TOPIC
from alphapulse.services.trade import bus_source_factory

H = 3_600_000_000_000
T0 = 1_704_067_200_000_000_000
SYMBOLS = ("BTC/USDT", "ETH/USDT")


def _msg(ts: int, timeframe: str, price: float) -> CrossSectionMsg:
    a = np.full(2, price)
    return CrossSectionMsg(ts, timeframe, SYMBOLS, a, a, a, a, np.ones(2))


def test_trade_skips_a_cross_section_of_another_timeframe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = parse_config(
        {"name": "tf", "data": {"source": "ccxt", "symbols": list(SYMBOLS)},
         "strategies": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 5}}],
         "paper": {"feed": "ccxt", "timeframe": "1h", "persist": True}}
    )  # fmt: skip
    bus = InProcessBus()
    bus.subscribe(FEED_TOPIC, "trade.tf", "trade.tf").close()
    bus.publish(FEED_TOPIC, _msg(T0 + 60_000_000_000, "1m", 1.0))
    bus.publish(FEED_TOPIC, _msg(T0 + H, "1h", 2.0))
    source, symbols, _ = bus_source_factory(bus, "tf", None)(cfg, threading.Event(), None)
    with caplog.at_level(logging.WARNING):
        row = next(iter(source.rows()))
    source.close()
    assert symbols == SYMBOLS
    assert row.ts_ns == T0 + H and row.fields["close"].tolist() == [2.0, 2.0]
    assert "timeframe 1m, this session trades 1h" in caplog.text
