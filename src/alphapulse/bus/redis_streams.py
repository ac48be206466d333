"""``RedisStreamsBus``: topics as Redis streams, consumed through consumer groups.

One stream per topic (key ``<prefix><topic>``), trimmed with ``XADD ... MAXLEN ~``;
groups are created with ``XGROUP CREATE ... $ MKSTREAM`` (they see messages published
after their creation), read with ``XREADGROUP`` and acknowledged with ``XACK``;
``reclaim`` is ``XAUTOCLAIM``. A dropped connection is re-opened with exponential
backoff; a stream lost with its groups (e.g. a server restart) is re-created. A publish
retried after a dropped connection may be stored twice (at-least-once); a read whose
reply was lost is retried as a read of this consumer's pending entries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from alphapulse.bus.base import BusError, Delivery
from alphapulse.bus.codec import MessageError, decode, encode
from alphapulse.bus.messages import Message

log = logging.getLogger(__name__)
T = TypeVar("T")
_FIELD = b"m"
_KEY = b"k"  # the idempotency key, when the publisher gave one


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays ``base * 2**attempt`` capped at ``cap``; give up after ``attempts``."""

    base: float = 0.05
    cap: float = 2.0
    attempts: int = 8

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0**attempt)


class RedisStreamsBus:
    """A bus on a Redis server (``redis://host:port/db``) for many processes.

    ``maxlen``: approximate bound on each stream's length (older entries are trimmed,
    even if unread). ``socket_timeout`` also caps a single blocking read (``poll``
    loops until its own timeout).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "alphapulse:",
        maxlen: int = 100_000,
        backoff: Backoff | None = None,
        socket_timeout: float = 10.0,
        client_name: str | None = None,
    ) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be >= 1, got {maxlen}")
        self._prefix = prefix
        self._maxlen = maxlen
        self._backoff = backoff or Backoff()
        self._max_block = max(0.01, socket_timeout - 1.0)
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),  # retries are ours, with backoff
            client_name=client_name,
        )
        self._reconnects = 0
        self._closed = False

    @property
    def client(self) -> redis.Redis:
        """The underlying client (for administration and tests)."""
        return self._client

    @property
    def reconnects(self) -> int:
        """Commands retried after a connection error so far."""
        return self._reconnects

    def key(self, topic: str) -> str:
        """The stream key of ``topic``."""
        return f"{self._prefix}{topic}"

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        fields: dict[Any, Any] = {_FIELD: encode(message)}
        if key is not None:
            fields[_KEY] = key.encode()
        stream = self.key(topic)
        msg_id = self.call(
            lambda: self._client.xadd(stream, fields, maxlen=self._maxlen, approximate=True)
        )
        return _text(msg_id)

    def subscribe(self, topic: str, group: str, consumer: str) -> RedisStreamsSubscription:
        sub = RedisStreamsSubscription(self, topic, group, consumer)
        sub.ensure_group()
        return sub

    def close(self) -> None:
        self._closed = True
        self._client.close()

    def __enter__(self) -> RedisStreamsBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def max_block(self) -> float:
        """Longest single blocking read in seconds."""
        return self._max_block

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()``, retried with backoff while the connection fails."""
        attempt = 0
        while True:
            if self._closed:
                raise BusError("bus is closed")
            try:
                return fn()
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if self._closed or attempt >= self._backoff.attempts:
                    raise BusError(f"redis unreachable after {attempt} retries: {exc}") from exc
                delay = self._backoff.delay(attempt)
                log.warning("redis connection failed (%s); retrying in %.2f s", exc, delay)
                time.sleep(delay)
                attempt += 1
                self._reconnects += 1


