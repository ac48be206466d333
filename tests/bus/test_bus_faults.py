"""Fault injection on the Redis bus: a connection lost during a publish, a read or an
ack, after the server did its part but before the reply arrived. Nothing is lost for a
consumer group; the duplicates that at-least-once allows carry their idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError

from alphapulse.bus import (
    Backoff,
    BusError,
    Deduplicator,
    InProcessBus,
    Message,
    RedisKeys,
    RedisStreamsBus,
    SignalMsg,
    Topic,
)
from alphapulse.live.outbox import Envelope, OutboxPublisher, write_outbox
from alphapulse.store import open_store
from alphapulse.store.engine import run_tx

pytestmark = pytest.mark.redis
MakeBus = Callable[..., RedisStreamsBus]


def sig(i: int) -> SignalMsg:
    return SignalMsg(ts_ns=i, source="sma", symbol="MSFT", direction=1.0)


def reply_lost(
    monkeypatch: pytest.MonkeyPatch,
    client: Any,
    command: str,
    times: int = 1,
    when: Callable[..., bool] = lambda *args: True,
) -> None:
    """The first ``times`` calls of ``client.<command>`` (with arguments ``when`` accepts)
    reach the server, then the connection drops before the reply arrives."""
    real = getattr(client, command)
    left = times

    def lossy(*args: Any, **kwargs: Any) -> Any:
        nonlocal left
        reply = real(*args, **kwargs)
        if left and when(*args):
            left -= 1
            client.connection_pool.disconnect()
            raise RedisConnectionError("connection lost before the reply")
        return reply

    monkeypatch.setattr(client, command, lossy)


def test_lost_read_reply_is_delivered_after_reconnect(
    make_redis_bus: MakeBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XREADGROUP assigned entries to the consumer, then the reply was lost: the retry
    delivers them (they were stuck pending until someone reclaimed them)."""
    bus = make_redis_bus(backoff=Backoff(base=0.001))
    sub = bus.subscribe(Topic.SIGNALS, "g", "c")
    assert sub.poll() == []
    for i in range(3):
        bus.publish(Topic.SIGNALS, sig(i), key=f"s@{i}")
    reply_lost(monkeypatch, bus.client, "xreadgroup", when=lambda *a: ">" in a[2].values())
    got = sub.poll(timeout=1)
    assert [d.message.ts_ns for d in got] == [0, 1, 2]
    for d in got:
        sub.ack(d)
    bus.publish(Topic.SIGNALS, sig(3))
    assert [d.message.ts_ns for d in sub.poll(timeout=1)] == [3]  # reading new ones again
    assert bus.reconnects == 1


def test_lost_publish_and_ack_replies_give_keyed_duplicates_only(
    make_redis_bus: MakeBus,
    redis_admin: redis.Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A publish retried after a lost reply is stored twice with one key; an ack retried
    after a lost reply is harmless; a consumer that dies before acking gets the message
    again on restart. A shared key set processes each key once."""
    bus = make_redis_bus(backoff=Backoff(base=0.001))
    stream = bus.key(Topic.SIGNALS)
    bus.subscribe(Topic.SIGNALS, "g", "c")
    reply_lost(monkeypatch, bus.client, "xadd")
    for i in range(3):
        bus.publish(Topic.SIGNALS, sig(i), key=f"s@{i}")
    assert redis_admin.xlen(stream) == 4  # the first publish was stored twice
    monkeypatch.undo()

    seen: list[Message] = []
    dedup = Deduplicator(seen.append, RedisKeys(redis_admin, f"{redis_prefix}seen:", ttl=60))
    sub = bus.subscribe(Topic.SIGNALS, "g", "c")
    got = sub.poll(timeout=1)
    assert [d.key for d in got] == ["s@0", "s@0", "s@1", "s@2"]
    reply_lost(monkeypatch, bus.client, "xack")
    assert dedup(sub, got[0]) is True  # its ack's reply was lost, and retried
    monkeypatch.undo()
    dedup.handler(got[2].message)  # handled, then the consumer died before its ack
    dedup.keys.add("s@1")

    restarted = bus.subscribe(Topic.SIGNALS, "g", "c")
    while batch := restarted.poll(timeout=0.2):
        for d in batch:
            dedup(restarted, d)
    assert sorted(m.ts_ns for m in seen) == [0, 1, 2]
    assert (dedup.processed, dedup.skipped) == (2, 2)  # s@0 and s@2; the s@0 copy and s@1
    assert redis_admin.xpending(stream, "g")["pending"] == 0


def test_a_consumer_read_that_fails_for_good_loses_nothing(
    make_redis_bus: MakeBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis stays away during a read: ``BusError``; once back, the consumer (or its
    restart) gets every message, in order."""
    bus = make_redis_bus(backoff=Backoff(base=0.001, attempts=2))
    sub = bus.subscribe(Topic.SIGNALS, "g", "c")
    assert sub.poll() == []
    for i in range(3):
        bus.publish(Topic.SIGNALS, sig(i))
    reply_lost(monkeypatch, bus.client, "xreadgroup", times=3)
    with pytest.raises(BusError, match="unreachable after 2 retries"):
        sub.poll(timeout=1)
    monkeypatch.undo()
    assert [d.message.ts_ns for d in sub.poll(timeout=1)] == [0, 1, 2]
    again = bus.subscribe(Topic.SIGNALS, "g", "c").poll()
    assert [(d.message.ts_ns, d.redelivered) for d in again] == [(i, True) for i in range(3)]


class FailingBus(InProcessBus):
    """An in-process bus whose publishes fail from the ``fail_at``-th one on."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at, self.calls = fail_at, 0

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        self.calls += 1
        if self.calls >= self.fail_at:
            raise BusError("redis unreachable after 8 retries: injected")
        return super().publish(topic, message, key)


def test_outbox_failure_mid_batch_sends_the_rest_later_in_order(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'outbox.sqlite'}") as store:
        envelopes = [Envelope(Topic.SIGNALS, f"s@{i}", sig(i)) for i in range(5)]
        run_tx(store.engine, lambda conn: write_outbox(conn, "sess", envelopes))
        down = FailingBus(fail_at=3)
        sub = down.subscribe(Topic.SIGNALS, "g", "c")
        publisher = OutboxPublisher(store, "sess", down, clock=lambda: 0.0)
        with pytest.raises(BusError, match="outbox: 2 sent"):
            publisher.flush()
        assert publisher.pending() == 3
        down.fail_at = 10**9  # back up
        assert publisher.flush(force=True) == 3 and publisher.pending() == 0
        got = sub.poll(max_count=10)
        assert [(d.key, d.message.ts_ns) for d in got] == [(f"s@{i}", i) for i in range(5)]
