"""Idempotency keys travel with messages on both buses, and a ``Deduplicator`` processes
a key once, even when it is published twice or redelivered."""

from __future__ import annotations

from collections.abc import Callable

import redis

from alphapulse.bus import (
    BarMsg,
    Bus,
    Deduplicator,
    MemoryKeys,
    Message,
    RedisKeys,
    RedisStreamsBus,
)


def _bar(ts: int) -> BarMsg:
    return BarMsg("AAPL", "1m", ts, 1.0, 2.0, 0.5, 1.5, 100.0)


def test_key_travels_and_a_message_published_twice_is_processed_once(any_bus: Bus) -> None:
    sub = any_bus.subscribe("bars", "g", "c1")
    any_bus.publish("bars", _bar(1), key="bars@1")
    any_bus.publish("bars", _bar(1), key="bars@1")  # a retried publish
    any_bus.publish("bars", _bar(2), key="bars@2")
    any_bus.publish("bars", _bar(3))  # no key: always processed
    any_bus.publish("bars", _bar(3))
    seen: list[Message] = []
    dedup = Deduplicator(seen.append)
    deliveries = sub.poll(timeout=1.0, max_count=10)
    assert [d.key for d in deliveries] == ["bars@1", "bars@1", "bars@2", None, None]
    assert [dedup(sub, d) for d in deliveries] == [True, False, True, True, True]
    assert [m.ts_ns for m in seen] == [1, 2, 3, 3]  # type: ignore[attr-defined]
    assert (dedup.processed, dedup.skipped) == (4, 1)
    assert sub.reclaim(0.0) == []  # skipped deliveries are acked too


def test_a_redelivered_message_is_processed_once(any_bus: Bus) -> None:
    any_bus.subscribe("bars", "g", "c1")
    any_bus.publish("bars", _bar(1), key="bars@1")
    first = any_bus.subscribe("bars", "g", "c1")
    seen: list[Message] = []
    dedup = Deduplicator(seen.append)
    (d,) = first.poll(timeout=1.0)
    dedup.handler(d.message)  # handled, then the consumer died before recording the key
    dedup.keys.add("bars@1")
    again = any_bus.subscribe("bars", "g", "c1").poll(timeout=1.0)  # its pending message
    assert [x.redelivered for x in again] == [True] and again[0].key == "bars@1"
    assert dedup(first, again[0]) is False and len(seen) == 1


def test_memory_keys_are_bounded() -> None:
    keys = MemoryKeys(maxlen=2)
    for k in ("a", "b", "c"):
        keys.add(k)
    assert "a" not in keys and "b" in keys and "c" in keys


def test_redis_keys_are_shared_by_consumers_of_a_group(
    make_redis_bus: Callable[..., RedisStreamsBus], redis_admin: redis.Redis, redis_prefix: str
) -> None:
    bus = make_redis_bus()
    sub = bus.subscribe("bars", "g", "c1")
    bus.publish("bars", _bar(1), key="bars@1")
    bus.publish("bars", _bar(1), key="bars@1")
    seen: list[Message] = []
    one = Deduplicator(seen.append, RedisKeys(redis_admin, f"{redis_prefix}seen:", ttl=60))
    two = Deduplicator(seen.append, RedisKeys(redis_admin, f"{redis_prefix}seen:", ttl=60))
    a, b = sub.poll(timeout=1.0, max_count=2)
    assert one(sub, a) is True and two(sub, b) is False  # a restarted / second consumer
    assert len(seen) == 1 and 0 < redis_admin.pttl(f"{redis_prefix}seen:bars@1") <= 60_000
