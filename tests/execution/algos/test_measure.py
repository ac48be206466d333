"""The interval a parent is measured over: the bars after its decision bar up to the bar
it ended at, however it ended (done, replaced, halted)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphapulse.data.panel import Panel
from tests.execution.algos.harness import MIN, T0, HaltAt, Scripted, buy, run

N = 40
CLOSE = 100.0 + 0.5 * np.arange(N)
VOLUME = 100.0 * np.arange(1, N + 1)  # a different volume every bar
ALGO = {"algo": "twap", "horizon": "20min", "max_participation": 1.0, "passive": False}


def ramp(high: np.ndarray | None = None) -> Panel:
    c = CLOSE.reshape(N, 1)
    hi = c + 0.5 if high is None else high.reshape(N, 1)
    fields = {"open": c.copy(), "high": hi, "low": c - 0.5, "close": c.copy()}
    return Panel(T0 + MIN * np.arange(N), ("AAA",), {**fields, "volume": VOLUME.reshape(N, 1)})


def interval(first: int, last: int) -> tuple[float, float]:
    """Volume and typical-price VWAP of bars ``first..last`` (high + low + close = 3 x close)."""
    bars = slice(first, last + 1)
    v = float(VOLUME[bars].sum())
    return v, float((VOLUME[bars] * CLOSE[bars]).sum() / v)


@pytest.mark.parametrize("how", ["replaced", "halted"])
def test_a_parent_ended_before_the_stage_works_counts_its_end_bar(how: str) -> None:
    """Replaced (at the strategy's decision) or halted (by the risk stage) at bar 10, after
    its child filled at that bar's open: the interval runs to bar 10, that bar's volume
    and prices included, as for the fills counted in it."""
    orders = {0: [buy(3000, "twap")]}
    if how == "replaced":
        orders[10] = [buy(100, "twap")]
    r, _ = run(
        ramp(), Scripted(orders=orders), risk=HaltAt(10) if how == "halted" else None, **ALGO
    )
    rec = r.executions[0]
    assert rec["end_ns"] == T0 + 10 * MIN and rec["status"] in ("replaced", "cancelled")
    assert max(f.bar_index for f in r.fills if f.order_id in rec["children"]) == 10
    volume, vwap = interval(1, 10)
    assert rec["interval_volume"] == volume
    assert rec["interval_vwap"] == pytest.approx(vwap, rel=1e-12)


def test_a_parent_replaced_at_its_decision_bar_has_an_empty_interval() -> None:
    """Two algorithm orders for one symbol in one bar: the first is replaced before any
    bar after its decision, so it has no interval (not the history before it)."""
    r, _ = run(ramp(), Scripted(orders={10: [buy(300, "twap"), buy(200, "twap")]}), **ALGO)
    first, second = r.executions
    assert first["status"] == "replaced" and first["end_ns"] == T0 + 10 * MIN
    assert first["interval_volume"] == 0.0 and math.isnan(first["interval_vwap"])
    assert second["interval_volume"] == interval(11, 30)[0]


def test_a_bar_without_a_high_is_no_bar_for_the_interval() -> None:
    """A NaN high (the venue fills nothing in such a bar) leaves the bar out; it does not
    turn the symbol's interval VWAP into NaN for the rest of the run."""
    high = CLOSE + 0.5
    high[3] = np.nan
    r, _ = run(ramp(high), Scripted(orders={10: [buy(300, "twap")]}), **ALGO)
    (rec,) = r.executions
    end = (rec["end_ns"] - T0) // MIN
    volume, vwap = interval(11, end)
    assert rec["interval_volume"] == volume
    assert rec["interval_vwap"] == pytest.approx(vwap, rel=1e-12)


@pytest.mark.parametrize("how", ["replaced", "halted"])
def test_a_parent_done_at_the_bar_it_would_end_ends_filled(how: str) -> None:
    """Its last child fills at bar 20's open; a new order (or a halt) at bar 20 finds it
    done: it ends ``filled``, not ``replaced``/``cancelled``."""
    orders = {0: [buy(200, "twap")]}  # 10 a bar, the last child placed at bar 19
    if how == "replaced":
        orders[20] = [buy(100, "twap")]
    risk = HaltAt(20) if how == "halted" else None
    r, _ = run(ramp(), Scripted(orders=orders), risk=risk, **ALGO)
    rec = r.executions[0]
    assert max(f.bar_index for f in r.fills if f.order_id in rec["children"]) == 20
    assert (rec["status"], rec["filled"], rec["end_ns"]) == ("filled", 200, T0 + 20 * MIN)


def test_with_fills_at_the_close_the_interval_starts_at_the_decision_bar() -> None:
    """``fill_at: close``: the first child fills at the decision bar's close, so that
    bar is in the interval, as the fills are."""
    r, _ = run(ramp(), Scripted(orders={10: [buy(300, "twap")]}), fill_at="close", **ALGO)
    (rec,) = r.executions
    end = (rec["end_ns"] - T0) // MIN
    assert min(f.bar_index for f in r.fills) == 10 and rec["status"] == "filled"
    volume, vwap = interval(10, end)
    assert rec["interval_volume"] == volume
    assert rec["interval_vwap"] == pytest.approx(vwap, rel=1e-12)


def test_with_fills_at_the_close_a_parent_ends_at_its_last_fill() -> None:
    """A one-child (market) parent filled at its decision bar's close ends at that bar:
    before, the stage found it done one bar later, so bar 11's volume and prices were in
    its interval (participation halved here)."""
    algo = {**ALGO, "algo": "market"}
    r, _ = run(ramp(), Scripted(orders={10: [buy(300, "market")]}), fill_at="close", **algo)
    (rec,) = r.executions
    assert [f.bar_index for f in r.fills] == [10]
    assert (rec["status"], rec["end_ns"]) == ("filled", T0 + 10 * MIN)
    assert rec["interval_volume"] == interval(10, 10)[0]
