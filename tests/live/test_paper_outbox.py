"""The transactional outbox: bus messages are journal rows, sent in order once the bus is
reachable, each exactly once; a re-sent message (crash between send and flag) is
processed once by a de-duplicating consumer."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from alphapulse.bus import (
    Backoff,
    Bus,
    BusError,
    Deduplicator,
    Delivery,
    InProcessBus,
    Message,
    RedisStreamsBus,
    RiskMsg,
    Subscription,
    Topic,
)
from alphapulse.config import parse_config
from alphapulse.engine.stages import RiskEvent
from alphapulse.live.outbox import Envelope, OutboxPublisher, strategy_topic, write_outbox
from alphapulse.live.session import run_session
from alphapulse.store import Store, open_store
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

from .helpers import paper_cfg

DATA = {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT", "XOM", "KO"],
        "start": "2016-01-01", "end": "2016-05-31"}  # fmt: skip
TWO = [
    {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}},
    {"strategy": "mean_reversion", "params": {"window": 10, "entry_z": 1.0}},
]


class SwitchBus:
    """Publishes to ``up``, or to ``dead`` (a Redis bus on a closed port) while ``down``."""

    def __init__(self, up: Bus, dead: Bus) -> None:
        self.up, self.dead = up, dead
        self.down = False
        self.failed = 0

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        if not self.down:
            return self.up.publish(topic, message, key=key)
        try:
            return self.dead.publish(topic, message, key=key)
        except BusError:
            self.failed += 1
            raise

    def subscribe(self, topic: str, group: str, consumer: str) -> Subscription:
        return self.up.subscribe(topic, group, consumer)

    def close(self) -> None:
        self.dead.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drain(sub: Subscription) -> list[Delivery]:
    out: list[Delivery] = []
    while batch := sub.poll(timeout=0.2, max_count=1000):
        for d in batch:
            out.append(d)
            sub.ack(d)
    return out


def _outbox(store: Store, session: str) -> list[tuple[str, str, int]]:
    t = TABLES["bus_outbox"]
    query = select(t.c.topic, t.c.key, t.c.published).where(t.c.session == session)
    with store.engine.connect() as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(query.order_by(t.c.id))]


@pytest.mark.redis
def test_messages_written_while_redis_is_unreachable_arrive_once_in_order(
    db_url: str,
    shared_data: Path,
    redis_url: str,
    redis_prefix: str,
    make_redis_bus: Callable[..., RedisStreamsBus],
) -> None:
    cfg = parse_config(paper_cfg(data=DATA, strategies=TWO))
    labels = [s.label for s in cfg.strategies]
    topics = [Topic.CROSS_SECTIONS, Topic.SIGNALS] + [
        strategy_topic(k, label) for label in labels for k in (Topic.ORDERS, Topic.FILLS)
    ]
    reader = make_redis_bus()
    subs = {t: reader.subscribe(t, "monitor", "c1") for t in topics}  # groups first
    dead = RedisStreamsBus(f"redis://127.0.0.1:{_closed_port()}/0", prefix=redis_prefix,
                           backoff=Backoff(attempts=0), socket_timeout=1.0)  # fmt: skip
    bus = SwitchBus(make_redis_bus(), dead)
    steps: list[int] = []

    def on_step(bar: object) -> None:
        steps.append(1)
        bus.down = 5 <= len(steps) < 60  # Redis unreachable for steps 6..60

    done = run_session(cfg, db_url=db_url, bus=bus, on_step=on_step)
    got = {t: _drain(s) for t, s in subs.items()}

    assert bus.failed > 0 and any(e.kind == "bus_error" for e in done.runtime.events)
    with open_store(db_url) as store:
        rows = _outbox(store, "paper-test")
        assert rows and all(published == 1 for _, _, published in rows)
        for topic in topics:
            want = [key for t, key, _ in rows if t == topic]
            assert [d.key for d in got[topic]] == want, topic  # each once, in order
        assert len(got[Topic.CROSS_SECTIONS]) == done.runtime.steps == len(steps)
        for label in labels:
            fills = store.read_table("fills", done.run_ids[label])
            assert len(got[strategy_topic(Topic.FILLS, label)]) == len(fills) > 0


def _event(i: int) -> Envelope:
    topic = strategy_topic(Topic.RISK, "s")
    return Envelope(topic, f"{topic}@{i}", RiskMsg.from_event(RiskEvent(i, "kind", f"r{i}")))


class DownBus(InProcessBus):
    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        raise BusError("unreachable")


def test_pending_rows_go_out_after_a_restart_and_duplicates_are_processed_once(
    db_url: str,
) -> None:
    with open_store(db_url) as store:
        run_tx(store.engine, lambda conn: write_outbox(conn, "s", [_event(i) for i in range(5)]))
        # re-writing a step (a restart re-running it) adds nothing
        run_tx(store.engine, lambda conn: write_outbox(conn, "s", [_event(i) for i in range(3)]))
        with pytest.raises(BusError):
            OutboxPublisher(store, "s", DownBus()).flush()
        assert OutboxPublisher(store, "s", DownBus()).pending() == 5

        bus = InProcessBus()
        sub = bus.subscribe(strategy_topic(Topic.RISK, "s"), "g", "c")
        first = OutboxPublisher(store, "s", bus)  # the next process
        first._mark = _fail_once(first._mark)  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            first.flush()  # sent, but crashed before flagging them
        assert first.pending() == 5
        assert first.flush() == 5 and first.pending() == 0

        seen: list[Message] = []
        dedup = Deduplicator(seen.append)
        deliveries = _drain_into(sub, dedup)
        assert [d.key for d in deliveries] == [e.key for e in map(_event, range(5))] * 2
        assert [m.ts_ns for m in seen] == list(range(5))  # type: ignore[attr-defined]
        assert (dedup.processed, dedup.skipped) == (5, 5)


def _fail_once(mark: Callable[[list[int]], None]) -> Callable[[list[int]], None]:
    calls = []

    def wrapped(ids: list[int]) -> None:
        calls.append(ids)
        if len(calls) == 1:
            raise RuntimeError("crash before flagging")
        mark(ids)

    return wrapped


def _drain_into(sub: Subscription, dedup: Deduplicator) -> list[Delivery]:
    out = _drain(sub)
    for d in out:
        dedup(sub, d)
    return out


def test_a_row_that_no_longer_decodes_is_flagged_and_the_rest_go_out(db_url: str) -> None:
    """A payload the codec cannot read (another codec version, a damaged row) is kept,
    flagged 2 and skipped; before, it raised on every round and blocked every row after."""
    with open_store(db_url) as store:
        run_tx(store.engine, lambda conn: write_outbox(conn, "s", [_event(i) for i in range(4)]))
        t = TABLES["bus_outbox"]
        bad = _event(1).key
        damage = t.update().where(t.c.key == bad).values(payload=b"\x00not a message")
        run_tx(store.engine, lambda conn: conn.execute(damage))
        bus = InProcessBus()
        sub = bus.subscribe(strategy_topic(Topic.RISK, "s"), "g", "c")
        publisher = OutboxPublisher(store, "s", bus)
        assert publisher.flush() == 3 and publisher.pending() == 0
        assert [d.key for d in _drain(sub)] == [_event(i).key for i in (0, 2, 3)]
        assert [flag for _, _, flag in _outbox(store, "s")] == [1, 2, 1, 1]
