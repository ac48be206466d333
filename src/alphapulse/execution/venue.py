"""The simulated venue: matches working orders against OHLC bars.

Semantics (each one is exercised in ``tests/execution/test_fill_scenarios.py``):

- Time. ``submit`` sets ``eligible_ns = created_ns + latency_ns`` and status PENDING;
  an order becomes WORKING at the first bar where it is eligible. ``process_bar``
  considers an order only if ``bar.ts_ns >= eligible_ns`` and ``bar.ts_ns > created_ns``:
  an order made at bar t's close never fills inside bar t (with latency 0 it fills in
  bar t+1). ``fill_market_at_close`` fills MARKET orders with ``created_ns <= bar.ts_ns``
  and ``eligible_ns <= bar.ts_ns`` at the bar's close.
- A symbol without a bar (NaN in open/high/low/close) fills nothing; its orders wait.
- Prices: see :mod:`alphapulse.execution.matching` (market at the open; limits at the
  open when it gaps in our favour, else at the limit on a touch, as maker; stops at
  the open when gapped through, else at the stop; stop-limits trigger like a stop and
  then act as a limit; triggered intrabar, one fills in that bar only when its limit is
  marketable at the stop (at the stop, capped at the limit), else from the next bar).
  Taker prices go through the slippage model and are clamped to the order's limit;
  maker fills (a limit touched intrabar) have no slippage. ``Fill.slippage`` is the
  cash cost ``(price - reference) x side x quantity``.
- TIF. A DAY order belongs to the session of the first bar on which it is eligible
  (an order placed at a close is for the next session, as with a real broker; one
  that ``fill_market_at_close`` may fill at that close is for the close's session) and
  expires (EXPIRED, reason ``session_end``) when a bar of a later session arrives.
  GTC orders stay until filled or cancelled.
- Notional orders (``notional`` set, ``quantity`` a 0 placeholder) are sized at their
  first fill: buys ``all_in(min(notional, cash), price, commission, lot_size)``, sells
  ``floor_to_lot(notional / price)``, with ``price`` the slipped price; that becomes
  ``order.quantity``. Zero: REJECTED (``insufficient_cash`` / ``below_lot_size``).
- Lots. An order for a ``quantity`` that is not a whole number of ``lot_size`` (10.5
  units with lot size 1, 15 with lot size 10) is REJECTED at ``submit`` (``odd_lot``),
  as a venue refuses it; it never fills in part.
- Cash and shorting (unless ``allow_short``, which also allows margin): a buy whose
  cost with fees exceeds cash is resized down to what cash allows
  (``resized_insufficient_cash``); a sell is capped at the long position
  (``resized_no_short``). A resize lowers ``order.quantity`` for good; resized to
  nothing, the order is REJECTED (``insufficient_cash`` / ``no_short``), or FILLED at
  what it already filled.
- Participation. With ``max_participation``, at most ``floor_to_lot(max_participation x
  volume)`` units per symbol per bar fill (all orders together, open and close fills
  alike); the rest keeps working (PARTIALLY_FILLED) on later bars, market orders at
  later opens. No volume, no fill. Orders are matched in submission order.
- Brackets: see :mod:`alphapulse.execution.brackets`. Children are created at the entry
  fill's bar and work from the next bar. Cancelling the entry cancels its open
  children (``parent_cancelled``); an entry that expires keeps them.
- Volatility for ``SquareRootImpact`` is an EWMA of close-to-close log returns over the
  closes of bars before the current one (updated when the next bar arrives, so fills at
  bar t never see bar t's close). This update is a vectorized O(symbols) step per bar
  and runs only when that model is configured; everything else costs O(open orders).
- Every fill is applied to the account immediately, so later orders in the same bar
  see the updated cash and position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from alphapulse.core.errors import OrderError
from alphapulse.engine.bars import BarSlice
from alphapulse.execution.booking import fill_matched
from alphapulse.execution.brackets import BracketBook
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.execution.fillterms import REASONS, RESIZED
from alphapulse.execution.matching import KIND, MARKET
from alphapulse.execution.slippage import SquareRootImpact
from alphapulse.execution.volatility import EwmaVolatility
from alphapulse.model.orders import (
    OPEN_STATUSES,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    TimeInForce,
)

FloatArray = npt.NDArray[np.float64]
# enum members bound once (see ``model.orders.OPEN_STATUSES``)
_PENDING, _WORKING, _PARTIAL = OPEN_STATUSES
_FILLED, _MARKET, _DAY = OrderStatus.FILLED, OrderType.MARKET, TimeInForce.DAY
_new_fill = tuple.__new__  # a Fill from a tuple, without NamedTuple's Python-level __new__


class Account(Protocol):
    """Where fills are booked (the ledger implements it): the simulated venue books
    them in compiled code on ``book`` [5, N] (quantity, average price, realized P&L,
    fees, last price per symbol) and ``money`` (cash, traded notional); other venues
    call ``apply``."""

    book: FloatArray
    money: FloatArray

    def apply(self, fill: Fill) -> None: ...


class SimulatedVenue:
    """Order book and matching engine of one simulated account."""

    def __init__(self, config: ExecutionConfig, symbols: tuple[str, ...]) -> None:
        self._config = config
        self._symbols = symbols
        slippage = config.build_slippage()
        self._comm_params = config.build_commission().params
        self._slip_params = slippage.params
        self._lot = config.lot_size
        self._latency = config.latency_ns
        cap = config.max_participation
        self._cap = math.nan if cap is None else cap  # NaN: no participation cap
        self._allow_short = config.allow_short
        uses_vol = isinstance(slippage, SquareRootImpact)
        self._vol = EwmaVolatility(len(symbols)) if uses_vol else None
        no_vol = (np.empty(0), np.empty(0, dtype=np.int64), 0)
        self._vol_state = self._vol.state if self._vol is not None else no_vol
        self._brackets = BracketBook()
        self._orders: list[Order] = []
        self._ids: set[int] = set()
        self._open: dict[int, Order] = {}  # id -> order, in submission order
        # sid -> its open orders (id -> order), built when first asked for after a submit
        self._by_sid: dict[int, dict[int, Order]] | None = None
        self._day_session: dict[int, int | None] = {}  # open DAY order -> its session
        self._unresolved: set[int] = set()  # notional orders not sized yet
        self._next_id = 1
        self._bar_ts: int | None = None
        self._session: int | None = None
        self._pending_close: FloatArray | None = None  # last bar's closes, for the vol
        self._used = np.zeros(len(symbols))  # quantity filled per sid in the current bar
        self._used_dirty = False  # _used holds something to clear at the next bar

    # -- orders -----------------------------------------------------------------------
    def next_order_id(self) -> int:
        """A fresh order id (sequential)."""
        oid = self._next_id
        self._next_id += 1
        return oid

    def submit(self, order: Order) -> Order:
        """Accept an order: PENDING until ``eligible_ns = created_ns + latency_ns``."""
        self._validate(order)
        if order.notional is None and not _whole_lots(order.quantity, self._lot):
            self._register(order)
            self._close(order, OrderStatus.REJECTED, "odd_lot")
            return order
        eligible = order.created_ns + self._latency
        if eligible > order.eligible_ns:
            order.eligible_ns = eligible
        order.status = _PENDING
        oid = order.id
        if oid >= self._next_id:
            self._next_id = oid + 1
        self._register(order)
        if order.tif is _DAY:
            self._day_session[oid] = None  # set on its first eligible bar
        if order.notional is not None:
            self._unresolved.add(oid)
        return order

    def cancel(self, order_id: int, reason: str = "cancelled") -> bool:
        """Cancel an open order (and, for a bracket entry, its open children)."""
        order = self._open.get(order_id)
        if order is None:
            return False
        self._close(order, OrderStatus.CANCELLED, reason)
        for child in self._brackets.open_children(order_id):
            self._close(child, OrderStatus.CANCELLED, "parent_cancelled")
        return True

    @property
    def bar_stateless(self) -> bool:
        """True when a bar with no working order leaves the venue as it was (no
        volatility estimate to update), so an engine may skip such bars."""
        return self._vol is None

    def open_orders(self, sid: int | None = None) -> list[Order]:
        """Open orders (of one symbol when ``sid`` is given), in submission order."""
        if sid is None:
            return list(self._open.values())
        index = self._by_sid
        if index is None:
            index = self._by_sid = {}
            for o in self._open.values():
                by_sid = index.get(o.sid)
                if by_sid is None:
                    by_sid = index[o.sid] = {}
                by_sid[o.id] = o
        by_sid = index.get(sid)
        return list(by_sid.values()) if by_sid is not None else []

    @property
    def orders(self) -> list[Order]:
        """Every order ever submitted, bracket children included."""
        return list(self._orders)

    # -- matching ---------------------------------------------------------------------
    def process_bar(self, bar: BarSlice, account: Account) -> list[Fill]:
        """Match working orders against this bar's OHLC; fills go to ``account``."""
        return self._match_and_fill(bar, account, at_close=False)

    def fill_market_at_close(self, bar: BarSlice, account: Account) -> list[Fill]:
        """Fill eligible MARKET orders at this bar's close (``fill_at="close"``)."""
        return self._match_and_fill(bar, account, at_close=True)

    # -- internals: matching and fills ------------------------------------------------
    def _match_and_fill(self, bar: BarSlice, account: Account, at_close: bool) -> list[Fill]:
        """Match the eligible open orders in submission order (at the bar's OHLC, or
        market orders at its close) and fill them, in one compiled call for the whole
        bar unless a bracket entry or child fills (or gives up): that changes other
        orders of its bracket (children, sizes, OCO cancels), so the call stops after
        it, the change is made, and the orders after it are taken again as they now are
        (a cancelled sibling no longer matches)."""
        self._advance(bar)
        if not self._open:
            return []
        fills: list[Fill] = []
        queue = list(self._open.values())
        while queue:
            run, rows = self._eligible(queue, bar, at_close)
            done = self._fill(run, rows, bar, account, fills, at_close)
            queue = run[done:]
        return fills

    def _eligible(
        self, orders: list[Order], bar: BarSlice, at_close: bool
    ) -> tuple[list[Order], list[Any]]:
        """The orders that may fill in this bar (open, eligible, their symbol has a bar),
        PENDING ones now WORKING, and their ``booking`` columns one after another."""
        ts = bar.ts_ns
        nan = math.nan
        close = bar.close.item
        unresolved = self._unresolved  # notional orders still to be sized
        day_session = self._day_session
        run: list[Order] = []
        rows: list[Any] = []
        for order in orders:
            status = order.status
            if status not in OPEN_STATUSES:
                continue
            kind = order.type
            if at_close:
                if kind is not _MARKET or order.created_ns > ts:
                    continue
                if order.eligible_ns > ts:
                    continue
                if day_session and day_session.get(order.id, 0) is None:
                    day_session[order.id] = bar.session  # eligible now: this session's
            elif ts <= order.created_ns or ts < order.eligible_ns:
                continue
            if status is _PENDING:
                order.status = _WORKING
            c = close(order.sid)
            if c != c:  # NaN: no bar for the symbol, it waits (the compiled call checks
                continue  # the other prices; this spares it a call)
            if kind is _MARKET:
                code, limit, stop = MARKET, nan, nan
            else:
                lp, sp = order.limit_price, order.stop_price
                code = KIND[kind]
                limit, stop = nan if lp is None else lp, nan if sp is None else sp
            oid = order.id
            rows += (
                order.sid,
                order.side,
                code,
                limit,
                stop,
                order.triggered,
                order.notional if unresolved and oid in unresolved else nan,
                order.quantity,
                order.filled_qty,
                order.avg_fill_price,
                # a bracket entry or child (a parent id is set only on bracket children)
                order.stop_loss is not None
                or order.take_profit is not None
                or order.parent_id is not None,
            )
            run.append(order)
        return run, rows

    def _fill(
        self,
        orders: list[Order],
        rows: Sequence[Any],
        bar: BarSlice,
        account: Account,
        fills: list[Fill],
        at_close: bool,
    ) -> int:
        """Match and fill what the rules allow of each eligible order (``rows``: their
        ``booking`` columns, one order after another): the match, the terms, the booking
        and the orders' new fill state in one compiled
        :func:`~alphapulse.execution.booking.fill_matched` call, applied here to the
        ``Order`` objects in turn, up to and with the first bracket entry or child that
        fills or gives up (its family updated); the fills are appended to ``fills``.
        Returns how many of ``orders`` were taken."""
        if not orders:
            return 0
        # one flat list: np.fromiter reads it in half the time np.array takes on tuples
        cols = np.fromiter(rows, np.float64, len(rows)).reshape(len(orders), -1)
        terms = fill_matched(
            self._comm_params,
            self._slip_params,
            self._lot,
            self._allow_short,
            self._cap,
            cols,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            at_close,
            bar.volume,
            *self._vol_state,
            self._used,
            account.book,
            account.money,
        )
        self._used_dirty = True
        unresolved = self._unresolved
        ts, t = bar.ts_ns, bar.t
        for order, matched, qty, want, price, fee, why, slip, maker, trig, filled, avg, done in zip(
            orders, *terms.tolist(), strict=False
        ):  # (``terms`` stops after a bracket order's fill)
            if trig:
                order.triggered = True
            if not matched:
                continue
            if unresolved:
                unresolved.discard(order.id)
            order.quantity = qty
            if want <= 0:
                if why:
                    self._give_up(order, REASONS[int(why)], bar)
                continue
            if why:
                order.reason = RESIZED[int(why)]
            liquidity = "maker" if maker else "taker"
            fills.append(
                _new_fill(
                    Fill,
                    (
                        order.id,
                        order.symbol,
                        order.sid,
                        order.side,
                        want,
                        price,
                        fee,
                        ts,
                        t,
                        liquidity,
                        slip,
                        order.tag,
                    ),
                )
            )
            order.avg_fill_price = avg
            order.filled_qty = filled
            if done:
                self._close(order, _FILLED)
            else:
                order.status = _PARTIAL
            if order.parent_id is not None and self._brackets.is_child(order):
                self._after_child(order)
            elif order.stop_loss is not None or order.take_profit is not None:  # an entry
                for child in self._brackets.on_entry_fill(order, ts, self.next_order_id):
                    self._register(child)
        return int(terms.shape[1])

    # -- internals: order state -------------------------------------------------------
    def _give_up(self, order: Order, reason: str, bar: BarSlice) -> None:
        """Nothing more can fill: FILLED at what it has, else REJECTED."""
        if order.filled_qty > 0:
            order.quantity = order.filled_qty
            self._close(order, OrderStatus.FILLED, f"resized_{reason}")
        else:
            self._close(order, OrderStatus.REJECTED, reason)
        if self._brackets.is_child(order):
            self._after_child(order)

    def _after_child(self, child: Order) -> None:
        for sibling in self._brackets.on_child_update(child):
            self._close(sibling, OrderStatus.CANCELLED, "oco")

    def _register(self, order: Order) -> None:
        oid = order.id
        self._orders.append(order)
        self._ids.add(oid)
        self._open[oid] = order
        self._by_sid = None

    def _close(self, order: Order, status: OrderStatus, reason: str = "") -> None:
        order.status = status
        if reason:
            order.reason = reason
        oid = order.id
        self._open.pop(oid, None)
        if self._by_sid is not None:
            by_sid = self._by_sid.get(order.sid)
            if by_sid is not None:  # (kept when empty: at most one dict per symbol)
                by_sid.pop(oid, None)
        if self._day_session:
            self._day_session.pop(oid, None)
        if self._unresolved:
            self._unresolved.discard(oid)

    def _validate(self, order: Order) -> None:
        if order.id in self._ids:
            raise OrderError(f"order {order.id}: id already used")
        if not (0 <= order.sid < len(self._symbols)) or self._symbols[order.sid] != order.symbol:
            raise OrderError(f"order {order.id}: unknown symbol {order.symbol!r} (sid {order.sid})")
        if order.status is not _PENDING or order.filled_qty != 0.0:
            raise OrderError(f"order {order.id}: already {order.status.value}")
        sl, tp = order.stop_loss, order.take_profit
        if sl is None and tp is None:  # no bracket
            return
        for name, px in (("stop_loss", sl), ("take_profit", tp)):
            if px is not None and not (px > 0 and math.isfinite(px)):
                raise OrderError(f"order {order.id}: {name} must be > 0")
        if sl is not None and tp is not None and (tp - sl) * int(order.side) <= 0:
            raise OrderError(f"order {order.id}: stop_loss {sl} and take_profit {tp} are inverted")

    # -- internals: the clock ---------------------------------------------------------
    def _advance(self, bar: BarSlice) -> None:
        """Start a new bar: volatility, participation, DAY expiry (once per timestamp)."""
        if self._bar_ts is not None:
            if bar.ts_ns == self._bar_ts:
                return
            if bar.ts_ns < self._bar_ts:
                raise ValueError(f"bar at {bar.ts_ns} is older than the last one {self._bar_ts}")
        if self._vol is not None:
            if self._pending_close is not None:
                self._vol.update(self._pending_close)
            self._pending_close = np.array(bar.close, dtype=np.float64)
        self._bar_ts = bar.ts_ns
        if self._used_dirty:
            self._used[:] = 0.0
            self._used_dirty = False
        self._session = bar.session
        if not self._day_session:
            return
        for oid, session in list(self._day_session.items()):
            if session is None:
                o = self._open[oid]
                if bar.ts_ns >= o.eligible_ns and bar.ts_ns > o.created_ns:
                    self._day_session[oid] = bar.session
            elif session != bar.session:
                self._close(self._open[oid], OrderStatus.EXPIRED, "session_end")


def _whole_lots(quantity: float, lot: float) -> bool:
    """Whether ``quantity`` is a whole number of lots, up to float noise (``3 x 0.1``)."""
    lots = quantity / lot
    if lots.is_integer():
        return True
    return abs(lots - round(lots)) <= max(1e-6, lots * 1e-12)
