"""Poison on ``trade``'s feed topic: whatever ``ingest`` would never publish is logged
(one line each), acknowledged and skipped, and the bars after it are still traded.

Stepped on, a bar the store refuses failed to store on every later step until trade
stopped, and a far-future timestamp made every real bar after it look like a duplicate
(also after a restart, since it was journaled)."""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable

import numpy as np
import pytest
import redis

from alphapulse.bus import Bus, Delivery, RedisStreamsBus, SignalMsg, Subscription, encode
from alphapulse.bus.messages import CrossSectionMsg, Message
from alphapulse.live.bars import OHLCV
from alphapulse.services import FEED_TOPIC
from alphapulse.services.bus_source import BusSource
from tests.bus.conftest import any_bus, make_redis_bus

__all__ = ["any_bus", "make_redis_bus"]  # fixtures
H = 3_600_000_000_000
T0 = 1_704_067_200_000_000_000
YEAR_2200 = 7_258_118_400_000_000_000
SYMBOLS = ("BTC/USDT", "ETH/USDT")
GROUP = "trade.poison"


def bar(ts: int, **bad: list[float]) -> CrossSectionMsg:
    """A valid cross-section of both symbols at ``ts``, with the fields in ``bad``."""
    a = {k: np.full(2, 100.0) for k in ("open", "high", "low", "close")}
    a["volume"] = np.ones(2)
    a.update({k: np.array(v) for k, v in bad.items()})
    return CrossSectionMsg(ts, "1h", SYMBOLS, *(a[k] for k in OHLCV))


class StopAfter:
    """A bus whose subscriptions set ``stop`` once the delivery of ``last`` (a message id)
    is acknowledged: the whole topic was read, whether ``last`` became a row or not."""

    def __init__(self, bus: Bus, stop: threading.Event) -> None:
        self.bus, self.stop = bus, stop
        self.last = ""

    def subscribe(self, topic: str, group: str, consumer: str) -> Subscription:
        sub = self.bus.subscribe(topic, group, consumer)
        real_ack = sub.ack

        def ack(delivery: Delivery) -> None:
            real_ack(delivery)
            if delivery.id == self.last:
                self.stop.set()

        sub.ack = ack  # type: ignore[method-assign]
        return sub

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        self.last = self.bus.publish(topic, message, key)
        return self.last

    def close(self) -> None:
        self.bus.close()


def traded(
    bus: Bus,
    publish: list[Message | dict[str, bytes]],
    rejected: list[tuple[str, str]] | None = None,
) -> list[int]:
    """The times of the rows trade's source hands the runtime after ``publish`` (a dict:
    fields written to the stream as they are, with redis-py); ``rejected`` gets what the
    source reports skipping (reason, symbol)."""
    stop = threading.Event()
    wrapped = StopAfter(bus, stop)
    bus.subscribe(FEED_TOPIC, GROUP, GROUP).close()  # the group exists before the bars
    for item in publish:
        if isinstance(item, dict):
            assert isinstance(bus, RedisStreamsBus)
            bus.client.xadd(bus.key(FEED_TOPIC), item)  # type: ignore[arg-type]
        else:
            wrapped.publish(FEED_TOPIC, item)
    assert not isinstance(publish[-1], dict)  # the last one stops the source
    source = BusSource(wrapped, FEED_TOPIC, GROUP, GROUP, SYMBOLS, stop=stop, timeframe="1h")
    if rejected is not None:
        source.watch_rejections(lambda reason, symbol: rejected.append((reason, symbol)))
    return [row.ts_ns for row in source.rows()]


def test_bars_trade_would_fail_on_are_rejected_and_the_rest_traded(
    any_bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    poison = [
        bar(T0 + 2 * H, high=[np.inf, 100.0]),  # stored by no one: fails every later step
        bar(T0 + 3 * H, volume=[1.0, -5.0]),
        bar(T0 + 4 * H, low=[100.0, 120.0]),  # low above high
        bar(YEAR_2200),  # every later bar would look like a duplicate
    ]
    rejected: list[tuple[str, str]] = []
    with caplog.at_level(logging.WARNING, logger="alphapulse.services.bus_source"):
        got = traded(any_bus, [bar(T0), bar(T0 + H), *poison, bar(T0 + 5 * H)], rejected)
    assert got == [T0, T0 + H, T0 + 5 * H]
    assert rejected == [  # what the session's metrics count (reason, symbol)
        ("invalid", "BTC/USDT"),
        ("invalid", "ETH/USDT"),
        ("invalid", "ETH/USDT"),
        ("future", ""),
    ]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == len(poison)
    assert "BTC/USDT: high is missing, not a number or infinite" in lines[0]
    assert "ETH/USDT: volume: negative volume" in lines[1]
    assert "ETH/USDT: low: low is above high" in lines[2]
    assert f"cross-section at {YEAR_2200}" in lines[3] and "timestamp out of range" in lines[3]


@pytest.mark.redis
def test_raw_poison_entries_are_logged_acked_and_skipped(
    make_redis_bus: Callable[..., RedisStreamsBus],
    redis_admin: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entries written to the stream by something other than the bus (redis-py here):
    none stops the consumer or stays pending, and each is one log line."""
    bus = make_redis_bus()
    good = encode(bar(T0 + H))
    bad_utf8 = bytearray(good)
    at = 2 + 8 + 4  # u8 version, u8 kind, i64 ts_ns, u32 length of the timeframe
    bad_utf8[at : at + 2] = b"\xff\xfe"
    entries: list[dict[str, bytes]] = [
        {"m": b""},
        {"m": good[:-3]},  # truncated
        {"m": good + b"\x00"},  # trailing bytes
        {"m": b"\x02" + good[1:]},  # a version this consumer does not know
        {"m": good[:1] + b"\x63" + good[2:]},  # an unknown kind
        {"m": good[:10] + struct.pack("<I", 2**32 - 1)},  # a length beyond the entry
        {"m": bytes(bad_utf8)},
        {"m": b"\x80\x04\x95 pickle? never"},
        {"other": b"no payload"},
        {"m": good, "k": b"\xff"},  # a key that is not UTF-8
        {"m": encode(SignalMsg(T0 + H, "x", SYMBOLS[0], 1.0))},  # decodes: the wrong kind
    ]
    with caplog.at_level(logging.WARNING):
        got = traded(bus, [bar(T0), *entries, bar(T0 + 2 * H)])
    assert got == [T0, T0 + 2 * H]
    assert redis_admin.xpending(bus.key(FEED_TOPIC), GROUP)["pending"] == 0
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == len(entries)
    assert all("\n" not in r.getMessage() for r in warned)
    assert "a SignalMsg, not a cross-section" in warned[-1].getMessage()
