"""The transactional outbox of a persisted paper session: the database journal is the
source of truth for the bus too.

Each step's bus messages are rows of ``bus_outbox`` written in the transaction of the
journal rows they report (``RunJournal``; the cross-section by :class:`OutboxBus` right
after its bars are stored), each with an idempotency key that is the same when a restart
re-runs the step (insert-or-ignore). :class:`OutboxPublisher` sends unpublished rows in
``id`` order with their keys and flags them; a failed send stops the round (order is
kept) and is retried after a backoff, so messages written while the bus is down go out,
in order, once it is back. A crash between a send and its flag re-sends that message
(at-least-once): consumers de-duplicate by key (``bus.dedup.Deduplicator``). A row that
no longer decodes (e.g. written by another codec version) is logged and flagged
``published = 2`` (kept, never sent), so it cannot hold up the rows after it.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, select, update

from alphapulse.bus.base import Bus, BusError, Subscription
from alphapulse.bus.codec import MessageError, decode, encode
from alphapulse.bus.messages import (
    FillMsg,
    Message,
    OrderMsg,
    RegimeMsg,
    RiskMsg,
    SignalMsg,
    Topic,
)
from alphapulse.live.delta import Delta
from alphapulse.model.signals import Signals
from alphapulse.store import Store, runs
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message, its topic and its idempotency key."""

    topic: str
    key: str
    message: Message


def strategy_topic(topic: Topic, label: str) -> str:
    """The per-strategy topic of orders, fills and risk events: ``<topic>.<label>``."""
    return f"{topic.value}.{label}"


def signal_envelopes(
    label: str, ts: int, signals: Signals | None, symbols: tuple[str, ...]
) -> list[Envelope]:
    """A ``SignalMsg`` per symbol with a direction (``source`` = ``label``)."""
    if signals is None:
        return []
    conf = signals.confidence
    out = []
    for i in np.flatnonzero(~np.isnan(signals.direction)).tolist():
        c = None if conf is None or not math.isfinite(conf[i]) else float(conf[i])
        msg = SignalMsg(ts, label, symbols[i], float(signals.direction[i]), c)
        out.append(Envelope(Topic.SIGNALS, f"signals@{label}@{ts}@{symbols[i]}", msg))
    return out


def regime_envelopes(label: str, ts: int, strategy: object) -> list[Envelope]:
    """A ``RegimeMsg`` for this step when the strategy reports regimes (``regime_state``
    of the hybrid); a change of regime is the message with ``previous`` set."""
    state = getattr(strategy, "regime_state", None)
    row = state() if callable(state) else None
    if row is None or row["ts_ns"] != ts:
        return []
    msg = RegimeMsg(**{**row, "source": label})
    return [Envelope(Topic.REGIMES, f"regimes@{label}@{ts}@{row['symbol']}", msg)]


def delta_envelopes(label: str, ts: int, d: Delta) -> list[Envelope]:
    """The orders (by id), fills and risk events of a journal delta."""
    orders, fills, risk = (
        strategy_topic(t, label) for t in (Topic.ORDERS, Topic.FILLS, Topic.RISK)
    )
    return [
        *(Envelope(orders, f"{orders}@{o.id}@{ts}", OrderMsg.from_order(o, ts))
          for o in sorted(d.orders, key=lambda o: o.id)),
        *(Envelope(fills, f"{fills}@{d.fill_seq + i}", FillMsg.from_fill(f))
          for i, f in enumerate(d.fills)),
        *(Envelope(risk, f"{risk}@{d.event_seq + i}", RiskMsg.from_event(ev))
          for i, ev in enumerate(d.events)),
    ]  # fmt: skip


def write_outbox(conn: Connection, session: str, envelopes: Sequence[Envelope]) -> int:
    """Add ``envelopes`` to the session's outbox in ``conn``'s transaction (a key already
    there keeps its row); rows added."""
    rows = [
        {"session": session, "key": e.key, "topic": e.topic, "payload": encode(e.message)}
        for e in envelopes
    ]
    return runs.upsert(conn, TABLES["bus_outbox"], rows, ["session", "key"], update=False)


class OutboxBus:
    """A ``Bus`` whose ``publish`` adds a row to the outbox (its own transaction; a
    message without a key gets a unique one). Subscribing goes to ``bus``."""

    def __init__(self, store: Store, session: str, bus: Bus) -> None:
        self.store = store
        self.session = session
        self.bus = bus

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        env = Envelope(topic, key or f"{topic}@{uuid.uuid4().hex}", message)
        run_tx(self.store.engine, lambda conn: write_outbox(conn, self.session, [env]))
        return env.key

    def subscribe(self, topic: str, group: str, consumer: str) -> Subscription:
        return self.bus.subscribe(topic, group, consumer)

    def close(self) -> None:
        self.bus.close()


SENT, UNDECODABLE = 1, 2  # ``bus_outbox.published`` flags (0: pending)


class OutboxPublisher:
    """Sends the session's unpublished outbox rows to ``bus`` in order (:meth:`flush`).
    After a failed round the next one waits ``min(cap, base * 2**(failures - 1))`` s."""

    def __init__(
        self,
        store: Store,
        session: str,
        bus: Bus,
        *,
        batch: int = 500,
        base: float = 0.5,
        cap: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.session = session
        self.bus = bus
        self.batch = batch
        self.base, self.cap = base, cap
        self.clock = clock
        self.sent = 0
        self.failures = 0
        self._next = -math.inf

    def pending(self) -> int:
        """Rows not published yet."""
        t = TABLES["bus_outbox"]
        query = select(t.c.id).where(t.c.session == self.session, t.c.published == 0)
        with self.store.engine.connect() as conn:
            return len(conn.execute(query).all())

    def flush(self, force: bool = False) -> int:
        """Send what is pending (unless backing off, or ``force``); rows sent. A bus
        failure flags what went out before it and raises ``BusError``."""
        if not force and self.clock() < self._next:
            return 0
        t = TABLES["bus_outbox"]
        query = (
            select(t.c.id, t.c.key, t.c.topic, t.c.payload)
            .where(t.c.session == self.session, t.c.published == 0)
            .order_by(t.c.id)
            .limit(self.batch)
        )
        total = 0
        while True:
            with self.store.engine.connect() as conn:
                rows = conn.execute(query).all()
            done: list[int] = []
            try:
                for row_id, key, topic, payload in rows:
                    try:
                        message = decode(payload)
                    except MessageError as exc:
                        log.error("outbox row %d (%s) cannot be decoded, not sent: %s",
                                  row_id, key, exc)  # fmt: skip
                        self._mark([row_id], UNDECODABLE)
                        continue
                    self.bus.publish(topic, message, key=key)
                    done.append(row_id)
            except Exception as exc:
                self._mark(done)
                self.failures += 1
                self._next = self.clock() + min(self.cap, self.base * 2 ** (self.failures - 1))
                why = f"{type(exc).__name__}: {exc}"
                raise BusError(f"outbox: {len(done)} sent, then {why}") from exc
            self._mark(done)
            self.failures = 0
            total += len(done)
            if len(rows) < self.batch:
                return total

    def _mark(self, ids: list[int], flag: int = SENT) -> None:
        if not ids:
            return
        t = TABLES["bus_outbox"]
        stmt = update(t).where(t.c.id.in_(ids)).values(published=flag)
        run_tx(self.store.engine, lambda conn: conn.execute(stmt))
        if flag == SENT:
            self.sent += len(ids)
