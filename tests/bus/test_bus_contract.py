"""Semantics every bus implements: fan-out to groups, splitting within a group, acks,
redelivery of unacknowledged messages (run on the in-process bus and on Redis)."""

from __future__ import annotations

import threading
import time

import pytest

from alphapulse.bus import AnomalyMsg, Bus, BusError, Delivery, Subscription, Topic


def msg(i: int) -> AnomalyMsg:
    return AnomalyMsg(ts_ns=i, symbol="AAPL", kind="gap", score=float(i))


def drain(sub: Subscription, n: int, *, ack: bool = True, timeout: float = 5.0) -> list[Delivery]:
    """Poll until ``n`` deliveries arrived (or the timeout passes)."""
    out: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        got = sub.poll(timeout=0.2)
        out += got
        for d in got if ack else ():
            sub.ack(d)
    return out


def stamps(deliveries: list[Delivery]) -> list[int]:
    return [d.message.ts_ns for d in deliveries]


def test_every_group_gets_every_message(any_bus: Bus) -> None:
    a = any_bus.subscribe(Topic.ANOMALIES, "risk", "r1")
    b = any_bus.subscribe(Topic.ANOMALIES, "audit", "a1")
    ids = [any_bus.publish(Topic.ANOMALIES, msg(i)) for i in range(20)]
    assert len(set(ids)) == 20
    for sub in (a, b):
        got = drain(sub, 20)
        assert stamps(got) == list(range(20))
        assert [d.id for d in got] == ids
        assert all(d.group == sub.group and not d.redelivered for d in got)
        assert sub.poll() == []


def test_consumers_of_one_group_split_the_messages(any_bus: Bus) -> None:
    c1 = any_bus.subscribe(Topic.ANOMALIES, "g", "c1")
    c2 = any_bus.subscribe(Topic.ANOMALIES, "g", "c2")
    for i in range(10):
        any_bus.publish(Topic.ANOMALIES, msg(i))
    first = c1.poll(max_count=4)
    rest = drain(c2, 6)
    assert len(first) == 4
    assert sorted(stamps(first) + stamps(rest)) == list(range(10))
    assert {d.consumer for d in first} == {"c1"} and {d.consumer for d in rest} == {"c2"}


def test_only_messages_after_the_group_exists_are_delivered(any_bus: Bus) -> None:
    any_bus.publish(Topic.ANOMALIES, msg(0))
    sub = any_bus.subscribe(Topic.ANOMALIES, "late", "c")
    any_bus.publish(Topic.ANOMALIES, msg(1))
    assert stamps(drain(sub, 1)) == [1]
    assert sub.poll(timeout=0.05) == []


def test_unacked_messages_are_reclaimed_after_idle_time(any_bus: Bus) -> None:
    crashed = any_bus.subscribe(Topic.ANOMALIES, "g", "crashed")
    for i in range(5):
        any_bus.publish(Topic.ANOMALIES, msg(i))
    got = drain(crashed, 5, ack=False)
    crashed.ack(got[0])
    crashed.close()  # dies with 4 messages unacknowledged
    helper = any_bus.subscribe(Topic.ANOMALIES, "g", "helper")
    assert helper.reclaim(min_idle=30.0) == []  # not idle long enough yet
    time.sleep(0.25)
    taken = helper.reclaim(min_idle=0.2)
    assert stamps(taken) == [1, 2, 3, 4]
    assert all(d.redelivered and d.consumer == "helper" for d in taken)
    for d in taken:
        helper.ack(d)
    time.sleep(0.05)
    assert helper.reclaim(min_idle=0.0) == []  # all acknowledged


def test_restarted_consumer_gets_its_own_pending_first(any_bus: Bus) -> None:
    sub = any_bus.subscribe(Topic.ANOMALIES, "g", "worker-1")
    for i in range(3):
        any_bus.publish(Topic.ANOMALIES, msg(i))
    first = drain(sub, 3, ack=False)
    sub.ack(first[1])
    sub.close()
    any_bus.publish(Topic.ANOMALIES, msg(3))
    again = any_bus.subscribe(Topic.ANOMALIES, "g", "worker-1")
    redelivered = again.poll()
    assert stamps(redelivered) == [0, 2] and all(d.redelivered for d in redelivered)
    for d in redelivered:
        again.ack(d)
    fresh = drain(again, 1)
    assert stamps(fresh) == [3] and not fresh[0].redelivered


def test_ack_is_idempotent_and_checks_the_group(any_bus: Bus) -> None:
    sub = any_bus.subscribe(Topic.ANOMALIES, "g", "c")
    other = any_bus.subscribe(Topic.ANOMALIES, "h", "c")
    any_bus.publish(Topic.ANOMALIES, msg(0))
    (d,) = drain(sub, 1, ack=False)
    sub.ack(d)
    sub.ack(d)
    with pytest.raises(ValueError, match="acked elsewhere"):
        other.ack(d)


def test_poll_waits_for_a_publish_from_another_thread(any_bus: Bus) -> None:
    sub = any_bus.subscribe(Topic.ANOMALIES, "g", "c")
    timer = threading.Timer(0.1, lambda: any_bus.publish(Topic.ANOMALIES, msg(7)))
    start = time.monotonic()
    timer.start()
    got = sub.poll(timeout=30.0)
    timer.join()
    assert stamps(got) == [7]
    assert 0.05 < time.monotonic() - start < 25.0  # woken by the publish, not the timeout
    assert sub.poll(timeout=0.1) == []


def test_concurrent_publishers_deliver_each_message_once_per_group(any_bus: Bus) -> None:
    subs = [any_bus.subscribe(Topic.ANOMALIES, "g", f"c{i}") for i in range(3)]
    results: list[list[Delivery]] = [[] for _ in subs]
    stop = threading.Event()

    def consume(k: int) -> None:
        while not stop.is_set():
            for d in subs[k].poll(timeout=0.05):
                results[k].append(d)
                subs[k].ack(d)

    def produce(base: int) -> None:
        for i in range(100):
            any_bus.publish(Topic.ANOMALIES, msg(base + i))

    consumers = [threading.Thread(target=consume, args=(k,)) for k in range(3)]
    producers = [threading.Thread(target=produce, args=(1000 * p,)) for p in range(4)]
    for t in consumers + producers:
        t.start()
    for t in producers:
        t.join()
    deadline = time.monotonic() + 10
    while sum(map(len, results)) < 400 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    for t in consumers:
        t.join()
    seen = sorted(s for r in results for s in stamps(r))
    assert seen == sorted(1000 * p + i for p in range(4) for i in range(100))


def test_closed_bus_refuses_work(any_bus: Bus) -> None:
    sub = any_bus.subscribe(Topic.ANOMALIES, "g", "c")
    any_bus.close()
    with pytest.raises(BusError):
        any_bus.publish(Topic.ANOMALIES, msg(0))
    with pytest.raises(BusError):
        sub.poll()
