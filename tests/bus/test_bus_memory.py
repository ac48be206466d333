"""In-process bus specifics and ``make_bus``."""

from __future__ import annotations

import threading
import time

import pytest

from alphapulse.bus import BusError, InProcessBus, RedisStreamsBus, SignalMsg, make_bus


def sig(i: int) -> SignalMsg:
    return SignalMsg(ts_ns=i, source="s", symbol="A", direction=-1.0)


def test_bounded_queue_drops_the_oldest() -> None:
    bus = InProcessBus(maxlen=5)
    sub = bus.subscribe("t", "g", "c")
    for i in range(12):
        bus.publish("t", sig(i))
    assert [d.message.ts_ns for d in sub.poll(max_count=100)] == [7, 8, 9, 10, 11]


def test_messages_are_shared_not_copied() -> None:
    bus = InProcessBus()
    a, b = bus.subscribe("t", "a", "c"), bus.subscribe("t", "b", "c")
    m = sig(1)
    bus.publish("t", m)
    assert a.poll()[0].message is m and b.poll()[0].message is m


def test_closing_wakes_a_blocked_poll() -> None:
    bus = InProcessBus()
    sub = bus.subscribe("t", "g", "c")
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            sub.poll(timeout=10)
        except BusError as exc:
            errors.append(exc)

    t = threading.Thread(target=wait)
    start = time.monotonic()
    t.start()
    time.sleep(0.05)
    sub.close()
    t.join(timeout=5)
    assert len(errors) == 1 and time.monotonic() - start < 9  # woken by close, not the 10 s


def test_reclaim_moves_ownership() -> None:
    bus = InProcessBus()
    first, second = bus.subscribe("t", "g", "c1"), bus.subscribe("t", "g", "c2")
    bus.publish("t", sig(1))
    (d,) = first.poll()
    (again,) = second.reclaim(min_idle=0.0)
    assert (again.id, again.consumer, again.redelivered) == (d.id, "c2", True)
    assert first.reclaim(min_idle=10.0) == []
    second.ack(again)
    assert first.reclaim(min_idle=0.0) == []


def test_make_bus() -> None:
    assert isinstance(make_bus(None), InProcessBus)
    assert isinstance(make_bus("memory", maxlen=3), InProcessBus)
    assert isinstance(make_bus("memory://"), InProcessBus)
    bus = make_bus("redis://127.0.0.1:6379/0")  # connects lazily
    assert isinstance(bus, RedisStreamsBus)
    bus.close()
    with pytest.raises(ValueError, match="unsupported bus URL"):
        make_bus("kafka://x")
    with pytest.raises(ValueError, match="maxlen"):
        make_bus("redis://127.0.0.1:6379/0", maxlen=0)
