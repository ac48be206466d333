"""The step journal: each step's new and changed orders, new fills (booked into the
run's positions and cash), risk events, changed algorithm parents (``executions``: run id
+ strategy + parent id) and the equity snapshot of one strategy, written
in ONE transaction per step with idempotency keys (orders: run id + order id; fills:
run id + ``<order_id>@<ts>#<n>`` with n the fill's sequence number in the run; risk
events: run id + sequence number; snapshots: run id + bar time), and a
``strategy_switches`` row when the strategy was switched off or on at that step, and a
``regime_fits`` row per model the strategy swapped in (or failed fit it took) at that
step (a strategy with :class:`ModelFits`, the hybrid's background HMM refits).

A step is in the database entirely or not at all, so the latest snapshot's time is the
last step the strategy completed: on a restart the runtime re-runs the deterministic
engine over the bars up to that time with writing off (:attr:`resume_ts`), switched off
where it was (:meth:`paused_at`) and with the journaled models swapped in (and failed
fits taken) at the bars they were (:meth:`ModelFits.replay_fits`), then journals again
from the next bar. Rewriting a step would be a no-op anyway (the keys). A step whose
bars are not stored yet is held (:meth:`RunJournal.hold`) and written with the next
commit, so the stored steps' bars are always in the store (``live.recovery``).

The signals and regimes handed to :meth:`RunJournal.commit` are stored in the same
transaction (``signals``: one ``direction`` row per symbol with an opinion, plus
``confidence`` when given; ``regimes``: the strategy's regime row). With an ``outbox``
(the session name) the step's bus messages (``live/outbox.py``) are written there too:
those signals and regimes and the delta's orders, fills and risk events.

:class:`AnomalyJournal` stores what a session's anomaly monitor found at each bar under
every strategy's run (as a backtest records them), before the step hook after it.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlalchemy import Connection, func, select

from alphapulse.bus.messages import RegimeMsg, SignalMsg
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.loop import Engine
from alphapulse.engine.stages import RiskEvent
from alphapulse.live.delta import Delta, DeltaTracker
from alphapulse.live.outbox import Envelope, delta_envelopes, write_outbox
from alphapulse.live.parents import ParentTracker
from alphapulse.model.orders import Fill, Order
from alphapulse.store import Store, runs
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

if TYPE_CHECKING:
    from alphapulse.anomaly.records import Anomaly

log = logging.getLogger(__name__)
_BAD = re.compile(r"[^A-Za-z0-9_.:-]")


def run_id_for(session: str, label: str) -> str:
    """A stable run id for one strategy of a paper session (the same on every restart)."""
    rid = _BAD.sub("-", f"paper:{session}:{label}")
    if len(rid) > 64:
        rid = rid[:47] + "~" + hashlib.sha1(rid.encode()).hexdigest()[:16]
    return rid


def order_row(o: Order) -> dict[str, Any]:
    """An order's current state as an ``orders`` row."""
    return {
        "order_id": o.id,
        "created_ts": o.created_ns,
        "symbol": o.symbol,
        "side": o.side.name.lower(),
        "type": o.type.value,
        "quantity": o.quantity,
        "notional": o.notional,
        "limit_price": o.limit_price,
        "stop_price": o.stop_price,
        "tif": o.tif.value,
        "status": o.status.value,
        "filled_qty": o.filled_qty,
        "avg_fill_price": o.avg_fill_price if o.filled_qty > 0 else None,
        "parent_id": o.parent_id,
        "tag": o.tag,
        "reason": o.reason,
    }


@runtime_checkable
class ModelFits(Protocol):
    """A strategy whose models come from fits that finish in the background (wall-clock
    timing): its models are journaled and a restart's replay swaps them in as they ran."""

    def model_fits(self, since: int = 0) -> Sequence[tuple[int, int, int, bool]]:
        """The fits taken so far from the ``since``-th on: (data bar time, first-used
        bar time, rows, failed)."""
        ...

    def replay_fits(self, fits: Sequence[tuple[int, int, bool]], until: int) -> None:
        """Re-run the bars up to time ``until`` with ``fits`` (data bar time,
        first-used bar time, failed) taken at their journaled bars."""
        ...


