"""The one event loop. Per time step (a cross-section of bars):

1. the venue matches working orders against the bar (fills go straight to the ledger);
2. the ledger marks positions to the close;
3. the risk stage guards the portfolio (may flatten, halt, or block new risk);
4. the strategy reads a read-only Context and emits Signals;
5. portfolio construction -> Targets -> risk.adjust_targets -> planner -> Orders;
6. each order passes risk.check_order, then goes to the venue;
7. in ``fill_at="close"`` mode, market orders fill at this bar's close.

A risk stage may also offer two optional hooks, called after step 3 (and the amendments
again after step 6): ``flatten_symbols(ctx)`` (symbols to close now, e.g. stale data)
and ``amend_orders(ctx, open_orders)`` (new stop prices for trailing stops, smaller or
cancelled bracket children once a position shrinks), which the engine applies to the
venue's working orders (Order objects are mutable; the venue matches them as they are).

A backtest drives it from a PanelFeed; paper trading calls ``step`` as live bars arrive
and may set ``paused`` (a strategy switched off: steps 4-6 are skipped, no new orders).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from alphapulse.core.clock import Clock, SimulatedClock
from alphapulse.core.errors import AlphaPulseError, OrderError
from alphapulse.core.heap import frozen_heap
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context, History, reduces
from alphapulse.engine.planner import OrderPlanner, no_opinion
from alphapulse.engine.sparse import (
    RevealedSignals,
    revealed_signals,
    run_sparse,
    skips_quiet_bars,
)
from alphapulse.engine.stages import (
    GuardAction,
    PassThroughRisk,
    PortfolioConstructor,
    RiskEvent,
    RiskManager,
    Verdict,
)
from alphapulse.engine.steprows import CASH, EQUITY, GROSS, NET, Row, StepRows
from alphapulse.execution.algos.stage import TAG as ALGO_TAG
from alphapulse.execution.algos.stage import ExecutionAlgoStage
from alphapulse.model.orders import Fill, Order, OrderStatus
from alphapulse.model.signals import OrderRequest, Signals
from alphapulse.portfolio.construction import EqualSlot
from alphapulse.portfolio.ledger import Ledger

FillAt = Literal["next_open", "close"]
FloatArray = npt.NDArray[np.float64]
_REJECTED = OrderStatus.REJECTED
_NO_IDS: frozenset[int] = frozenset()
_NO_GUARD = GuardAction()  # what the pass-through risk stage answers on every bar
MAX_TAG = 52  # an explicit order's tag: the store keeps 64 characters (+ ":take_profit")


class StrategyLike(Protocol):
    def on_bar(self, ctx: Context) -> Signals | None: ...


class Venue(Protocol):
    def submit(self, order: Order) -> Order: ...
    def cancel(self, order_id: int, reason: str = "cancelled") -> bool: ...
    def open_orders(self, sid: int | None = None) -> list[Order]: ...
    def process_bar(self, bar: BarSlice, account: Ledger) -> list[Fill]: ...
    def fill_market_at_close(self, bar: BarSlice, account: Ledger) -> list[Fill]: ...
    def next_order_id(self) -> int: ...
    @property
    def orders(self) -> list[Order]: ...


@dataclass
class RunResult:
    """Everything a run produced, in plain arrays and lists."""

    name: str
    symbols: tuple[str, ...]
    initial_cash: float
    timestamps: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    cash: npt.NDArray[np.float64]
    gross_exposure: npt.NDArray[np.float64]
    net_exposure: npt.NDArray[np.float64]
    orders: list[Order]
    fills: list[Fill]
    risk_events: list[RiskEvent]
    final_positions: npt.NDArray[np.float64]
    total_fees: float
    total_realized: float
    traded_notional: float
    extra: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    executions: list[dict[str, Any]] = field(default_factory=list)  # parent-order records


class Engine:
    """Runs one strategy with its own ledger, venue and risk stage."""

    def __init__(
        self,
        *,
        strategy: StrategyLike,
        symbols: tuple[str, ...],
        history: History,
        venue: Venue,
        initial_cash: float,
        constructor: PortfolioConstructor | None = None,
        risk: RiskManager | None = None,
        fill_at: FillAt = "next_open",
        lot_size: float = 1.0,
        clock: Clock | None = None,
        name: str = "",
        planner: OrderPlanner | None = None,
        algo: ExecutionAlgoStage | None = None,
    ) -> None:
        self.name = name
        self.strategy = strategy
        self.symbols = symbols
        self._shape = (len(symbols),)  # of a strategy's Signals rows
        self.history = history
        self.venue = venue
        self.ledger = Ledger(len(symbols), initial_cash)
        self.constructor = constructor or EqualSlot()
        self.risk: RiskManager = risk or PassThroughRisk()
        # a stage that declares itself inert (the pass-through one) is not called at all
        self.risk_inert: bool = getattr(self.risk, "inert", False)
        self.fill_at = fill_at
        self.clock = clock or SimulatedClock()
        self.planner = planner or OrderPlanner(len(symbols), lot_size=lot_size)
        self.algo = algo  # execution algorithms (None: planner orders go to the venue)
        # run() on a backtest feed (engine.sparse): the strategy's vectorised signals in
        # place of on_bar, and bars with nothing to do skipped where nothing needs them
        self.reveal_signals = True
        self.skip_quiet_bars = True
        self.halted = False
        self.paused = False  # skip the strategy (no new orders); matching, marks, risk go on
        self.last_signals: Signals | None = None  # this step's signals (None: not called)
        self.fills: list[Fill] = []
        self.rejected: list[Order] = []  # orders the risk stage refused before the venue
        self._rows = StepRows()
        self._ctx = self._new_context()  # the decision's Context, refreshed every step
        self._fill_ctx = self._new_context()  # the one fills are shown to the risk stage with

    # -- public -----------------------------------------------------------------------
    def run(
        self, feed: Iterable[BarSlice], progress: Callable[[int], None] | None = None
    ) -> RunResult:
        if isinstance(feed, Sized):  # a known number of steps: no buffer doubling
            self._rows.reserve(self._rows.n + len(feed))
        with frozen_heap():  # full collections walk the run's objects only
            sig = revealed_signals(self, feed)
            if sig is not None and skips_quiet_bars(self):
                run_sparse(self, feed, sig, progress)  # type: ignore[arg-type]
                return self.result()
            strategy = self.strategy
            if sig is not None:  # every bar, the precomputed signals in place of on_bar
                self.strategy = RevealedSignals(sig)
            try:
                for bar in feed:
                    self.step(bar)
                    if progress is not None:
                        progress(bar.t)
            finally:
                self.strategy = strategy
            return self.result()

    def step(self, bar: BarSlice) -> None:
        """Process one cross-section of bars (the history must already include it)."""
        self.clock.advance_to(bar.ts_ns)
        fills = self.venue.process_bar(bar, self.ledger)
        if fills:
            self._book(fills)
        self.ledger.mark(bar.close)
        if self.algo is not None:
            self.algo.observe(bar)
        ctx = self.context(bar)
        if self.risk_inert:  # no guards, hooks or amendments
            guard = _NO_GUARD
        else:
            guard = self.risk.on_bar(bar, ctx)
            if guard.flatten:
                self._flatten(ctx)
            if guard.halt:
                if self.algo is not None and not self.halted:  # their schedules stop
                    self.algo.cancel(None, ctx, self.venue.cancel, "halted")
                self.halted = True
            self._risk_hooks(ctx)
        self.last_signals = None
        if not (self.halted or self.paused):
            signals = self.last_signals = self.strategy.on_bar(ctx)
            if signals is not None:
                self._trade(signals, ctx, reduce_only=guard.block_new_risk)
        if self.algo is not None and not self.halted:
            for child in self.algo.work(bar, ctx, self.venue.next_order_id, self.venue.cancel):
                if guard.block_new_risk and not reduces(child, ctx):
                    self._blocked(child, True)  # ends its parent; the target is re-planned
                else:
                    self._submit(child, ctx)
        if self.fill_at == "close":
            closed = self.venue.fill_market_at_close(bar, self.ledger)
            self._book(closed)
            self.ledger.mark(bar.close)
            if closed and not self.risk_inert:  # exits follow the book before the next bar
                book = self._snapshot(bar.t, bar.ts_ns, fills=True)
                self._amend_orders(book, {f.sid for f in closed})
            if self.algo is not None:
                self.algo.settle(ctx, self.venue.cancel)
        rows = self._rows
        n = rows.n
        if n == len(rows.ts):
            rows.grow()
        rows.ts[n] = bar.ts_ns
        self.ledger.record(rows.vals, n)
        rows.n = n + 1

    @property
    def n_steps(self) -> int:
        """Steps completed so far."""
        return self._rows.n

    def rows_since(self, start: int) -> list[Row]:
        """Per-step (ts_ns, equity, cash, gross, net) rows from step ``start`` on."""
        return self._rows.since(start)

    def context(self, bar: BarSlice) -> Context:
        return self._snapshot(bar.t, bar.ts_ns)

    def _snapshot(self, t: int, ts_ns: int, fills: bool = False) -> Context:
        """The book now, in the engine's read-only Context (decision or ``fills`` one):
        copies of the ledger arrays into its buffers, refreshed in place."""
        ctx, bufs = self._fill_ctx if fills else self._ctx
        lg = self.ledger
        ctx._refresh(t, ts_ns, lg.cash, lg.snapshot_into(*bufs))
        return ctx

    def _new_context(self) -> tuple[Context, tuple[FloatArray, FloatArray, FloatArray]]:
        n = len(self.symbols)
        bufs = (np.zeros(n), np.zeros(n), np.full(n, np.nan))
        lg = self.ledger
        return Context(0, 0, self.symbols, self.history, *bufs, lg.cash, lg.equity), bufs

    def result(self) -> RunResult:
        rows, lg = self._rows, self.ledger
        return RunResult(
            name=self.name,
            symbols=self.symbols,
            initial_cash=lg.initial_cash,
            timestamps=rows.timestamps(),
            equity=rows.column(EQUITY),
            cash=rows.column(CASH),
            gross_exposure=rows.column(GROSS),
            net_exposure=rows.column(NET),
            orders=sorted([*self.venue.orders, *self.rejected], key=lambda o: o.id),
            fills=list(self.fills),
            risk_events=self.risk.events(),
            final_positions=lg.qty.copy(),
            total_fees=lg.total_fees,
            total_realized=lg.total_realized,
            traded_notional=lg.traded_notional,
            extra=self._risk_columns(),
            executions=self.algo.records() if self.algo is not None else [],
        )

    # -- internals --------------------------------------------------------------------
    def _book(self, fills: list[Fill]) -> None:
        """Record the bar's fills (the venue has applied them to the ledger already) and
        show them to the risk stage with the book as it stands after them."""
        if not fills:
            return
        self.fills.extend(fills)
        if self.risk_inert:  # no on_fill to show them to
            return
        ctx = self._snapshot(fills[0].bar_index, fills[0].ts_ns, fills=True)
        for f in fills:
            self.risk.on_fill(f, ctx)

    def _trade(self, signals: Signals, ctx: Context, reduce_only: bool) -> None:
        shape, c = self._shape, signals.confidence
        ds, cs = np.shape(signals.direction), shape if c is None else np.shape(c)
        if ds != shape or cs != shape:
            what, got = ("directions", ds) if ds != shape else ("confidences", cs)
            raise AlphaPulseError(
                f"the strategy's Signals hold {what} of shape {got}, not one per symbol {shape}"
            )
        if (
            not signals.orders
            and type(self.constructor) is EqualSlot
            and getattr(self.risk, "passes_no_opinion", False)
            and type(self.planner) is OrderPlanner
            and no_opinion(signals.direction)
        ):  # all-NaN targets: nothing to plan (what the full path would find)
            self.planner.skip()
            return
        targets = self.constructor.construct(signals, ctx)
        targets = self.risk.adjust_targets(targets, ctx)
        planned = self.planner.plan(targets, ctx, self.venue.next_order_id)
        # A re-planned symbol's working orders are replaced (an unchanged target leaves a
        # partly filled order working); a bracket entry, whose children protect what it
        # filled, only when a new order for the symbol comes.
        replanned = self.planner.replanned
        if replanned.size and self.venue.open_orders():
            renewed = {o.sid for o in planned}
            for sid in replanned.tolist():
                for o in self.venue.open_orders(sid):
                    if o.parent_id is None and (sid in renewed or not _bracketed(o)):
                        self.venue.cancel(o.id, "replaced")
        targeted = {o.id for o in planned} if reduce_only else _NO_IDS  # the planner's orders
        planned += [self._explicit(req, ctx) for req in signals.orders]
        if self.algo is not None:  # parents kept by the algorithm; the rest goes on
            cancel = self.venue.cancel
            planned = self.algo.adopt(planned, self.planner.replanned, ctx, cancel, reduce_only)
        for order in planned:
            if order.status is _REJECTED:  # an algorithm could not work it
                self.rejected.append(order)
                continue
            if reduce_only and not reduces(order, ctx):
                self._blocked(order, order.id in targeted)
                continue
            self._submit(order, ctx)
        if planned and not self.risk_inert:
            self._amend_orders(ctx, {o.sid for o in planned})  # children follow the orders

    def _explicit(self, req: OrderRequest, ctx: Context) -> Order:
        """An Order from a strategy's explicit request."""
        if not 0 <= req.sid < len(self.symbols):
            raise OrderError(
                f"order request for sid {req.sid}: the universe has sids 0 to"
                f" {len(self.symbols) - 1}"
            )
        if len(req.tag) > MAX_TAG:
            raise OrderError(
                f"{self.symbols[req.sid]}: order tag {req.tag[:24]!r}... is longer than"
                f" {MAX_TAG} characters (the store keeps 64, with room for a bracket's"
                " ':take_profit')"
            )
        if self.algo is None and req.tag.startswith(ALGO_TAG):
            raise OrderError(
                f"{self.symbols[req.sid]}: an order tagged {req.tag!r} needs the strategy's"
                " execution: block (execution algorithms)"
            )
        if req.cancel_working:
            for o in self.venue.open_orders(req.sid):
                if o.parent_id is None:
                    self.venue.cancel(o.id, "replaced")
        return Order(
            self.venue.next_order_id(),
            self.symbols[req.sid],
            req.sid,
            req.side,
            req.quantity,
            ctx.ts_ns,
            type=req.type,
            limit_price=req.limit_price,
            stop_price=req.stop_price,
            tif=req.tif,
            stop_loss=req.stop_loss,
            take_profit=req.take_profit,
            tag=req.tag,
        )

    def _blocked(self, order: Order, targeted: bool) -> None:
        """An order that adds risk while new risk is blocked: REJECTED
        (``new_risk_blocked``); a planned one's target is forgotten, so the planner sends
        it again once the block lifts (it re-plans only a changed target otherwise)."""
        order.status, order.reason = _REJECTED, "new_risk_blocked"
        self.rejected.append(order)
        if targeted:
            self.planner.forget(order.sid)

    def _submit(self, order: Order, ctx: Context) -> None:
        if self.risk_inert:  # accepts everything
            self.venue.submit(order)
            return
        check = self.risk.check_order(order, ctx)
        if check.verdict == Verdict.REJECT:
            order.status = OrderStatus.REJECTED
            order.reason = check.reason
            self.rejected.append(order)
            return
        if check.verdict == Verdict.RESIZE:
            order.reason = check.reason
            if order.notional is not None and check.notional is not None:
                order.notional = check.notional
            elif check.quantity is not None:
                order.quantity = check.quantity
                order.notional = None
            if (order.notional or order.quantity) <= 0:
                order.status = OrderStatus.REJECTED
                self.rejected.append(order)
                return
        self.venue.submit(order)

    def _flatten(self, ctx: Context, sids: list[int] | None = None) -> None:
        """Cancel working orders and close positions: all, or only those of ``sids``."""
        if self.algo is not None:
            self.algo.cancel(sids, ctx, self.venue.cancel, "flatten")
        if sids is None:
            for o in self.venue.open_orders():
                self.venue.cancel(o.id, "flatten")
            todo = [int(s) for s in np.flatnonzero(ctx.positions != 0.0)]
        else:
            for o in [o for s in sids for o in self.venue.open_orders(s)]:
                self.venue.cancel(o.id, "flatten")
            todo = [s for s in sids if ctx.positions[s] != 0.0]
        for sid in todo:
            order = self.planner.close_order(int(sid), ctx, self.venue.next_order_id, "flatten")
            if order is not None:
                self.venue.submit(order)
            self.planner.forget(int(sid))

    def _risk_hooks(self, ctx: Context) -> None:
        sids = self.risk.flatten_symbols(ctx)
        if sids:
            self._flatten(ctx, list(sids))
        self._amend_orders(ctx)

    def _amend_orders(self, ctx: Context, sids: set[int] | None = None) -> None:
        if sids is None:
            working = self.venue.open_orders()
        else:
            working = [o for sid in sorted(sids) for o in self.venue.open_orders(sid)]
        if not any(o.parent_id is not None for o in working):
            return
        by_id = {o.id: o for o in working}
        for a in self.risk.amend_orders(ctx, working):
            order = by_id.get(a.order_id)
            if order is None or not order.is_open:
                continue
            if a.cancel:
                self.venue.cancel(order.id, a.reason or "amended")
                continue
            if a.stop_price is not None:
                order.stop_price = a.stop_price
            if a.quantity is not None and order.filled_qty < a.quantity < order.quantity:
                order.quantity = a.quantity

    def _risk_columns(self) -> dict[str, npt.NDArray[np.float64]]:
        out = self.risk.risk_measures()
        n = self._rows.n
        return {k: v for k, v in out.items() if len(v) == n}


def _bracketed(order: Order) -> bool:
    return order.stop_loss is not None or order.take_profit is not None
