"""A restarted ``ingest`` never changes a cross-section it stored before the crash: trade
may have stepped on it, and trade's restart replays it from the store. Bars a provider
revised since, and late bars of a symbol that was NaN in it, are not stored; the stored
cross-section is what is published again; bars after it are ingested as usual."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphapulse.bus.memory import InProcessBus
from alphapulse.bus.messages import CrossSectionMsg, Message
from alphapulse.config import parse_config
from alphapulse.live.bars import OHLCV
from alphapulse.live.recovery import stored_rows
from alphapulse.services import FEED_TOPIC
from alphapulse.services.ingest import run_ingest
from alphapulse.store import Store, open_store
from tests.live.helpers import Crash
from tests.live.test_live_feeds import HOUR_NS
from tests.live.test_paper_network_recovery import LAST, exchange
from tests.services.test_ingest import _cfg

__all__ = ["exchange"]  # the fixture: the recorded Binance API, polled from T0
SYMBOLS = ("BTC/USDT", "ETH/USDT")
BEFORE = [LAST - 2 * HOUR_NS, LAST - HOUR_NS, LAST]  # ETH's last stored bar, then NaN
NEXT = LAST + HOUR_NS  # a candle that closes while ingest is down


class CrashingBus(InProcessBus):
    """Dies on the first publication of ``LAST`` (stored by then); sets ``stop`` once
    ``NEXT`` is published."""

    def __init__(self) -> None:
        super().__init__()
        self.died = False
        self.stop = threading.Event()

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        assert isinstance(message, CrossSectionMsg)
        if message.ts_ns == LAST and not self.died:
            self.died = True
            raise Crash
        msg_id = super().publish(topic, message, key)
        if message.ts_ns == NEXT:
            self.stop.set()
        return msg_id


def _later(kline: list[Any]) -> list[Any]:
    """The candle an hour after ``kline`` (same prices)."""
    hour_ms = HOUR_NS // 1_000_000
    return [kline[0] + hour_ms, *kline[1:6], kline[6] + hour_ms, *kline[7:]]


def _rows(store: Store) -> dict[str, np.ndarray]:
    rows = stored_rows(store, SYMBOLS, "1h", BEFORE)
    return {k: np.array([r.fields[k] for r in rows]) for k in OHLCV}


def _published(bus: InProcessBus, group: str) -> list[CrossSectionMsg]:
    sub = bus.subscribe(FEED_TOPIC, group, "c")
    got = [d.message for d in sub.poll(timeout=0.0, max_count=1000)]
    sub.close()
    return [m for m in got if isinstance(m, CrossSectionMsg)]


def test_a_restart_keeps_the_stored_cross_sections(tmp_path: Path, exchange: Any) -> None:
    fake, _ = exchange
    btc, eth = fake.klines["BTCUSDT"], fake.klines["ETHUSDT"]
    fake.klines["ETHUSDT"] = eth[:-2]  # ETH's last two candles are late: NaN in their rows
    cfg = parse_config(
        {"name": "ing", "data": {"source": "ccxt", "symbols": list(SYMBOLS)},
         "strategies": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 5}}],
         "paper": {"feed": "ccxt", "timeframe": "1h", "poll_interval": 0.01, "grace": 0.05}}
    )  # fmt: skip
    bus = CrashingBus()
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        with pytest.raises(Crash):
            run_ingest(cfg, store, bus, stop=bus.stop)
        assert store.read_bars("BTC/USDT", "1h").index[-1].value == LAST
        assert store.read_bars("ETH/USDT", "1h").index[-1].value == BEFORE[0]
        before = _rows(store)
        # while down: the provider revises BTC's volume an hour before LAST, ETH's late
        # candles arrive, and the next hour closes
        revised = [*btc[-2][:5], str(float(btc[-2][5]) * 1.5), *btc[-2][6:]]
        fake.klines["BTCUSDT"] = [*btc[:-2], revised, btc[-1], _later(btc[-1])]
        fake.klines["ETHUSDT"] = [*eth, _later(eth[-1])]
        bus.subscribe(FEED_TOPIC, "restart", "c").close()
        bus.stop = threading.Event()
        run_ingest(cfg, store, bus, stop=bus.stop)
        after = _rows(store)
        new = store.read_bars("ETH/USDT", "1h").loc[pd.Timestamp(NEXT, unit="ns", tz="UTC")]
    assert after["volume"][1, 0] == float(btc[-2][5])  # not the revised BTC volume
    for k in OHLCV:  # bit for bit what trade stepped on (ETH NaN at the last two)
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)
    last, nxt = _published(bus, "restart")  # LAST was not published: it is now, as stored
    assert last == CrossSectionMsg(LAST, "1h", SYMBOLS, *(before[k][-1] for k in OHLCV))
    assert nxt.ts_ns == NEXT and nxt.close.tolist() == [float(btc[-1][4]), float(eth[-1][4])]
    assert new["close"] == float(eth[-1][4])  # stored as usual


def test_a_replay_restart_publishes_the_stored_bars(
    shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = _cfg(shared_data, "2015-01-09", speed=0.0)
    bus = InProcessBus()
    bus.subscribe(FEED_TOPIC, "first", "c").close()
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        n = run_ingest(cfg, store, bus, stop=threading.Event())
        bars = store.read_bars("AAPL", "1d")
        day = bars.index[1]
        kept = bars.loc[day, "volume"] * 2  # stored; the data (revised since) says otherwise
        store.upsert_bars(bars.loc[[day]].assign(volume=kept).rename_axis("timestamp")
                          .reset_index().assign(symbol="AAPL"), "1d")  # fmt: skip
        bus.subscribe(FEED_TOPIC, "restart", "c").close()
        with caplog.at_level(logging.INFO, logger="alphapulse.services.ingest"):
            assert run_ingest(cfg, store, bus, stop=threading.Event()) == n
        assert store.read_bars("AAPL", "1d").loc[day, "volume"] == kept
    first, again = _published(bus, "first")[:n], _published(bus, "restart")
    assert [m.ts_ns for m in again] == [m.ts_ns for m in first]
    for old, msg in zip(first, again, strict=True):
        if msg.ts_ns != day.value:
            assert msg == old
    (msg,) = [m for m in again if m.ts_ns == day.value]
    assert msg.volume[msg.symbols.index("AAPL")] == kept
    assert "AAPL" in caplog.text and str(day.value) in caplog.text