class RedisStreamsSubscription:
    """A consumer of one group on a Redis stream."""

    def __init__(self, bus: RedisStreamsBus, topic: str, group: str, consumer: str) -> None:
        self._bus = bus
        self._redis = bus.client
        self._key = bus.key(topic)
        self._topic, self._group, self._consumer = topic, group, consumer
        self._cursor: str | None = "0"  # own pending entries first, then new ones (">")
        self._seen = "0"  # the newest entry id read so far
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

    def ensure_group(self, start: str = "$") -> None:
        """Create the group (and the stream) unless it exists, reading from ``start``
        ("$": only entries added from now on; "0": every entry in the stream)."""
        try:
            self._bus.call(
                lambda: self._redis.xgroup_create(self._key, self._group, id=start, mkstream=True)
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def poll(self, timeout: float = 0.0, max_count: int = 100) -> list[Delivery]:
        self._check_open()
        while self._cursor is not None:
            entries = self._read(self._cursor, max_count, None)
            if not entries:
                self._cursor = None
                break
            self._cursor = self._seen = _text(entries[-1][0])
            if out := self._deliveries(entries, redelivered=True):
                return out
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            remaining = deadline - time.monotonic()
            block = None
            if remaining > 0:
                block = max(1, int(min(remaining, self._bus.max_block) * 1000))
            if out := self._deliveries(self._read_new(max_count, block), redelivered=False):
                return out
            if deadline - time.monotonic() <= 0:
                return []

    def ack(self, delivery: Delivery) -> None:
        if (delivery.topic, delivery.group) != (self._topic, self._group):
            raise ValueError(f"delivery of {delivery.topic}/{delivery.group} acked elsewhere")
        self._xack(delivery.id)

    def reclaim(self, min_idle: float, max_count: int = 100) -> list[Delivery]:
        self._check_open()
        idle_ms = max(0, int(min_idle * 1000))
        out: list[Delivery] = []
        start = "0-0"
        while len(out) < max_count:
            count = max_count - len(out)

            def claim(s: str = start, n: int = count) -> Any:
                return self._redis.xautoclaim(
                    self._key, self._group, self._consumer, idle_ms, s, count=n
                )

            reply: Any = self._group_call(claim)
            out += self._deliveries(reply[1], redelivered=True)
            start = _text(reply[0])
            if start == "0-0":
                break
        return out

    def close(self) -> None:
        self._closed = True

    def _read(self, start: str, count: int, block: int | None) -> list[Any]:
        return _entries(self._group_call(lambda: self._xreadgroup(start, count, block)))

    def _read_new(self, count: int, block: int | None) -> list[Any]:
        """``XREADGROUP >``. A connection lost before the reply arrived may have lost
        entries the server already assigned to this consumer: the retry reads this
        consumer's pending entries after the newest one seen instead (and so does the
        next poll, when the retries ran out)."""
        lost = False

        def read() -> Any:
            nonlocal lost
            start, wait = (self._seen, None) if lost else (">", block)
            try:
                return self._xreadgroup(start, count, wait)
            except (RedisConnectionError, RedisTimeoutError):
                lost = True
                raise

        try:
            entries = _entries(self._group_call(read))
        except BusError:
            self._cursor = self._seen
            raise
        if entries:
            self._seen = _text(entries[-1][0])
        return entries

    def _xreadgroup(self, start: str, count: int, block: int | None) -> Any:
        return self._redis.xreadgroup(
            self._group, self._consumer, {self._key: start}, count=count, block=block
        )

    def _group_call(self, fn: Callable[[], T]) -> T:
        try:
            return self._bus.call(fn)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        log.warning("stream %s lost group %s; re-creating it", self._key, self._group)
        self.ensure_group("0")  # what was published since the loss is still unread
        return self._bus.call(fn)

    def _deliveries(self, entries: list[Any], *, redelivered: bool) -> list[Delivery]:
        out = []
        for raw_id, fields in entries:
            msg_id = _text(raw_id)
            payload = fields.get(_FIELD) if fields else None
            key = fields.get(_KEY) if fields else None
            try:
                if payload is None:
                    raise MessageError("entry was trimmed or has no payload")
                message = decode(payload)
                text_key = None if key is None else _key_text(key)
            except MessageError as exc:
                log.warning("dropping entry %s of %s: %s", msg_id, self._key, exc)
                self._xack(msg_id)
                continue
            out.append(
                Delivery(
                    self._topic, self._group, self._consumer, msg_id, message, redelivered,
                    text_key,
                )
            )  # fmt: skip
        return out

    def _xack(self, msg_id: str) -> None:
        self._bus.call(lambda: self._redis.xack(self._key, self._group, msg_id))

    def _check_open(self) -> None:
        if self._closed:
            raise BusError(f"subscription {self._group}/{self._consumer} is closed")


def _entries(reply: Any) -> list[Any]:
    return list(reply[0][1]) if reply else []


def _key_text(raw: Any) -> str:
    try:
        return _text(raw)
    except UnicodeDecodeError as exc:
        raise MessageError(f"idempotency key is not UTF-8: {exc}") from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
