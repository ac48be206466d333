"""Redis-only behaviour: bounded streams, reconnecting after a dropped connection,
re-creating a lost group, skipping undecodable entries."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
import redis

from alphapulse.bus import Backoff, BusError, RedisStreamsBus, SignalMsg, Topic, make_bus
from alphapulse.bus.codec import encode

pytestmark = pytest.mark.redis
MakeBus = Callable[..., RedisStreamsBus]


def sig(i: int) -> SignalMsg:
    return SignalMsg(ts_ns=i, source="sma", symbol="MSFT", direction=1.0)


def kill_clients(admin: redis.Redis, name: str) -> int:
    """``CLIENT KILL`` every connection named ``name``; how many."""
    ids = [c["id"] for c in admin.client_list() if c.get("name") == name]
    for cid in ids:
        admin.execute_command("CLIENT", "KILL", "ID", cid)
    return len(ids)


def test_streams_are_bounded(make_redis_bus: MakeBus, redis_admin: redis.Redis) -> None:
    bus = make_redis_bus(maxlen=50)
    bus.subscribe(Topic.SIGNALS, "g", "c")
    for i in range(2000):
        bus.publish(Topic.SIGNALS, sig(i))
    config = redis_admin.config_get("stream-node-max-entries")
    node = int(str(config["stream-node-max-entries"]))
    length = redis_admin.xlen(bus.key(Topic.SIGNALS))
    assert 50 <= length <= 50 + node  # MAXLEN ~ trims whole nodes only
    newest = redis_admin.xrevrange(bus.key(Topic.SIGNALS), count=1)
    assert newest  # the newest entries are the ones kept


def test_groups_live_in_the_server(make_redis_bus: MakeBus, redis_admin: redis.Redis) -> None:
    bus = make_redis_bus()
    bus.subscribe(Topic.SIGNALS, "g", "c1")
    bus.subscribe(Topic.SIGNALS, "h", "c1")
    groups = {g["name"].decode() for g in redis_admin.xinfo_groups(bus.key(Topic.SIGNALS))}
    assert groups == {"g", "h"}
    bus.subscribe(Topic.SIGNALS, "g", "c2")  # an existing group is reused


def test_reconnects_after_client_kill(make_redis_bus: MakeBus, redis_admin: redis.Redis) -> None:
    name = f"apbus{time.monotonic_ns()}"
    bus = make_redis_bus(client_name=name, backoff=Backoff(base=0.01, attempts=5))
    sub = bus.subscribe(Topic.SIGNALS, "g", "c")
    bus.publish(Topic.SIGNALS, sig(0))
    assert [d.message.ts_ns for d in sub.poll(timeout=1)] == [0]
    assert kill_clients(redis_admin, name) >= 1
    bus.publish(Topic.SIGNALS, sig(1))  # on a fresh connection
    assert [d.message.ts_ns for d in sub.poll(timeout=1)] == [1]

    # a connection dropped in the middle of a blocking read is re-opened by the retry
    got: list[int] = []
    poller = threading.Thread(target=lambda: got.extend(d.message.ts_ns for d in sub.poll(5)))
    poller.start()
    time.sleep(0.3)
    before = bus.reconnects
    assert kill_clients(redis_admin, name) >= 1
    time.sleep(0.3)
    bus.publish(Topic.SIGNALS, sig(2))
    poller.join(timeout=10)
    assert got == [2]
    assert bus.reconnects > before


def test_gives_up_with_bus_error_when_unreachable() -> None:
    bus = RedisStreamsBus(
        "redis://127.0.0.1:1/0", backoff=Backoff(base=0.01, attempts=2), socket_timeout=1
    )
    start = time.monotonic()
    with pytest.raises(BusError, match="unreachable after 2 retries"):
        bus.publish(Topic.SIGNALS, sig(0))
    assert time.monotonic() - start < 30  # bounded retries, no endless loop
    assert bus.reconnects == 2
    bus.close()


def test_lost_group_is_recreated(make_redis_bus: MakeBus, redis_admin: redis.Redis) -> None:
    bus = make_redis_bus()
    sub = bus.subscribe(Topic.SIGNALS, "g", "c")
    assert sub.poll() == []
    redis_admin.delete(bus.key(Topic.SIGNALS))  # e.g. a restart without persistence
    assert sub.poll(timeout=0.05) == []
    bus.publish(Topic.SIGNALS, sig(5))
    assert [d.message.ts_ns for d in sub.poll(timeout=1)] == [5]


def test_lost_group_keeps_what_was_published_since(
    make_redis_bus: MakeBus, redis_admin: redis.Redis
) -> None:
    bus = make_redis_bus()
    sub = bus.subscribe(Topic.SIGNALS, "g", "c")
    assert sub.poll() == []
    redis_admin.delete(bus.key(Topic.SIGNALS))  # the stream and its group are gone
    for i in (2, 3):  # published before the subscriber reads again: no group yet
        bus.publish(Topic.SIGNALS, sig(i))
    assert [d.message.ts_ns for d in sub.poll(timeout=1)] == [2, 3]


def test_undecodable_entries_are_acked_and_skipped(
    make_redis_bus: MakeBus, redis_admin: redis.Redis
) -> None:
    bus = make_redis_bus()
    sub = bus.subscribe(Topic.SIGNALS, "g", "c")
    redis_admin.xadd(bus.key(Topic.SIGNALS), {"m": b"\x09garbage"})
    redis_admin.xadd(bus.key(Topic.SIGNALS), {"other": b"x"})
    bus.publish(Topic.SIGNALS, sig(3))
    assert [d.message.ts_ns for d in sub.poll(timeout=1)] == [3]
    pending = redis_admin.xpending(bus.key(Topic.SIGNALS), "g")
    assert pending["pending"] == 1  # only the good one, not yet acked


def test_entry_with_a_non_utf8_key_is_dropped_not_fatal(
    make_redis_bus: MakeBus, redis_admin: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A foreign entry whose idempotency key is not UTF-8 is logged, acked and skipped:
    it must not crash every poll (it stayed pending and came back on each restart)."""
    bus = make_redis_bus()
    sub = bus.subscribe(Topic.SIGNALS, "g", "c")
    redis_admin.xadd(bus.key(Topic.SIGNALS), {"m": encode(sig(1)), "k": b"\xff\xfe"})
    bus.publish(Topic.SIGNALS, sig(2), key="ok")
    with caplog.at_level(logging.WARNING):
        got = sub.poll(timeout=1)
    assert [(d.message.ts_ns, d.key) for d in got] == [(2, "ok")]
    assert "idempotency key is not UTF-8" in caplog.text
    sub.ack(got[0])
    assert bus.subscribe(Topic.SIGNALS, "g", "c").poll() == []  # nothing left pending


def test_make_bus_redis(redis_url: str, redis_prefix: str) -> None:
    bus = make_bus(redis_url, prefix=redis_prefix, maxlen=10)
    assert isinstance(bus, RedisStreamsBus)
    sub = bus.subscribe("t", "g", "c")
    bus.publish("t", sig(1))
    assert [d.message for d in sub.poll(timeout=1)] == [sig(1)]
    bus.close()
