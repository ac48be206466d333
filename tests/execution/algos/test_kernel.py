"""The compiled child pass (``kernel.py``) against the Python reference path, and
``child_interval`` (a child every k bars)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from alphapulse.execution.algos import book
from tests.execution.algos.harness import MIN, Scripted, buy, children, minute_panel, run

WIDE = {"commission": {"model": "none"}, "slippage": {"model": "half_spread", "spread_bps": 30}}


def _noisy(n: int, days: int) -> Any:
    """Random-walk prices and volumes (some zero) so children are capped, passive or small."""
    p = minute_panel(n, days=days)
    rng = np.random.default_rng(7)
    t = len(p.timestamps)
    c = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, t)))[:, None]
    p.fields["close"][:] = c
    p.fields["open"][:] = c
    p.fields["high"][:] = c * (1 + rng.uniform(0, 0.004, (t, 1)))
    p.fields["low"][:] = c * (1 - rng.uniform(0, 0.004, (t, 1)))
    p.fields["volume"][:] = rng.choice([0.0, 200.0, 1000.0, 5000.0], (t, 1))
    return p


def _trace(r: Any) -> list[Any]:
    kids = [(o.id, o.quantity, o.type, o.limit_price, o.status, o.filled_qty) for o in r.orders]
    return [kids, [(f.order_id, f.quantity, f.price) for f in r.fills], r.executions]


@pytest.mark.parametrize("algo", ["twap", "vwap", "pov", "is", "market"])
@pytest.mark.parametrize(
    "extra",
    [
        {"session": ("14:30", "15:00"), "leftover": "carry", "min_child_notional": 3000.0},
        {"session": ("14:30", "15:00"), "leftover": "market", "urgency": "low"},
        {"child_interval": 4, "urgency": "high"},
    ],
)
def test_compiled_pass_matches_the_python_path(
    algo: str, extra: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def go() -> list[Any]:
        r, _ = run(
            _noisy(40, 3),
            Scripted(orders={0: [buy(1500, algo)], 60: [buy(600, algo)]}),
            execution=WIDE,
            horizon="20min",
            max_participation=0.2,
            **extra,
        )
        assert children(r)
        return _trace(r)

    compiled = go()
    monkeypatch.setattr(book.ParentBook, "build", classmethod(lambda cls, *a: None))
    assert go() == compiled


@pytest.mark.parametrize("algo", ["twap", "vwap", "is"])
def test_parent_average_price_is_its_childrens_fills(algo: str) -> None:
    """A parent's average price (kept as running sums as children are let go, re-priced
    passive ones and partly filled ones included) is its children's fills' average,
    also for a parent still working at the end."""
    r, _ = run(
        _noisy(40, 3),
        Scripted(orders={0: [buy(1500, algo)], 60: [buy(600, algo)], 110: [buy(4000, algo)]}),
        execution={**WIDE, "max_participation": 0.05},  # children fill over several bars
        horizon="20min",
        max_participation=0.2,
        urgency="low",
    )
    assert any(o.type.value == "limit" for o in r.orders)  # passive children were used
    assert r.executions[-1]["status"] == "working"
    for rec in r.executions:
        kids = set(rec["children"])
        fills = [f for f in r.fills if f.order_id in kids]
        qty = sum(f.quantity for f in fills)
        assert qty == pytest.approx(rec["filled"], rel=1e-12)
        want = sum(f.quantity * f.price for f in fills) / qty
        assert rec["avg_price"] == pytest.approx(want, rel=1e-12)


def test_child_interval_spaces_children_on_schedule() -> None:
    r, _ = run(
        minute_panel(60),
        Scripted(orders={0: [buy(300, "twap")]}),
        horizon="30min",
        max_participation=1.0,
        passive=False,
        child_interval=5,
    )
    (rec,) = r.executions
    kids = children(r, rec["parent_id"])
    assert rec["status"] == "filled" and rec["filled"] == 300
    assert [o.quantity for o in kids] == [50.0] * 6  # 5 bars of a 30-bar TWAP each
    assert {b.created_ns - a.created_ns for a, b in itertools.pairwise(kids)} == {5 * MIN}
    assert max(f.bar_index for f in r.fills) <= 30  # still done by the horizon


def test_child_interval_scales_the_cap() -> None:
    """Cap 10% of 1000 a bar: a child every 3 bars may take 300."""
    r, _ = run(
        minute_panel(60),
        Scripted(orders={0: [buy(900, "twap")]}),
        horizon="5min",
        max_participation=0.1,
        passive=False,
        child_interval=3,
    )
    assert [o.quantity for o in children(r)] == [300.0] * 3  # the schedule wants more
    assert r.executions[0]["filled"] == 900


@pytest.mark.parametrize(("start", "n"), [(0, 30), (1430, 30), (600, 1), (100, 1440), (1300, 2000)])
def test_profile_curve_equals_the_reference(start: int, n: int) -> None:
    from alphapulse.execution.algos.profile import VolumeProfile
    from alphapulse.execution.algos.schedules import vwap_curve

    prof = VolumeProfile(2, 3)
    rng = np.random.default_rng(3)
    for session in range(5):
        for minute in range(0, 1440, 7):
            vol = rng.choice([0.0, 1.5, 900.0, np.nan], 2) * rng.uniform(0.5, 2.0, 2)
            prof.observe(session, minute, vol)  # sums that depend on their order
    for sid in range(2):
        got, want = prof.curve(sid, start, n), vwap_curve(prof.row(sid), start, n)
        assert (got is None and want is None) or np.array_equal(got, want)  # type: ignore[arg-type]
    assert VolumeProfile(1, 2).curve(0, 0, 30) is None  # no session seen yet
