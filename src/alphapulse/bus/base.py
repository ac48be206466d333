"""The bus interface: publish to a topic, consume it in consumer groups with acks.

Semantics shared by every implementation:

- Fan-out: each consumer *group* of a topic gets every message published after the
  group was created; the consumers of one group split the messages between them.
- At-least-once: a delivered message stays pending in its group until acknowledged.
  ``Subscription.reclaim`` hands pending messages idle for a while (their consumer
  crashed or hangs) to another consumer, and a new subscription under a consumer name
  first re-delivers that name's own pending messages. Consumers must tolerate
  duplicates (messages carry their natural keys, e.g. symbol and ``ts_ns``).
- Idempotency keys: ``publish(..., key=)`` sends a key with the message (``Delivery.key``);
  ``bus.dedup.Deduplicator`` processes each key once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from alphapulse.bus.messages import Message
from alphapulse.core.errors import AlphaPulseError


class BusError(AlphaPulseError):
    """The bus is closed or its server stayed unreachable after retries."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to one consumer; pass it back to ``Subscription.ack``."""

    topic: str
    group: str
    consumer: str
    id: str
    message: Message
    redelivered: bool = False
    key: str | None = None  # the publisher's idempotency key, if it gave one


class Subscription(Protocol):
    """One consumer of a consumer group on a topic. Use it from one thread."""

    @property
    def topic(self) -> str: ...

    @property
    def group(self) -> str: ...

    @property
    def consumer(self) -> str: ...

    def poll(self, timeout: float = 0.0, max_count: int = 100) -> list[Delivery]:
        """Up to ``max_count`` messages, waiting up to ``timeout`` seconds for the first."""
        ...

    def ack(self, delivery: Delivery) -> None:
        """Mark a delivery processed (idempotent)."""
        ...

    def reclaim(self, min_idle: float, max_count: int = 100) -> list[Delivery]:
        """Take over messages of the group pending unacknowledged for ``min_idle`` seconds
        or more (from any consumer) and deliver them again to this one."""
        ...

    def close(self) -> None:
        """Stop consuming; unacknowledged messages stay pending for reclaim."""
        ...


class Bus(Protocol):
    """A message bus of named topics."""

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        """Append ``message`` to ``topic`` (with idempotency ``key``); returns its id."""
        ...

    def subscribe(self, topic: str, group: str, consumer: str) -> Subscription:
        """Consume ``topic`` as ``consumer`` of ``group`` (created on first use)."""
        ...

    def close(self) -> None:
        """Release resources; later calls raise ``BusError``."""
        ...
