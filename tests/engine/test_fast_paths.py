"""The engine's per-step fast paths compute exactly what the general code computes:
read-only reused Context, compiled snapshot/mark, the no-opinion planner shortcut."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context, History
from alphapulse.engine.loop import Engine
from alphapulse.engine.planner import no_opinion
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.model.orders import Fill, Side
from alphapulse.model.signals import Signals
from alphapulse.portfolio.ledger import Ledger

vals = st.one_of(st.just(np.nan), st.floats(-1e6, 1e6))
vecs = arrays(np.float64, st.integers(0, 9), elements=vals)


@settings(max_examples=200, deadline=None)
@given(vecs)
def test_no_opinion_is_all_nan(w: np.ndarray) -> None:
    assert no_opinion(w) == bool(np.isnan(w).all())


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, 6))
def test_mark_and_snapshot_match_numpy(data: st.DataObject, n: int) -> None:
    lg = Ledger(n, 1e6)
    for sid in range(n):
        q = data.draw(st.integers(-50, 50))
        if q:
            side = Side.BUY if q > 0 else Side.SELL
            lg.apply(Fill(sid, "S", sid, side, abs(q), data.draw(st.floats(1, 500)), 1.0, 0, 0))
    for _ in range(3):
        close = data.draw(arrays(np.float64, n, elements=vals))
        want = lg.last_price.copy()
        np.copyto(want, close, where=~np.isnan(close))
        lg.mark(close)
        np.testing.assert_array_equal(lg.last_price, want)
    bufs = (np.empty(n), np.empty(n), np.empty(n))
    eq = lg.snapshot_into(*bufs)
    assert eq == lg.equity
    for got, src in zip(bufs, (lg.qty, lg.avg_price, lg.last_price), strict=True):
        np.testing.assert_array_equal(got, src)
        assert got is not src


def test_context_is_read_only() -> None:
    hist = History({"close": np.ones((3, 2))}, np.arange(3))
    pos = np.array([1.0, 0.0])
    ctx = Context(1, 5, ("A", "B"), hist, pos, np.zeros(2), np.ones(2), 10.0, 11.0)
    with pytest.raises(AttributeError):
        ctx.t = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ctx.positions = np.zeros(2)  # type: ignore[misc]
    with pytest.raises(ValueError):
        ctx.positions[0] = 3.0
    assert pos.flags.writeable  # the caller's array is left as it was
    assert (ctx.t, ctx.ts_ns, ctx.cash, ctx.equity, ctx.n_symbols) == (1, 5, 10.0, 11.0, 2)
    bar = BarSlice(0, 1, 0, *([np.ones(2)] * 5))
    with pytest.raises(AttributeError):
        bar.t = 3  # type: ignore[misc]


class _Recorder:
    """Buys on the first bar; keeps what it saw (copied) and the Context objects."""

    def __init__(self) -> None:
        self.seen: list[tuple] = []
        self.ctxs: list[Context] = []

    def on_bar(self, ctx: Context) -> Signals:
        self.ctxs.append(ctx)
        self.seen.append((ctx.t, ctx.positions.copy(), ctx.cash, ctx.equity))
        assert not ctx.positions.flags.writeable and not ctx.last_prices.flags.writeable
        return Signals(np.array([1.0 if ctx.t == 0 else np.nan]))


def test_engine_reuses_one_context_refreshed_each_step() -> None:
    closes = np.array([[10.0], [11.0], [12.0]])
    hist = History({"close": closes}, np.arange(3))
    strat = _Recorder()
    venue = SimulatedVenue(ExecutionConfig(), ("A",))
    eng = Engine(strategy=strat, symbols=("A",), history=hist, venue=venue, initial_cash=100.0)
    for t in range(3):
        hist.advance(t + 1)
        row = closes[t]
        eng.step(BarSlice(t, t + 1, 0, row, row, row, row, np.full(1, 1e6)))
    assert all(c is strat.ctxs[0] for c in strat.ctxs)
    (t0, p0, c0, e0), (t1, p1, c1, e1), (t2, p2, _, e2) = strat.seen
    assert (t0, p0[0], c0, e0) == (0, 0.0, 100.0, 100.0)
    assert t1 == 1 and p1[0] > 0 and c1 < 100.0 and e1 == pytest.approx(c1 + p1[0] * 11.0)
    assert t2 == 2 and p2[0] == p1[0] and e2 == pytest.approx(e1 + p1[0])
    assert eng.result().equity[-1] == e2


def test_a_run_freezes_the_older_heap_and_unfreezes_it() -> None:
    """``Engine.run`` keeps the cycle collector off the objects made before the run
    (``core.heap.frozen_heap``) and gives them back afterwards, also on an error."""
    import gc

    from alphapulse.engine.feed import PanelFeed
    from tests.execution.algos.harness import minute_panel

    seen: list[int] = []

    class Watch:
        def on_bar(self, ctx: Context) -> Signals:
            seen.append(gc.get_freeze_count())
            if ctx.t == 3 and fail:
                raise RuntimeError("strategy failed")
            return Signals(np.array([np.nan]))

    for fail in (False, True):
        panel = minute_panel(5)
        feed = PanelFeed(panel, "UTC")
        ex = ExecutionConfig.model_validate({})
        engine = Engine(
            strategy=Watch(),
            symbols=panel.symbols,
            history=feed.history,
            venue=SimulatedVenue(ex, panel.symbols),
            initial_cash=1e6,
        )
        try:
            engine.run(feed)
        except RuntimeError:
            assert fail
        assert seen and min(seen) > 0
        assert gc.get_freeze_count() == 0
        seen.clear()
