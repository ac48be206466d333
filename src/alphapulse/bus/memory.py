"""``InProcessBus``: the default bus, thread-safe queues inside one process.

Messages are immutable and shared between groups, not copied or serialised.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from alphapulse.bus.base import BusError, Delivery
from alphapulse.bus.messages import Message


@dataclass(slots=True)
class _Pending:
    message: Message
    consumer: str
    since: float  # time.monotonic() of the last delivery
    key: str | None = None


@dataclass(slots=True)
class _Group:
    queue: deque[tuple[str, Message, str | None]]
    pending: dict[str, _Pending] = field(default_factory=dict)


@dataclass(slots=True)
class _Topic:
    seq: int = 0
    groups: dict[str, _Group] = field(default_factory=dict)


class InProcessBus:
    """Fan-out to every group of a topic through bounded in-memory queues.

    ``maxlen`` bounds each group's queue of undelivered messages; when full the oldest
    are dropped (as a Redis stream trimmed by ``MAXLEN``). ``None`` = unbounded.
    """

    def __init__(self, maxlen: int | None = 100_000) -> None:
        self._maxlen = maxlen
        self._cond = threading.Condition()
        self._topics: dict[str, _Topic] = {}
        self._closed = False

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        with self._cond:
            self._check_open()
            state = self._topics.setdefault(topic, _Topic())
            state.seq += 1
            msg_id = str(state.seq)
            for group in state.groups.values():
                group.queue.append((msg_id, message, key))
            self._cond.notify_all()
        return msg_id

    def subscribe(self, topic: str, group: str, consumer: str) -> InProcessSubscription:
        with self._cond:
            self._check_open()
            groups = self._topics.setdefault(topic, _Topic()).groups
            state = groups.setdefault(group, _Group(deque(maxlen=self._maxlen)))
        return InProcessSubscription(self, state, topic, group, consumer)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __enter__(self) -> InProcessBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("bus is closed")


class InProcessSubscription:
    """A consumer of one group of an ``InProcessBus`` topic."""

    def __init__(self, bus: InProcessBus, state: _Group, topic: str, group: str, consumer: str):
        self._bus = bus
        self._cond = bus._cond
        self._state = state
        self._topic, self._group, self._consumer = topic, group, consumer
        self._resume = True  # first re-deliver this consumer name's own pending messages
        self._closed = False

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def group(self) -> str:
        return self._group

    @property
    def consumer(self) -> str:
        return self._consumer

    def poll(self, timeout: float = 0.0, max_count: int = 100) -> list[Delivery]:
        with self._cond:
            self._check_open()
            if self._resume:
                self._resume = False
                own = [k for k, p in self._state.pending.items() if p.consumer == self._consumer]
                if own:
                    return self._redeliver(own[:max_count])
            self._cond.wait_for(
                lambda: self._state.queue or self._closed or self._bus._closed, max(timeout, 0.0)
            )
            self._check_open()
            now = time.monotonic()
            out: list[Delivery] = []
            queue, pending = self._state.queue, self._state.pending
            while queue and len(out) < max_count:
                msg_id, message, key = queue.popleft()
                pending[msg_id] = _Pending(message, self._consumer, now, key)
                out.append(
                    Delivery(self._topic, self._group, self._consumer, msg_id, message, key=key)
                )
            return out

    def ack(self, delivery: Delivery) -> None:
        if (delivery.topic, delivery.group) != (self._topic, self._group):
            raise ValueError(f"delivery of {delivery.topic}/{delivery.group} acked elsewhere")
        with self._cond:
            self._state.pending.pop(delivery.id, None)

    def reclaim(self, min_idle: float, max_count: int = 100) -> list[Delivery]:
        with self._cond:
            self._check_open()
            cutoff = time.monotonic() - min_idle
            stale = [k for k, p in self._state.pending.items() if p.since <= cutoff]
            return self._redeliver(stale[:max_count])

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _redeliver(self, ids: list[str]) -> list[Delivery]:
        now = time.monotonic()
        out = []
        for msg_id in ids:
            p = self._state.pending[msg_id]
            p.consumer, p.since = self._consumer, now
            out.append(
                Delivery(self._topic, self._group, self._consumer, msg_id, p.message, True, p.key)
            )
        return out

    def _check_open(self) -> None:
        if self._closed or self._bus._closed:
            raise BusError(f"subscription {self._group}/{self._consumer} is closed")