class RunJournal:
    """Journals one engine's steps to ``store`` under ``run_id`` (and, with ``outbox``,
    strategy ``label``'s bus messages to that session's outbox)."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        engine: Engine,
        *,
        label: str = "",
        outbox: str | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.engine = engine
        self.label = label
        self.outbox = outbox
        self.resume_ts = last_step_ts(store, run_id)
        self._switches = switch_history(store, run_id) if self.resume_ts is not None else []
        self._paused = bool(self._switches) and not self._switches[-1][1]  # as last seen
        self._held_switches: list[tuple[int, bool]] = []  # (bar time, enabled) until written
        strategy = engine.strategy
        self._models = strategy if isinstance(strategy, ModelFits) else None
        self._fits_seen = 0  # fits journaled (or replayed) so far
        if self._models is not None and self.resume_ts is not None:
            fits = fit_history(store, run_id, label)
            self._models.replay_fits(fits, self.resume_ts)
        self.writes = 0
        self._tracker = DeltaTracker(engine)
        self._parents = ParentTracker(engine, run_id, label)
        self._held: list[Envelope] = []  # messages of steps whose write failed
        self.unwritten: list[int] = []  # steps (bar times) held or failed since the last write

    def catching_up(self, ts_ns: int) -> bool:
        """True while re-running steps the database already holds."""
        return self.resume_ts is not None and ts_ns <= self.resume_ts

    def paused_at(self, ts_ns: int) -> bool:
        """Whether the strategy was switched off at a journaled step (catching up)."""
        i = bisect.bisect_right(self._switches, ts_ns, key=lambda row: row[0]) - 1
        return i >= 0 and not self._switches[i][1]

    def hold(self, ts_ns: int, messages: Sequence[Envelope] = ()) -> None:
        """Keep this step for the next commit (its bars are not stored yet): that one
        writes this step's orders, fills, snapshot, switch and ``messages`` with its own."""
        catching_up = self.catching_up(ts_ns)
        paused = self.engine.paused
        if paused != self._paused:  # switched at this step (replayed ones are journaled)
            self._paused = paused
            if not catching_up:
                self._held_switches.append((ts_ns, not paused))
        if not catching_up:
            self._held = self._held + list(messages)  # until written
            if ts_ns not in self.unwritten[-1:]:
                self.unwritten.append(ts_ns)

    def commit(self, ts_ns: int, messages: Sequence[Envelope] = ()) -> None:
        """Write what the engine did since the last commit, with ``messages`` (nothing
        while catching up, where only the bookkeeping advances). A failed write leaves
        the bookkeeping as it was, so the next commit carries the same events again."""
        delta = self._tracker.peek()
        catching_up = self.catching_up(ts_ns)
        parents, states = self._parents.peek(build=not catching_up)
        fits = self._models.model_fits(self._fits_seen) if self._models is not None else []
        self.hold(ts_ns, messages)
        if not catching_up:
            held = self._held
            if self.outbox is not None:
                held = held + delta_envelopes(self.label, ts_ns, delta)
            self._write(delta, held, parents, fits, self._held_switches)
            self._held, self._held_switches, self.unwritten = [], [], []
        self._tracker.advance(delta)
        self._parents.advance(states)
        self._fits_seen += len(fits)

    def _write(
        self,
        d: Delta,
        messages: list[Envelope],
        parents: list[dict[str, Any]],
        fits: Sequence[tuple[int, int, int, bool]],
        switches: list[tuple[int, bool]],
    ) -> None:
        if not d and not messages and not parents and not fits and not switches:
            return
        rid = self.run_id
        switch_rows = [{"run_id": rid, "ts": ts, "enabled": on} for ts, on in switches]
        fit_rows = [
            {"run_id": rid, "strategy": self.label, "data_until": data, "used_from": used,
             "n_rows": n, "failed": failed}
            for data, used, n, failed in fits
        ]  # fmt: skip
        order_rows = [{**order_row(o), "run_id": rid} for o in d.orders]
        fill_rows = [fill_row(f, d.fill_seq + i) for i, f in enumerate(d.fills)]
        event_rows = [
            {**event_row(ev, d.event_seq + i), "run_id": rid} for i, ev in enumerate(d.events)
        ]
        snaps = [
            {"run_id": rid, "ts": ts, "cash": cash, "equity": eq, "market_value": eq - cash,
             "gross_exposure": gross, "net_exposure": net}
            for ts, eq, cash, gross, net in d.rows
        ]  # fmt: skip
        signal_rows, regime_rows = message_rows(rid, self.label, messages)

        def write(conn: Connection) -> None:
            runs.upsert(conn, TABLES["orders"], order_rows, ["run_id", "order_id"])
            runs.insert_fills(conn, rid, fill_rows)
            runs.upsert(conn, TABLES["risk_events"], event_rows, ["run_id", "seq"])
            runs.upsert(conn, TABLES["portfolio_snapshots"], snaps, ["run_id", "ts"])
            runs.upsert(conn, TABLES["signals"], signal_rows, ["run_id", "ts", "symbol", "name"])
            runs.write_regimes(conn, regime_rows)
            runs.write_executions(conn, parents)
            runs.upsert(conn, TABLES["strategy_switches"], switch_rows, ["run_id", "ts"])
            keys = ["run_id", "strategy", "data_until"]
            runs.upsert(conn, TABLES["regime_fits"], fit_rows, keys)
            if self.outbox is not None and messages:
                write_outbox(conn, self.outbox, messages)

        run_tx(self.store.engine, write)
        self.writes += 1


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def message_rows(
    run_id: str, label: str, messages: Sequence[Envelope]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``signals`` and ``regimes`` rows of a step's messages (others are skipped)."""
    signals: list[dict[str, Any]] = []
    regimes: list[dict[str, Any]] = []
    for env in messages:
        m = env.message
        if isinstance(m, SignalMsg):
            row = {"run_id": run_id, "ts": m.ts_ns, "symbol": m.symbol}
            signals.append({**row, "name": "direction", "value": _finite(m.direction)})
            if m.confidence is not None:
                signals.append({**row, "name": "confidence", "value": _finite(m.confidence)})
        elif isinstance(m, RegimeMsg):
            probs = [_finite(float(p)) for p in m.probs]
            regimes.append(
                {
                    "run_id": run_id,
                    "strategy": label,
                    "ts": m.ts_ns,
                    "symbol": m.symbol,
                    "regime": m.regime,
                    "probabilities": None
                    if all(p is None for p in probs)
                    else dict(zip(m.labels, probs, strict=True)),
                    "bars_since_change": int(m.bars_since),
                }
            )
    return signals, regimes


class AnomalyJournal:
    """A step hook: the anomalies ``found`` gained since the last bar (the monitor's
    list), upserted under each of ``run_ids`` in one transaction, then ``after``. A
    failed write is logged and retried at the next bar (the keys make it idempotent)."""

    def __init__(
        self,
        store: Store,
        run_ids: Sequence[str],
        found: list[Anomaly],
        after: Callable[[BarSlice], None] | None = None,
    ) -> None:
        self.store = store
        self.run_ids = list(run_ids)
        self.found = found
        self.after = after
        self._written = 0

    def __call__(self, bar: BarSlice) -> None:
        if len(self.found) > self._written:
            try:
                self._write(self.found[self._written :])
                self._written = len(self.found)
            except Exception as exc:
                log.error("anomalies not stored at %d: %s: %s", bar.ts_ns, type(exc).__name__, exc)
        if self.after is not None:
            self.after(bar)

    def _write(self, new: list[Anomaly]) -> None:
        from alphapulse.anomaly.records import to_frame
        from alphapulse.anomaly.sinks import store_frame
        from alphapulse.store.frames import frame_records

        rows = frame_records(store_frame(to_frame(new)), runs.ANOMALY_COLS, what="anomalies")
        table = TABLES["anomalies"]
        keys = ["run_id", "ts", "symbol", "kind"]
        every = [{**r, "run_id": rid} for rid in self.run_ids for r in rows]
        run_tx(self.store.engine, lambda conn: runs.upsert(conn, table, every, keys))


def fill_row(f: Fill, seq: int) -> dict[str, Any]:
    """A fill as a ``fills`` row; the key is unique per run and the same on a re-run."""
    return {
        "fill_key": f"{f.order_id}@{f.ts_ns}#{seq}",
        "order_id": f.order_id,
        "ts": f.ts_ns,
        "symbol": f.symbol,
        "side": f.side.name.lower(),
        "quantity": f.quantity,
        "price": f.price,
        "fee": f.fee,
        "slippage": f.slippage,
        "liquidity": f.liquidity,
        "tag": f.tag or None,
    }


def event_row(ev: RiskEvent, seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "ts": ev.ts_ns,
        "kind": ev.kind,
        "symbol": ev.symbol or None,
        "severity": "info",
        "message": ev.reason,
        "value": None,
        "detail": ev.detail or None,
    }


def switch_history(store: Store, run_id: str) -> list[tuple[int, bool]]:
    """The run's journaled switches (bar time, enabled), in time order."""
    t = TABLES["strategy_switches"]
    query = select(t.c.ts, t.c.enabled).where(t.c.run_id == run_id).order_by(t.c.ts)
    with store.engine.connect() as conn:
        return [(int(ts), bool(on)) for ts, on in conn.execute(query)]


def fit_history(store: Store, run_id: str, label: str) -> list[tuple[int, int, bool]]:
    """The run's journaled fits of strategy ``label`` (data bar time, first-used bar
    time, failed), in order."""
    t = TABLES["regime_fits"]
    query = (
        select(t.c.data_until, t.c.used_from, t.c.failed)
        .where(t.c.run_id == run_id, t.c.strategy == label)
        .order_by(t.c.data_until)
    )
    with store.engine.connect() as conn:
        return [(int(d), int(used), bool(bad)) for d, used, bad in conn.execute(query)]


def last_step_ts(store: Store, run_id: str) -> int | None:
    """Bar time of the run's latest stored step (its latest snapshot), if any."""
    snaps = TABLES["portfolio_snapshots"]
    query = select(func.max(snaps.c.ts)).where(snaps.c.run_id == run_id)
    with store.engine.connect() as conn:
        value = conn.execute(query).scalar()
    return None if value is None else int(value)
