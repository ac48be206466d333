"""Pre-trade checks: every order against the limits, at the decision bar's close.

An order of quantity q (a notional order: q = notional / price) is split into the part
that *reduces* the current position and the part that *increases* exposure (a sell of
more than a long position reduces, then opens a short). Each limit gives a cap on the
total quantity; the order is cut to the smallest cap (reason = that limit's code),
rounded down to whole lots, and rejected when nothing is left. Quantities only shrink,
so an order never changes side. Limits on exposure cap only the increasing part, so
reductions always pass them:

| code | cap on the order |
|---|---|
| ``no_short`` | sells <= long position (unless ``execution.allow_short``) |
| ``max_order_notional`` | q x price <= max_order_notional |
| ``max_participation`` | q <= max_participation x the decision bar's volume |
| ``min_price``, ``stale_data``, ``stop_cooldown`` | no increase |
| ``max_position`` | |position after| x price <= max_position_pct x equity |
| ``max_group`` | sum over the group of |position| x price <= max_group_pct x equity |
| ``max_gross_leverage`` | sum |position| x price <= max_gross_leverage x equity |
| ``max_net_leverage`` | |sum position x price| <= max_net_leverage x equity |
| ``insufficient_cash`` | buys: q x price x (1 + cash_buffer) <= available cash (no margin) |

Positions, cash and exposures are *projected*: the book after the orders already
accepted in this step, so several orders of one step respect the limits together.
Working orders from earlier steps are not projected (the venue re-checks cash and
shorting at the fill).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alphapulse.engine.context import Context
from alphapulse.engine.stages import OrderCheck, Verdict
from alphapulse.execution.sizing import round_to_lot
from alphapulse.model.orders import Order, Side
from alphapulse.risk.config import LimitsConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_EPS = 1e-9


@dataclass
class StepBook:
    """The book as projected by the orders accepted so far in one step."""

    ts_ns: int
    positions: FloatArray
    cash: float

    @staticmethod
    def of(ctx: Context) -> StepBook:
        return StepBook(ctx.ts_ns, ctx.positions.copy(), ctx.cash)


@dataclass(frozen=True, slots=True)
class Decision:
    """A check's outcome: the verdict for the engine, the final quantity and how much of
    it increases exposure."""

    check: OrderCheck
    quantity: float
    increase: float


def group_ids(symbols: tuple[str, ...], groups: dict[str, str]) -> IntArray:
    """Group index per symbol; a symbol without a group is a group of its own."""
    names: dict[str, int] = {}
    out = np.empty(len(symbols), dtype=np.int64)
    for sid, sym in enumerate(symbols):
        key = "g:" + groups[sym] if sym in groups else "s:" + sym
        out[sid] = names.setdefault(key, len(names))
    return out


class PreTradeChecks:
    """Checks orders against ``LimitsConfig`` (see the module docstring)."""

    def __init__(
        self,
        limits: LimitsConfig,
        symbols: tuple[str, ...],
        *,
        allow_short: bool = False,
        lot_size: float = 1.0,
    ) -> None:
        self.limits = limits
        self.allow_short = allow_short
        self.lot_size = lot_size
        self.groups = group_ids(symbols, limits.groups)

    def check(
        self, order: Order, ctx: Context, book: StepBook, blocked: str | None = None
    ) -> Decision:
        """Check one order; ``blocked`` is a reason code that forbids any increase."""
        lim = self.limits
        sid, s = order.sid, int(order.side)
        p = float(ctx.last_prices[sid])
        pos = float(book.positions[sid])
        if not (math.isfinite(p) and p > 0):
            return Decision(OrderCheck(Verdict.REJECT, reason="no_price"), 0.0, 0.0)
        q0 = order.notional / p if order.notional is not None else order.quantity
        reducing = min(q0, abs(pos)) if pos * s < 0 else 0.0
        caps: list[tuple[str, float]] = []
        if s == Side.SELL and not self.allow_short:
            caps.append(("no_short", max(pos, 0.0)))
        if lim.max_order_notional is not None:
            caps.append(("max_order_notional", lim.max_order_notional / p))
        if lim.max_participation is not None:
            vol = float(ctx.field("volume", 1)[-1, sid]) if ctx.history.n else math.nan
            ok = math.isfinite(vol) and vol > 0
            caps.append(("max_participation", lim.max_participation * vol if ok else reducing))
        if q0 > reducing + _EPS:
            caps.extend(self._increase_caps(order, ctx, book, p, pos, reducing, blocked))
        return self._decide(order, p, q0, reducing, caps)

    def _increase_caps(
        self,
        order: Order,
        ctx: Context,
        book: StepBook,
        p: float,
        pos: float,
        reducing: float,
        blocked: str | None,
    ) -> list[tuple[str, float]]:
        lim = self.limits
        s = int(order.side)
        eq = ctx.equity
        caps: list[tuple[str, float]] = []
        if blocked:
            caps.append((blocked, reducing))
        if lim.min_price is not None and p < lim.min_price:
            caps.append(("min_price", reducing))
        if not eq > 0:
            return [*caps, ("no_equity", reducing)]
        base = abs(pos) if reducing == 0.0 else 0.0  # same-side position the order adds to
        mv = np.where(book.positions != 0.0, book.positions * np.nan_to_num(ctx.last_prices), 0.0)
        if lim.max_position_pct is not None:
            caps.append(("max_position", reducing + max(lim.max_position_pct * eq / p - base, 0)))
        if lim.max_group_pct is not None:
            g = float(np.abs(mv[self.groups == self.groups[order.sid]]).sum())
            room = (lim.max_group_pct * eq - g) / p + reducing
            caps.append(("max_group", reducing + max(room, 0.0)))
        if lim.max_gross_leverage is not None:
            room = (lim.max_gross_leverage * eq - float(np.abs(mv).sum())) / p + reducing
            caps.append(("max_gross_leverage", reducing + max(room, 0.0)))
        if lim.max_net_leverage is not None:
            room = (lim.max_net_leverage * eq - s * float(mv.sum())) / p
            caps.append(("max_net_leverage", max(room, reducing)))
        if s == Side.BUY and not self.allow_short:
            per_unit = p * (1.0 + lim.cash_buffer)
            caps.append(("insufficient_cash", max(book.cash, 0.0) / per_unit))
        return caps

    def _decide(
        self, order: Order, p: float, q0: float, reducing: float, caps: list[tuple[str, float]]
    ) -> Decision:
        reason, q = "", q0
        for code, cap in caps:
            if cap < q - _EPS * max(q0, 1.0):
                reason, q = code, max(cap, 0.0)
        if not reason:
            return Decision(OrderCheck(Verdict.ACCEPT), q0, max(q0 - reducing, 0.0))
        if order.notional is None:
            q = round_to_lot(q, self.lot_size)
        if q <= _EPS:
            return Decision(OrderCheck(Verdict.REJECT, reason=reason), 0.0, 0.0)
        inc = max(q - reducing, 0.0)
        if order.notional is not None:
            return Decision(OrderCheck(Verdict.RESIZE, notional=q * p, reason=reason), q, inc)
        return Decision(OrderCheck(Verdict.RESIZE, quantity=q, reason=reason), q, inc)

    def commit(self, order: Order, decision: Decision, ctx: Context, book: StepBook) -> None:
        """Project an accepted (or resized) order into the step's book."""
        q = decision.quantity
        if q <= 0:
            return
        p = float(ctx.last_prices[order.sid])
        book.positions[order.sid] += int(order.side) * q
        buf = self.limits.cash_buffer
        book.cash += -q * p * (1 + buf) if order.side == Side.BUY else q * p * (1 - buf)


def cap_targets(
    w: FloatArray, limits: LimitsConfig, groups: IntArray
) -> tuple[FloatArray, list[str]]:
    """Targets within the per-name, group and gross limits (NaN = no target, ignored):
    clip each name, then scale each group and the whole book down. Returns the new
    weights and the codes of the limits that bound."""
    out = np.array(w, dtype=np.float64)
    hit: list[str] = []
    ok = ~np.isnan(out)
    lim = limits.max_position_pct
    if lim is not None and np.any(np.abs(out[ok]) > lim + _EPS):
        out[ok] = np.clip(out[ok], -lim, lim)
        hit.append("max_position")
    if limits.max_group_pct is not None:
        for g in np.unique(groups[ok]):
            m = ok & (groups == g)
            total = float(np.abs(out[m]).sum())
            if total > limits.max_group_pct + _EPS:
                out[m] *= limits.max_group_pct / total
                if "max_group" not in hit:
                    hit.append("max_group")
    if limits.max_gross_leverage is not None:
        total = float(np.abs(out[ok]).sum())
        if total > limits.max_gross_leverage + _EPS:
            out[ok] *= limits.max_gross_leverage / total
            hit.append("max_gross_leverage")
    return out, hit
