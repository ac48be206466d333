"""``min_child_notional``: on schedule, a child waits until the shortfall reaches the
minimum (or all that is left); the parent still completes by its horizon."""

from __future__ import annotations

import pytest

from tests.execution.algos.harness import FREE, Scripted, buy, children, minute_panel, run


@pytest.mark.parametrize(
    ("min_notional", "n_children", "largest"),
    [(0.0, 30, 10), (5_000.0, 6, 50), (1e9, 1, 300)],  # price 100: 10 units = 1,000
)
def test_min_child_fewer_children_same_total(
    min_notional: float, n_children: int, largest: float
) -> None:
    r, _ = run(
        minute_panel(60),
        Scripted(orders={0: [buy(300, "twap")]}),
        horizon="30min",
        max_participation=1.0,
        passive=False,
        min_child_notional=min_notional,
    )
    (rec,) = r.executions
    kids = children(r, rec["parent_id"])
    assert rec["status"] == "filled" and rec["filled"] == 300
    assert len(kids) == n_children
    assert max(o.quantity for o in kids) == largest
    assert max(f.bar_index for f in r.fills) == 30  # done by the horizon either way


@pytest.mark.parametrize(
    ("rate", "lot"),
    [(0.02, 1.0), (0.0203, 1.0), (0.0203, 0.5)],  # a cap of 20 or 20.3 units a bar
)
def test_cap_below_minimum_still_trades(rate: float, lot: float) -> None:
    """A participation cap under the minimum size: children at the cap (in whole lots,
    when the cap is not a lot multiple) from the first bar, not none."""
    r, _ = run(
        minute_panel(60),
        Scripted(orders={0: [buy(300, "twap")]}),
        execution={**FREE, "lot_size": lot},
        horizon="30min",
        max_participation=rate,
        passive=False,
        min_child_notional=10_000.0,  # 100 units
    )
    (rec,) = r.executions
    kids = children(r, rec["parent_id"])
    assert rec["filled"] == 300 and [o.quantity for o in kids] == [20.0] * 15
    assert max(f.bar_index for f in r.fills) == 30  # every other bar, done by the horizon
