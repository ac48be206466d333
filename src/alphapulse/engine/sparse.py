"""Quiet-bar skipping for the event engine: work in proportion to what changes.

A backtest bar on which the strategy has no opinion anywhere (all-NaN directions), no
order is working, and neither the risk stage, the portfolio constructor nor the venue
keep per-bar state, changes exactly one thing in the engine: the ledger is marked to the
bar's closes and the step's book row is recorded. When the strategy declares its signals
in vectorised form (``Strategy.vectorized_signals``, proven equal to ``on_bar`` by the
parity tests), the engine knows in advance which bars are quiet: it runs its full
``step`` (the same venue, planner and ledger code) only on the others, revealing each
bar's precomputed signals to the step in place of ``on_bar``, and marks and records the
quiet spans between them in one compiled pass. Results are bit-identical to stepping
every bar (``tests/engine/test_sparse.py``); anything that needs every bar (a risk stage,
a rebalancing constructor, execution algorithms, a volatility-driven venue) steps every
bar, still with the revealed signals in place of ``on_bar`` where a bar without any
opinion does the same either way (``revealed_signals``); a strategy with its own per-bar
outputs, another constructor or planner, and a live feed call ``on_bar``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.core.clock import SimulatedClock
from alphapulse.engine.context import PRICES, Context
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.planner import OrderPlanner
from alphapulse.model.signals import Signals
from alphapulse.portfolio.construction import EqualSlot
from alphapulse.portfolio.ledger import _mark, _record
from alphapulse.strategies.base import Strategy

if TYPE_CHECKING:
    from alphapulse.engine.loop import Engine
    from alphapulse.sweep.signals import VectorSignals

FloatArray = npt.NDArray[np.float64]


def revealed_signals(engine: Engine, feed: object) -> VectorSignals | None:
    """The strategy's vectorised signals when ``engine`` may use them in place of
    ``on_bar`` over ``feed``, else None: a backtest from its first bar, a ``Strategy``
    that declares them and keeps no outputs of its own, and stages for which a bar with no
    opinion anywhere does the same whether ``on_bar`` returned all-NaN Signals or None
    (``Engine._trade``'s no-opinion shortcut: a risk stage that passes no-opinion
    targets through, ``EqualSlot``, the order planner)."""
    if not (engine.reveal_signals and isinstance(feed, PanelFeed) and engine.n_steps == 0):
        return None
    strategy = engine.strategy
    if (
        not getattr(engine.risk, "passes_no_opinion", False)
        or type(engine.constructor) is not EqualSlot
        or type(engine.planner) is not OrderPlanner
        or not isinstance(strategy, Strategy)
        or type(strategy).strategy_outputs is not Strategy.strategy_outputs
    ):
        return None
    panel = feed.panel
    prices = feed.history._fields[PRICES]
    sig = strategy.vectorized_signals(prices, panel.fields)
    if sig is None or sig.flat.shape != prices.shape:
        return None
    return sig


def skips_quiet_bars(engine: Engine) -> bool:
    """Whether ``engine`` (whose signals are revealed) may skip quiet bars: nothing in it
    keeps per-bar state (pass-through risk, no rebalancing, no execution algorithm, a
    venue without a volatility estimate, the simulated clock)."""
    return (
        engine.skip_quiet_bars
        and engine.risk_inert
        and engine.planner.mode == "on_change"
        and engine.algo is None
        and type(engine.clock) is SimulatedClock
        and getattr(engine.venue, "bar_stateless", False)
    )


class RevealedSignals:
    """Stands in for the strategy inside ``Engine.step``: returns bar ``ctx.t``'s
    precomputed Signals, the variant for each symbol's position (``VectorSignals``
    flat/long/short)."""

    def __init__(self, sig: VectorSignals) -> None:
        self.sig = sig
        self._by_position = sig.long is not None or sig.short is not None

    def on_bar(self, ctx: Context) -> Signals:
        s, t = self.sig, ctx.t
        d = s.flat[t]
        if self._by_position:
            pos = ctx.positions
            long = s.flat if s.long is None else s.long
            short = s.flat if s.short is None else s.short
            d = np.where(pos > 0, long[t], np.where(pos < 0, short[t], d))
        conf = None if s.confidence is None else s.confidence[t]
        return Signals(d, conf)


def active_bars(sig: VectorSignals) -> npt.NDArray[np.bool_]:
    """Bars on which the strategy has an opinion on some symbol (in any variant)."""
    out: npt.NDArray[np.bool_] = np.asarray(~np.isnan(sig.flat).all(axis=1), dtype=bool)
    for d in (sig.long, sig.short):
        if d is not None:
            out |= ~np.isnan(d).all(axis=1)
    return out


def run_sparse(
    engine: Engine,
    feed: PanelFeed,
    sig: VectorSignals,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Drive ``engine`` over ``feed``: full steps on active bars and while orders work,
    one compiled mark-and-record pass over each quiet span in between."""
    panel = feed.panel
    n = panel.n_bars
    active = active_bars(sig)
    starts = np.flatnonzero(active)
    close = np.ascontiguousarray(panel.fields["close"])
    ts = np.ascontiguousarray(panel.timestamps, dtype=np.int64)
    strategy, engine.strategy = engine.strategy, RevealedSignals(sig)
    lg, rows, venue = engine.ledger, engine._rows, engine.venue
    rows.reserve(rows.n + n)
    try:
        t = 0
        while t < n:
            if active[t] or venue.open_orders():
                engine.step(feed.bar(t))
                t += 1
            else:
                k = int(np.searchsorted(starts, t))
                end = int(starts[k]) if k < len(starts) else n
                _mark_span(lg.qty, lg.last_price, lg.cash, close, t, end, rows.vals, rows.n)
                rows.ts[rows.n : rows.n + end - t] = ts[t:end]
                rows.n += end - t
                t = end
            if progress is not None:
                progress(t - 1)
    finally:
        engine.strategy = strategy
    if n:
        feed.history.advance(n)
        engine.clock.advance_to(int(ts[n - 1]))


@njit(cache=True, error_model="numpy")
def _mark_span(
    qty: FloatArray,
    last: FloatArray,
    cash: float,
    close: FloatArray,
    t0: int,
    t1: int,
    vals: FloatArray,
    n0: int,
) -> None:
    """Bars [t0, t1) with nothing to trade: ``Ledger.mark`` then ``Ledger.record`` for
    each (the same kernels), rows from ``n0`` on."""
    for t in range(t0, t1):
        _mark(last, close[t])
        _record(qty, last, cash, vals, n0 + t - t0)
