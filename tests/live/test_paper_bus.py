"""The paper runtime on the bus: every cross-section, each strategy's signals, orders,
fills and risk events, in step order; over Redis Streams a consumer group sees what the
journal wrote to the database."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphapulse.bus import (
    Bus,
    CrossSectionMsg,
    FillMsg,
    InProcessBus,
    Message,
    OrderMsg,
    RedisStreamsBus,
    RiskMsg,
    SignalMsg,
    Subscription,
    Topic,
)
from alphapulse.config import parse_config
from alphapulse.live.outlets import strategy_topic
from alphapulse.live.session import run_session
from alphapulse.store import open_store

from .helpers import paper_cfg

SHORT = {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT", "XOM", "KO"],
         "start": "2016-01-01", "end": "2016-09-30"}  # fmt: skip
KINDS = (Topic.ORDERS, Topic.FILLS, Topic.RISK)


class RecordingBus:
    """Records every publish, in order, and forwards it."""

    def __init__(self, inner: Bus) -> None:
        self.inner = inner
        self.log: list[tuple[str, Message]] = []

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        assert key, (topic, message)  # every paper message carries an idempotency key
        self.log.append((topic, message))
        return self.inner.publish(topic, message, key=key)

    def subscribe(self, topic: str, group: str, consumer: str) -> Subscription:
        return self.inner.subscribe(topic, group, consumer)

    def close(self) -> None:
        self.inner.close()


def _state(o: Any) -> tuple[Any, ...]:
    """The fields an OrderMsg and an Order share that change over an order's life."""
    status = getattr(o.status, "value", o.status)
    return (o.symbol, o.quantity, o.notional, o.stop_price, status, o.filled_qty, o.reason)


def _topics(labels: list[str]) -> list[str]:
    return [Topic.CROSS_SECTIONS, Topic.SIGNALS] + [
        strategy_topic(k, label) for label in labels for k in KINDS
    ]


def _drain(sub: Subscription) -> list[Message]:
    out: list[Message] = []
    while batch := sub.poll(timeout=0.2, max_count=1000):
        for d in batch:
            out.append(d.message)
            sub.ack(d)
    return out


def test_in_process_bus_gets_every_kind_in_step_order(shared_data: Path) -> None:
    cfg = parse_config(paper_cfg(data=SHORT))
    labels = [s.label for s in cfg.strategies]
    bus = RecordingBus(InProcessBus(maxlen=None))
    subs = {t: bus.subscribe(t, "test", "c1") for t in _topics(labels)}
    done = run_session(cfg, persist=False, bus=bus)
    got = {t: _drain(s) for t, s in subs.items()}
    assert [m for _, m in bus.log] and len(bus.log) == sum(len(v) for v in got.values())

    steps = [m for m in got[Topic.CROSS_SECTIONS] if isinstance(m, CrossSectionMsg)]
    result = next(iter(done.results.values()))
    assert [m.ts_ns for m in steps] == result.timestamps.tolist()
    assert steps[0].symbols == result.symbols and steps[0].timeframe == "1d"
    np.testing.assert_array_equal(steps[-1].close, done.runtime.feed.history.field("close")[-1])

    # step order: a step's cross-section first, then its messages; times never go back
    last_cross, last_ts = -1, -1
    for topic, m in bus.log:
        ts = m.ts_ns
        assert ts >= last_ts, (topic, m)
        if topic == Topic.CROSS_SECTIONS:
            last_cross = ts
        else:
            assert ts == last_cross or topic.startswith(Topic.FILLS)
        last_ts = ts

    signals = Counter(m.source for m in got[Topic.SIGNALS] if isinstance(m, SignalMsg))
    for label, r in done.results.items():
        orders = [m for m in got[strategy_topic(Topic.ORDERS, label)] if isinstance(m, OrderMsg)]
        fills = [m for m in got[strategy_topic(Topic.FILLS, label)] if isinstance(m, FillMsg)]
        risk = [m for m in got[strategy_topic(Topic.RISK, label)] if isinstance(m, RiskMsg)]
        final = {m.order_id: m for m in orders}  # the last snapshot of each order
        assert sorted(final) == [o.id for o in r.orders]
        assert [_state(final[o.id]) for o in r.orders] == [_state(o) for o in r.orders]
        assert [m.to_fill() for m in fills] == r.fills
        assert [m.to_event() for m in risk] == r.risk_events
        assert len(fills) > 0 and signals[label] > 0, label
    assert sum(len(r.risk_events) for r in done.results.values()) > 0


@pytest.mark.redis
def test_redis_consumer_group_sees_what_the_journal_wrote(
    shared_data: Path, tmp_path: Path, make_redis_bus: Callable[..., RedisStreamsBus]
) -> None:
    cfg = parse_config(paper_cfg(data=SHORT))
    labels = [s.label for s in cfg.strategies]
    db_url = f"sqlite:///{tmp_path / 'paper.sqlite'}"
    bus = make_redis_bus()
    subs = {t: bus.subscribe(t, "monitor", "c1") for t in _topics(labels)}  # groups first
    done = run_session(cfg, db_url=db_url, bus=make_redis_bus())
    got = {t: _drain(s) for t, s in subs.items()}

    by_source: dict[str, int] = defaultdict(int)
    for m in got[Topic.SIGNALS]:
        assert isinstance(m, SignalMsg)
        by_source[m.source] += 1
    with open_store(db_url) as store:
        for label in labels:
            rid = done.run_ids[label]
            orders: dict[int, Any] = {}
            for m in got[strategy_topic(Topic.ORDERS, label)]:
                assert isinstance(m, OrderMsg)
                orders[m.order_id] = m
            db_orders = store.read_table("orders", rid).set_index("order_id")
            assert sorted(orders) == sorted(db_orders.index.tolist())
            for oid, m in orders.items():
                row = db_orders.loc[oid]
                assert (m.status, m.filled_qty) == (row["status"], row["filled_qty"])
            fills = got[strategy_topic(Topic.FILLS, label)]
            assert len(fills) == len(store.read_table("fills", rid)) > 0
            risk = got[strategy_topic(Topic.RISK, label)]
            assert len(risk) == len(store.read_table("risk_events", rid))
            snaps = store.read_table("portfolio_snapshots", rid)
            assert len(got[Topic.CROSS_SECTIONS]) == len(snaps) == done.runtime.steps
            assert by_source[label] > 0
