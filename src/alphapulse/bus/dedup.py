"""Consumer-side de-duplication by idempotency key (``Delivery.key``).

Delivery is at-least-once (a redelivery, a publish retried after a dropped connection,
an outbox row re-sent after a crash), so a consumer whose effect must happen once wraps
its handler in a :class:`Deduplicator`: a delivery whose key was already processed is
acked and skipped. The key is recorded after the handler returns (a crash in between
re-runs the handler on redelivery: effects should be idempotent or transactional).
Deliveries without a key are always processed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis

from alphapulse.bus.base import Delivery, Subscription
from alphapulse.bus.messages import Message


class KeySet(Protocol):
    """The keys a consumer group already processed."""

    def __contains__(self, key: str) -> bool: ...

    def add(self, key: str) -> None: ...


class MemoryKeys:
    """The last ``maxlen`` keys, in this process (lost on restart)."""

    def __init__(self, maxlen: int = 1_000_000) -> None:
        self.maxlen = maxlen
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.maxlen:
            self._keys.popitem(last=False)


class RedisKeys:
    """Keys in Redis (``<namespace><key>``, expiring after ``ttl`` seconds): shared by the
    consumers of a group and kept across their restarts."""

    def __init__(self, client: redis.Redis, namespace: str, ttl: float = 7 * 86400) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl_ms = max(1, int(ttl * 1000))

    def __contains__(self, key: str) -> bool:
        return bool(self.client.exists(self.namespace + key))

    def add(self, key: str) -> None:
        self.client.set(self.namespace + key, b"1", px=self.ttl_ms)


class Deduplicator:
    """Runs ``handler`` once per idempotency key; counts what it skipped."""

    def __init__(self, handler: Callable[[Message], None], keys: KeySet | None = None) -> None:
        self.handler = handler
        self.keys: KeySet = keys if keys is not None else MemoryKeys()
        self.processed = 0
        self.skipped = 0

    def __call__(self, sub: Subscription, delivery: Delivery) -> bool:
        """Handle and ack ``delivery``; False when its key was already processed."""
        key = delivery.key
        if key is not None and key in self.keys:
            self.skipped += 1
            sub.ack(delivery)
            return False
        self.handler(delivery.message)
        if key is not None:
            self.keys.add(key)
        self.processed += 1
        sub.ack(delivery)
        return True

    def drain(self, sub: Subscription, timeout: float = 0.0, max_count: int = 100) -> int:
        """Poll once and handle what arrived; the number of deliveries handled or skipped."""
        batch = sub.poll(timeout=timeout, max_count=max_count)
        for delivery in batch:
            self(sub, delivery)
        return len(batch)
