"""The execution-algorithm stage between the order planner and the venue.

``observe`` takes each bar once the venue has filled at it (before the risk stage and
the strategy, so a parent ended at this bar is measured up to it); ``adopt`` turns the
planner's market orders (and explicit market orders tagged ``algo:<name>``) into parent
orders; ``work`` runs once per bar after the strategy and returns the child orders to
submit. One child works per parent at a time; it is
submitted at bar t's close and can fill from bar t+1 on, like any order. A changed
target cancels the symbol's parent and its working child (cancel/replace).

Session rule (with ``session`` hours): children are placed only when the next bar is
inside the session; at the last such bar the leftover rule applies: ``cancel`` (the
parent ends ``session_end``, the rest counts as opportunity cost), ``market`` (one last
child for everything left; what it does not fill ends ``session_end``) or ``carry``
(the rest is re-scheduled over a fresh horizon from the next session's open).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from alphapulse.core.errors import OrderError, SettingError
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context, reduces
from alphapulse.engine.feed import session_ids
from alphapulse.execution.algos.book import ParentBook
from alphapulse.execution.algos.children import (
    child_size,
    half_spread,
    limit_price,
    too_small,
    use_limit,
)
from alphapulse.execution.algos.config import ALGOS, AlgoConfig
from alphapulse.execution.algos.parent import ParentOrder
from alphapulse.execution.algos.profile import LocalMinute, VolumeProfile
from alphapulse.execution.algos.schedules import (
    is_fraction,
    kappa_t,
    pov_target,
    twap_fraction,
    vwap_fraction,
)
from alphapulse.execution.algos.state import MarketState
from alphapulse.execution.costs import ExecutionConfig, FixedBpsSlippageConfig
from alphapulse.execution.sizing import round_to_lot
from alphapulse.model.orders import OPEN_STATUSES, Order, OrderStatus, OrderType

Cancel = Callable[[int, str], bool]
NextId = Callable[[], int]
TAG = "algo:"
NOTIONAL_BUFFER = 0.005  # a cash budget becomes units at the decision price less 0.5%
_MIN_NS = 60_000_000_000
_BAR_SIZE_SEEN = 5  # steps after which the session hours are checked against the bar size
_MARKET, _LIMIT = OrderType.MARKET, OrderType.LIMIT  # bound once (see orders.OPEN_STATUSES)
_REJECTED = OrderStatus.REJECTED
_NO_SUCH = f", which names no algorithm (one of {', '.join(ALGOS)})"


class AlgoChooser(Protocol):
    """A strategy may pick the algorithm per target: ``execution_algo(sid, ctx)``
    returns an algorithm name or None (the configured one)."""

    def execution_algo(self, sid: int, ctx: Context) -> str | None: ...


class ExecutionAlgoStage:
    def __init__(
        self,
        cfg: AlgoConfig,
        symbols: tuple[str, ...],
        *,
        lot_size: float = 1.0,
        session_tz: str = "UTC",
        spread_bps: float = 0.0,
        chooser: AlgoChooser | None = None,
        fill_at: str = "next_open",
    ) -> None:
        self.cfg = cfg
        self._fills_at_decision = fill_at == "close"  # the first child fills at its bar
        self.symbols = symbols
        self.chooser = chooser
        self._lot = lot_size
        self._spread_bps = spread_bps
        self._state = MarketState(len(symbols))
        vwap = cfg.algo == "vwap"  # (else built when a parent first asks for VWAP)
        self._profile = VolumeProfile(len(symbols), cfg.profile_sessions) if vwap else None
        self._tz = session_tz
        self._minute_of = LocalMinute(session_tz)
        self._hours = cfg.session_minutes
        self.parents: list[ParentOrder] = []
        self._active: dict[int, ParentOrder] = {}  # sid -> working parent
        self._seen_ts: int | None = None
        self._dt_ns = _MIN_NS  # bar size: the smallest step seen (a minute until then)
        self._steps = 0
        self._minute = 0
        self._horizon_ns = cfg.horizon_ns
        self._book = ParentBook.build(cfg, len(symbols), lot_size, spread_bps)

    # -- engine hooks -----------------------------------------------------------------
    def adopt(
        self,
        orders: list[Order],
        replanned: Any,
        ctx: Context,
        cancel: Cancel,
        reduce_only: bool = False,
    ) -> list[Order]:
        """Parents from ``orders``; the orders not adopted are returned: to submit, or
        REJECTED when an algorithm could not work them (``_parent``)."""
        for sid in replanned:
            parent = self._active.get(int(sid))
            if parent is not None and self._settled(parent, ctx, cancel):
                self._end(parent, "replaced", ctx, cancel)
        keep: list[Order] = []
        for o in orders:
            algo = self._algo_for(o, ctx)
            if algo is None or (reduce_only and not reduces(o, ctx)):
                keep.append(o)
                continue
            old = self._active.get(o.sid)
            if old is not None and self._settled(old, ctx, cancel):
                self._end(old, "replaced", ctx, cancel)
            if algo == "vwap" and self._profile is None:
                self._profile = self._profile_so_far(ctx)
            parent = self._parent(o, algo, ctx)
            if parent is None:
                keep.append(o)  # rejected: the engine records it
                continue
            self.parents.append(parent)
            self._active[o.sid] = parent
        return keep

    def work(self, bar: BarSlice, ctx: Context, next_id: NextId, cancel: Cancel) -> list[Order]:
        """Advance every working parent (``bar`` observed); the children to submit."""
        if not self._active:
            return []
        place, last_call = self._window(bar.ts_ns)
        due: list[ParentOrder] = []
        session, lot, wait = bar.session, self._lot, self._steps - self.cfg.child_interval
        for p in list(self._active.values()):
            c = p.child
            if p.fresh or p.reason == "carry" or (p.session is not None and p.session != session):
                pass
            elif c is not None:  # a working market child just ages (as ``_due`` does)
                if place and c.type is _MARKET and c.status in OPEN_STATUSES:
                    p.session = session
                    p.child_age += 1
                    continue
            elif p.status == "working" and p.quantity - p.closed_filled >= lot:
                if not place and p.session is None:
                    continue  # waiting for its session
                if place and p.placed_step > wait and not last_call:
                    p.session = session  # the next child is not due yet
                    continue
            if self._due(p, bar, ctx, cancel, place, last_call):
                due.append(p)
        if not due:
            return []
        if self._book is None:  # the reference path (fractional lots)
            kids = (self._child(p, bar, ctx, next_id, last_call) for p in due)
            return [c for c in kids if c is not None]
        return self._children(due, bar, ctx, next_id, last_call)

    def settle(self, ctx: Context, cancel: Cancel) -> None:
        """After fills at this bar's close (``fill_at: close``): let the closed children
        go and end the parents they finished at this bar, where their last fill is."""
        for p in list(self._active.values()):
            c = p.child
            if c is not None and c.status not in OPEN_STATUSES:
                self._settled(p, ctx, cancel)

    def cancel(self, sids: list[int] | None, ctx: Context, cancel: Cancel, why: str) -> None:
        """End the parents of ``sids`` (all when None), e.g. on a risk flatten."""
        for parent in list(self._active.values()):
            if (sids is None or parent.sid in sids) and self._settled(parent, ctx, cancel):
                self._end(parent, "cancelled", ctx, cancel, why)

    def working(self) -> list[ParentOrder]:
        return list(self._active.values())

    def records(self) -> list[dict[str, Any]]:
        """Every parent's record, with the quoted spread the cost split uses."""
        return [self.record(p) for p in self.parents]

    def record(self, p: ParentOrder) -> dict[str, Any]:
        """One parent's record (a working one measured up to the last bar seen)."""
        if self._seen_ts is not None and self._active.get(p.sid) is p:
            self._measure(p, self._seen_ts, float(self._state.s[0, p.sid]))
        rec = p.record()
        rec["spread_bps"] = self._spread_bps
        return rec

    def observe(self, bar: BarSlice) -> None:
        """Take the bar into the market state (and the VWAP profile); once per bar."""
        if self._seen_ts == bar.ts_ns:
            return
        if self._seen_ts is not None:
            step = bar.ts_ns - self._seen_ts
            self._dt_ns = step if self._steps == 1 else min(self._dt_ns, step)
            if self._steps == _BAR_SIZE_SEEN and self._hours is not None:
                self._check_session()  # once: the bar size only shrinks after
        self._steps += 1
        self._seen_ts = bar.ts_ns
        minute = self._minute = self._minute_of(bar.ts_ns)
        if self._profile is None:
            self._state.update(bar.close, bar.high, bar.low, bar.volume)
        else:  # one compiled pass for both
            column = self._profile.column(bar.session)
            self._state.update(bar.close, bar.high, bar.low, bar.volume, column, minute)

    # -- internals --------------------------------------------------------------------
    def _profile_so_far(self, ctx: Context) -> VolumeProfile:
        """A VWAP profile for a stage that kept none (a parent tagged ``algo:vwap`` under
        another algorithm): the one it would hold, from the bars it observed (the
        history's last ``_steps`` rows up to the last bar seen)."""
        profile = VolumeProfile(len(self.symbols), self.cfg.profile_sessions)
        history = ctx.history
        if self._seen_ts is None or "volume" not in history.names():
            return profile
        ts = history.timestamps()
        end = int(np.searchsorted(ts, self._seen_ts, side="right"))
        start = max(end - self._steps, 0)
        ts = np.asarray(ts[start:end], dtype=np.int64)
        sessions = session_ids(ts, self._tz)
        minutes = LocalMinute(self._tz).minutes(ts)
        profile.backfill(sessions, minutes, history.field("volume")[start:end])
        return profile

    def _check_session(self) -> None:
        """Session hours no longer than a bar would leave every child outside them."""
        assert self._hours is not None
        lo, hi = self._hours
        bar_min = self._dt_ns // _MIN_NS
        if bar_min >= hi - lo:
            raise SettingError(
                f"execution.session {'-'.join(self.cfg.session or ())}: {hi - lo} minutes,"
                f" not longer than a bar ({bar_min} minutes), so no child could fill inside"
                " it; drop session for bars this long"
            )

    @property
    def _ahead(self) -> int:
        """Nanoseconds to the next child: ``child_interval`` bars."""
        return self.cfg.child_interval * self._dt_ns

    def _window(self, ts_ns: int) -> tuple[bool, bool]:
        """(a child placed now fills inside the session, this is the last such bar)."""
        if self._hours is None:
            return True, False
        lo, hi = self._hours
        dt_min = max(self._dt_ns // _MIN_NS, 1)
        m = self._minute
        place = lo <= m and m + dt_min < hi
        return place, place and m + 2 * dt_min >= hi

    def _algo_for(self, o: Order, ctx: Context) -> str | None:
        plain = o.type is _MARKET and o.stop_loss is None and o.take_profit is None
        if o.tag.startswith(TAG):  # the strategy's choice for this order
            name = o.tag[len(TAG) :]
            if name not in ALGOS:
                raise OrderError(f"order {o.id} {o.symbol}: tag {o.tag!r}{_NO_SUCH}")
            if not plain:
                raise OrderError(
                    f"order {o.id} {o.symbol}: tag {o.tag!r}: an algorithm works market"
                    " orders without a bracket"
                )
            return name
        if not plain or o.tag not in ("open", "rebalance", "close"):
            return None
        chosen = self.chooser.execution_algo(o.sid, ctx) if self.chooser is not None else None
        if chosen is None:
            return self.cfg.algo
        if chosen not in ALGOS:
            raise OrderError(f"order {o.id} {o.symbol}: execution_algo chose {chosen!r}{_NO_SUCH}")
        return chosen

    def _parent(self, o: Order, algo: str, ctx: Context) -> ParentOrder | None:
        """The parent of ``o``; None when it cannot be worked: then ``o`` is REJECTED
        (``no_price``: no price seen yet; ``below_lot_size``: under one lot)."""
        price = float(ctx.last_prices[o.sid])
        priced = math.isfinite(price) and price > 0
        qty = o.quantity
        if priced and o.notional is not None:
            qty = round_to_lot(o.notional / (price * (1 + NOTIONAL_BUFFER)), self._lot)
        if not priced or round_to_lot(qty, self._lot) <= 0:
            o.status, o.reason = _REJECTED, "below_lot_size" if priced else "no_price"
            return None
        # the interval starts after this bar (at it, when a child placed now fills at it)
        cum_v, cum_pv = self._state.cum(o.sid, before_last=self._fills_at_decision)
        p = ParentOrder(
            id=o.id,
            sid=o.sid,
            symbol=o.symbol,
            side=o.side,
            quantity=qty,
            algo=algo,
            urgency=self.cfg.urgency,
            decision_ns=ctx.ts_ns,
            decision_t=ctx.t,
            arrival_price=price,
            horizon_ns=self._horizon_ns,
            start_ns=ctx.ts_ns,
            sched_qty=qty,
            cum_v_start=cum_v,
            cum_pv_start=cum_pv,
        )
        return p  # anchored by ``work``

    def _anchor(self, p: ParentOrder, ts_ns: int) -> None:
        """(Re)start the schedule at ``ts_ns`` over what is left."""
        p.fresh = False
        p.start_ns = ts_ns
        p.base_filled = p.filled
        p.sched_qty = p.remaining
        p.base_volume = self._state.cum(p.sid)[0]
        bars = p.horizon_ns / self._dt_ns
        if p.algo == "is":
            p.kappa_t = kappa_t(p.urgency, self._state.sigma(p.sid), bars)
        if p.algo == "vwap" and self._profile is not None and self._profile.sessions:
            n_min = max(p.horizon_ns // _MIN_NS, 1)
            row = self._book.curves[p.sid] if self._book is not None else None
            p.curve = self._profile.curve(p.sid, self._minute + 1, int(n_min), row)
        if self._book is not None:
            self._book.anchor(p)

    def _fraction(self, p: ParentOrder, f: float) -> float:
        if p.algo == "is":
            return is_fraction(f, p.kappa_t)
        if p.algo == "vwap" and p.curve is not None:
            return vwap_fraction(p.curve, f)
        return twap_fraction(f)  # twap; vwap before any profile

    def _target(self, p: ParentOrder, ts_ns: int, last_call: bool) -> float:
        """Units the parent should have done by its next child (``child_interval`` bars)."""
        if p.algo == "market" or (last_call and self.cfg.leftover == "market"):
            return p.quantity
        if p.algo == "pov":
            printed = self._state.cum(p.sid)[0] - p.base_volume
            return p.base_filled + pov_target(self.cfg.max_participation, printed)
        f = (ts_ns + self._ahead - p.start_ns) / p.horizon_ns
        return p.base_filled + p.sched_qty * self._fraction(p, f)

    def _due(
        self,
        p: ParentOrder,
        bar: BarSlice,
        ctx: Context,
        cancel: Cancel,
        place: bool,
        last_call: bool,
    ) -> bool:
        """Advance one parent to this bar; True when it may place a child now."""
        if p.fresh:
            self._anchor(p, bar.ts_ns)
        if not self._settled(p, ctx, cancel):
            return False
        if not place or p.session not in (None, bar.session):  # (a session ended early)
            self._off_session(p, bar.session, ctx, cancel)
            if not (place and p.is_working):
                return False
        if p.reason == "carry" or (p.session is None and p.start_ns != bar.ts_ns):
            p.reason = ""  # in session (again, or decided outside it): schedule the rest
            self._anchor(p, bar.ts_ns)
        p.session = bar.session
        if p.child is not None:
            if not self._repriced(p, bar.ts_ns, cancel, last_call):
                return False
        elif self._steps - p.placed_step < self.cfg.child_interval and not last_call:
            return False  # the next child is due ``child_interval`` bars after the last
        if last_call:
            p.reason = "last_call"
        return True

    def _settled(self, p: ParentOrder, ctx: Context, cancel: Cancel) -> bool:
        """Let a closed child go; end the parent when that finished it (``filled``, or
        ``rejected`` with its child). True when it still works."""
        c = p.child
        if c is None or c.status not in OPEN_STATUSES:  # no working child (a closed one let go)
            if c is not None:
                p.child_done()
            if p.status != "working" or p.quantity - p.closed_filled < self._lot:
                self._end(p, p.status if not p.is_working else "filled", ctx, cancel, p.reason)
                return False
        return True

    def _children(
        self, due: list[ParentOrder], bar: BarSlice, ctx: Context, next_id: NextId, last_call: bool
    ) -> list[Order]:
        """The children of ``due`` parents, sized in one compiled pass (``kernel.py``)."""
        book = self._book
        assert book is not None
        every = self.cfg.child_interval
        qty, limit = book.plan(due, bar.ts_ns, self._dt_ns, every, last_call, self._state, ctx)
        out: list[Order] = []
        ts, step = bar.ts_ns, self._steps
        for p, q, px in zip(due, qty.tolist(), limit.tolist(), strict=True):
            if not q:
                continue
            passive = px == px  # NaN: a market child
            child = Order(
                next_id(),
                p.symbol,
                p.sid,
                p.side,
                q,
                ts,
                _LIMIT if passive else _MARKET,
                px if passive else None,
                tag=f"{TAG}{p.id}",
            )
            p.child, p.child_age, p.placed_step = child, 0, step
            p.children.append(child)
            out.append(child)
        return out

    def _repriced(self, p: ParentOrder, ts_ns: int, cancel: Cancel, last_call: bool) -> bool:
        """A child is working: cancel a passive one after its timeout (bars it could
        fill in: latency delays the first) or at the last call (True: a new child,
        priced afresh, may go now)."""
        child = p.child
        assert child is not None
        if ts_ns >= child.eligible_ns:
            p.child_age += 1
        if child.type is _LIMIT and (p.child_age >= self.cfg.limit_timeout or last_call):
            cancel(child.id, "reprice")
            p.release()
            return True
        return False

    def _child(
        self, p: ParentOrder, bar: BarSlice, ctx: Context, next_id: NextId, last_call: bool
    ) -> Order | None:
        sid = p.sid
        target = self._target(p, bar.ts_ns, last_call)
        want = target - p.filled
        # market and the last call take everything; POV's target is participation already
        unlimited = p.algo in ("market", "pov") or (last_call and self.cfg.leftover == "market")
        expected = self._state.volume(sid)
        every = float(self.cfg.child_interval)
        cap = self.cfg.max_participation * expected * every if math.isfinite(expected) else math.inf
        qty = child_size(want, p.remaining, math.inf if unlimited else cap, self._lot)
        if qty <= 0:
            return None
        last = float(ctx.last_prices[sid])
        ending = bar.ts_ns + self._ahead >= p.start_ns + p.horizon_ns
        min_units = self.cfg.min_child_notional / last if last > 0 else 0.0
        if not (unlimited or ending or last_call) and too_small(
            qty, min_units, p.remaining, cap, self._lot
        ):
            return None  # on schedule with a small shortfall: let it grow
        behind = unlimited or want > cap or ending or last_call
        half = half_spread(self._spread_bps, self._state.bar_range(sid))
        passive = self.cfg.passive and use_limit(
            p.urgency, half, self._state.sigma(sid), self.cfg.limit_timeout, behind
        )
        child = Order(
            next_id(),
            p.symbol,
            sid,
            p.side,
            qty,
            bar.ts_ns,
            type=_LIMIT if passive else _MARKET,
            limit_price=limit_price(p.side, last, half) if passive else None,
            tag=f"{TAG}{p.id}",
        )
        p.child, p.child_age, p.placed_step = child, 0, self._steps
        p.children.append(child)
        return child

    def _off_session(self, p: ParentOrder, session: int, ctx: Context, cancel: Cancel) -> None:
        """Outside the session: apply the leftover rule once the parent's session has
        closed (its last call passed, the close reached, or a new session begun)."""
        hours = self._hours
        if p.session is None or p.reason == "carry" or hours is None:
            return
        closed = session != p.session or self._minute + self._dt_ns // _MIN_NS >= hours[1]
        if p.reason != "last_call" and not closed:
            return
        if self.cfg.leftover == "carry":
            if p.child is not None:
                cancel(p.child.id, "session_end")
                p.child_done()
            p.reason, p.session = "carry", None
            return
        self._end(p, "session_end", ctx, cancel)

    def _end(
        self, p: ParentOrder, status: str, ctx: Context, cancel: Cancel, reason: str = ""
    ) -> None:
        if p.child is not None:
            cancel(p.child.id, status)
            p.child_done()
        if p.status != "rejected":
            p.status = status
        p.reason = reason if reason not in ("last_call", "carry") else ""
        self._measure(p, ctx.ts_ns, float(ctx.last_prices[p.sid]))
        self._active.pop(p.sid, None)

    def _measure(self, p: ParentOrder, ts_ns: int, price: float) -> None:
        """End time and price, interval volume and VWAP since the decision."""
        p.end_ns, p.end_price = ts_ns, price
        cv, cpv = self._state.cum(p.sid)
        p.interval_volume = cv - p.cum_v_start
        if p.interval_volume > 0:
            p.interval_vwap = (cpv - p.cum_pv_start) / p.interval_volume


def quoted_spread_bps(execution: ExecutionConfig) -> float:
    """The spread the cost model charges (fixed bps count as a half spread)."""
    slip = execution.slippage
    if isinstance(slip, FixedBpsSlippageConfig):
        return 2.0 * slip.bps
    return float(getattr(slip, "spread_bps", 0.0))


def build_stage(
    cfg: AlgoConfig,
    execution: ExecutionConfig,
    symbols: tuple[str, ...],
    session_tz: str,
    strategy: object,
    fill_at: str = "next_open",
) -> ExecutionAlgoStage:
    """The stage of a strategy's ``execution:`` block (``fill_at`` the run's); a strategy
    with an ``execution_algo(sid, ctx)`` method picks the algorithm per target."""
    chooser = strategy if callable(getattr(strategy, "execution_algo", None)) else None
    return ExecutionAlgoStage(
        cfg,
        symbols,
        lot_size=execution.lot_size,
        session_tz=session_tz,
        spread_bps=quoted_spread_bps(execution),
        chooser=chooser,  # type: ignore[arg-type]
        fill_at=fill_at,
    )
