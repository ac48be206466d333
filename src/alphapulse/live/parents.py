"""Parent orders of an engine's execution-algorithm stage for the step journal: the
``executions`` rows of the parents that changed since the last journaled step (a working
parent changes every step: its end time and price are measured up to the bar)."""

from __future__ import annotations

from typing import Any

from alphapulse.analytics.execution_quality import execution_frame
from alphapulse.engine.loop import Engine
from alphapulse.execution.algos.parent import ParentOrder
from alphapulse.model.orders import Fill
from alphapulse.store import runs

State = tuple[str, str, float, int, int]


def parent_state(p: ParentOrder) -> State:
    return (p.status, p.reason, p.filled, len(p.children), p.end_ns)


class ParentTracker:
    """``peek()`` the parents whose journaled row is out of date and their rows;
    ``advance(states)`` once written (not advancing hands them out again)."""

    def __init__(self, engine: Engine, run_id: str, strategy: str) -> None:
        self.engine = engine
        self.run_id = run_id
        self.strategy = strategy
        self._seen = 0  # parents of the stage looked at so far
        self._open: dict[int, ParentOrder] = {}  # parent id -> working parent
        self._written: dict[int, State] = {}
        self._fills: dict[int, list[int]] = {}  # order id -> its fills' places in engine.fills
        self._indexed = 0  # engine.fills indexed so far

    def peek(self, build: bool = True) -> tuple[list[dict[str, Any]], dict[int, State]]:
        """The rows (``build``) and new states of the parents changed since ``advance``."""
        stage = self.engine.algo
        if stage is None:
            return [], {}
        looked = [*self._open.values(), *stage.parents[self._seen :]]
        changed, records, states = [], [], {}
        for p in looked:
            rec = stage.record(p)  # measures a working parent first
            state = parent_state(p)
            if state != self._written.get(p.id):
                changed.append(p)
                records.append(rec)
                states[p.id] = state
        if not (build and records):
            return [], states
        frame = execution_frame(records, self._fills_of(changed))
        return runs.execution_records(frame, self.run_id, self.strategy), states

    def _fills_of(self, parents: list[ParentOrder]) -> list[Fill]:
        """The fills of ``parents``' children in session order (as a walk over every
        fill of the session would give them, so the sums come out the same to the last
        bit), from an index of the fills by order built as they come."""
        fills, index = self.engine.fills, self._fills
        for i in range(self._indexed, len(fills)):
            index.setdefault(fills[i].order_id, []).append(i)
        self._indexed = len(fills)
        seq = sorted(i for p in parents for c in p.children for i in index.get(c.id, ()))
        return [fills[i] for i in seq]

    def advance(self, states: dict[int, State]) -> None:
        stage = self.engine.algo
        if stage is None:
            return
        fresh = stage.parents[self._seen :]
        self._seen = len(stage.parents)
        for p in [*self._open.values(), *fresh]:
            if p.id in states:
                self._written[p.id] = states[p.id]
            if p.is_working:
                self._open[p.id] = p
            else:
                self._open.pop(p.id, None)
                self._written.pop(p.id, None)
