"""``ingest`` on a polling feed dies between storing a cross-section and publishing it
(or right after publishing it): the restart publishes the last stored one again before
polling the bars after it, so ``trade`` (``BusSource``) sees every bar exactly once, in
order (a duplicate the restart re-publishes is dropped)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from alphapulse.bus.memory import InProcessBus
from alphapulse.bus.messages import CrossSectionMsg, Message
from alphapulse.config import parse_config
from alphapulse.services import FEED_TOPIC
from alphapulse.services.bus_source import BusSource
from alphapulse.services.ingest import run_ingest
from alphapulse.store import open_store
from tests.live.helpers import Crash
from tests.live.test_live_feeds import HOUR_NS, T0
from tests.live.test_paper_network_recovery import CRASH, LAST, exchange

__all__ = ["exchange"]  # the fixture: the recorded Binance API, polled from T0
SYMBOLS = ("BTC/USDT", "ETH/USDT")


class DyingBus(InProcessBus):
    """Dies once on publishing the cross-section at ``crash_at`` (it is stored already),
    before or (``published``) after the publication; sets ``stop`` once the one at
    ``LAST`` is published."""

    def __init__(self, crash_at: int, published: bool) -> None:
        super().__init__()
        self.crash_at: int | None = crash_at
        self.published = published
        self.stop = threading.Event()

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        assert isinstance(message, CrossSectionMsg)
        dies = message.ts_ns == self.crash_at
        if dies:
            self.crash_at = None
            if not self.published:
                raise Crash
        msg_id = super().publish(topic, message, key)
        if dies:
            raise Crash
        if message.ts_ns == LAST:
            self.stop.set()
        return msg_id


@pytest.mark.parametrize("published", [False, True])
def test_a_bar_stored_but_not_published_is_published_after_a_restart(
    tmp_path: Path, exchange: Any, published: bool
) -> None:
    cfg = parse_config(
        {"name": "ing", "data": {"source": "ccxt", "symbols": list(SYMBOLS)},
         "strategies": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 5}}],
         "paper": {"feed": "ccxt", "timeframe": "1h", "poll_interval": 0.01, "grace": 0.05}}
    )  # fmt: skip
    bus = DyingBus(CRASH, published)
    bus.subscribe(FEED_TOPIC, "trade", "trade").close()  # trade's group gets every bar
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        with pytest.raises(Crash):
            run_ingest(cfg, store, bus, stop=bus.stop)
        assert store.read_bars("BTC/USDT", "1h").index[-1].value == CRASH
        bus.stop = threading.Event()  # the restart (closing the feed set the last one)
        assert run_ingest(cfg, store, bus, stop=bus.stop) == (LAST - CRASH) // HOUR_NS
        stored = [t.value for t in store.read_bars("ETH/USDT", "1h").index]
    seen = []
    trade = BusSource(bus, FEED_TOPIC, "trade", "trade", SYMBOLS, stop=threading.Event())
    for row in trade.rows():
        seen.append(row.ts_ns)
        if row.ts_ns == LAST:
            break
    assert seen == stored == [T0 + i * HOUR_NS for i in range(25)]
