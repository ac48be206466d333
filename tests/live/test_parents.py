"""The journal's parent rows: each step's rows of the changed parents are what the
analytics give on the session's fills, taken from an index instead of a walk over every
fill (two symbols' children interleave in time)."""

from __future__ import annotations

import numpy as np

from alphapulse.analytics.execution_quality import execution_frame
from alphapulse.data.panel import Panel
from alphapulse.engine.loop import Engine
from alphapulse.live.parents import ParentTracker
from alphapulse.model.orders import Side
from alphapulse.model.signals import OrderRequest
from alphapulse.store import runs
from tests.execution.algos.harness import Scripted, buy, minute_panel, run


def _two_symbols() -> Panel:
    one = minute_panel(60, volume=800.0)
    rng = np.random.default_rng(5)
    fields = {k: np.repeat(v, 2, axis=1) for k, v in one.fields.items()}
    fields["close"] = fields["close"] * (1 + rng.normal(0, 0.001, fields["close"].shape))
    fields["open"] = fields["close"].copy()
    return Panel(one.timestamps, ("AAA", "BBB"), fields)


def test_step_rows_equal_the_analytics_on_all_fills() -> None:
    steps: list[tuple[list[dict[str, object]], list[dict[str, object]]]] = []
    step = Engine.step

    def journaled(engine: Engine, bar: object) -> None:
        step(engine, bar)  # type: ignore[arg-type]
        tracker = trackers.setdefault(id(engine), ParentTracker(engine, "run", "s"))
        rows, states = tracker.peek()
        stage = engine.algo
        assert stage is not None
        changed = [p for p in stage.parents if p.id in states]
        kids = {c.id for p in changed for c in p.children}
        fills = [f for f in engine.fills if f.order_id in kids]
        records = [stage.record(p) for p in changed]
        want = runs.execution_records(execution_frame(records, fills), "run", "s")
        steps.append((rows, want))
        tracker.advance(states)

    trackers: dict[int, ParentTracker] = {}
    Engine.step = journaled  # type: ignore[method-assign]
    try:
        orders = {
            0: [buy(2000, "twap", 0), OrderRequest(1, Side.SELL, 1500, tag="algo:vwap")],
            20: [buy(900, "pov", 1)],
        }
        run(
            _two_symbols(),
            Scripted(orders=orders),
            execution={"commission": {"model": "none"}, "max_participation": 0.1,
                       "slippage": {"model": "half_spread", "spread_bps": 20}},
            horizon="30min",
            max_participation=0.2,
            urgency="low",
        )  # fmt: skip
    finally:
        Engine.step = step  # type: ignore[method-assign]
    assert sum(len(rows) for rows, _ in steps) > 40  # working parents, every step
    assert all(rows == want for rows, want in steps)
