"""Stops and exits as venue brackets.

Every order that opens or adds to a position gets ``stop_loss`` / ``take_profit``
prices (``Order.stop_loss`` / ``Order.take_profit``) at a distance from the decision
bar's close: a fraction of the price (``pct``) or a multiple of the ATR (``atr``). The
venue turns them into child STOP / LIMIT orders when the entry fills (one cancels the
other), so gaps and partial fills follow the execution core.

Afterwards, once per bar, the risk stage asks the engine to amend the children:

- trailing: the stop of each child moves to ``extreme x (1 - pct)`` or
  ``extreme - k x ATR`` (longs; shorts mirror), ``extreme`` being the highest close
  since the position was opened and ATR the current one. It only ever tightens;
- reconciliation: the children of a symbol protect at most the position that will be
  left after its working reducing orders; the newest brackets shrink first, children of
  the wrong side (or of a flat book) are cancelled. A position is never left with
  more exit quantity than it holds, so an exit cannot open a naked position.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from alphapulse.engine.stages import OrderAmend
from alphapulse.execution.sizing import round_to_lot
from alphapulse.model.orders import Order, OrderType, Side
from alphapulse.risk.config import ExitRule, StopsConfig

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-9


def distance(rule: ExitRule, price: float, atr: float) -> float:
    """Price distance of an exit rule (NaN when the ATR is unknown)."""
    return rule.value * price if rule.method == "pct" else rule.value * atr


def bracket_prices(
    cfg: StopsConfig, side: Side, price: float, atr: float
) -> tuple[float | None, float | None]:
    """(stop_loss, take_profit) for an entry of ``side`` decided at ``price``; None
    where not configured or not a positive finite price."""
    s = int(side)

    def level(rule: ExitRule | None, sign: int) -> float | None:
        if rule is None:
            return None
        px = price + sign * s * distance(rule, price, atr)
        return px if math.isfinite(px) and px > 0 else None

    return level(cfg.stop_loss, -1), level(cfg.take_profit, +1)


class ExtremeTracker:
    """Highest (long) / lowest (short) close of each symbol since its position opened."""

    def __init__(self, n_symbols: int) -> None:
        self.extreme = np.full(n_symbols, np.nan)
        self._side = np.zeros(n_symbols)

    def update(self, positions: FloatArray, closes: FloatArray) -> None:
        side = np.sign(positions)
        fresh = side != self._side
        ext = self.extreme
        ext[fresh] = np.where(side[fresh] != 0, closes[fresh], np.nan)
        ok = ~fresh & np.isfinite(closes)
        long_, short = ok & (side > 0), ok & (side < 0)
        ext[long_] = np.fmax(ext[long_], closes[long_])
        ext[short] = np.fmin(ext[short], closes[short])
        self._side = side


def trail(cfg: StopsConfig, child: Order, extreme: float, atr: float) -> float | None:
    """The tighter stop price for a working stop child, or None to keep it."""
    rule = cfg.stop_loss
    if rule is None or child.type != OrderType.STOP or child.stop_price is None:
        return None
    if not math.isfinite(extreme):
        return None
    dist = distance(rule, extreme, atr)  # pct: a fraction of the extreme itself
    if not (math.isfinite(dist) and dist > 0):
        return None
    if child.side == Side.SELL:  # protects a long
        new = extreme - dist
        return new if new > child.stop_price * (1 + _EPS) and new > 0 else None
    new = extreme + dist
    return new if new < child.stop_price * (1 - _EPS) else None


def reconcile(position: float, orders: list[Order], lot_size: float) -> list[OrderAmend]:
    """Shrink or cancel one symbol's bracket children so that they never protect more
    than the position left after its working reducing orders (see the module docs)."""
    kids = [o for o in orders if o.parent_id is not None and o.is_open]
    if not kids:
        return []
    side = 1 if position > 0 else (-1 if position < 0 else 0)
    pending = sum(
        o.remaining
        for o in orders
        if o.parent_id is None and o.is_open and o.notional is None and int(o.side) == -side
    )
    keep = max(abs(position) - pending, 0.0) if side else 0.0
    groups: dict[int, list[Order]] = {}
    for o in kids:
        groups.setdefault(int(o.parent_id or 0), []).append(o)
    out: list[OrderAmend] = []
    rems = {pid: max(o.remaining for o in g) for pid, g in groups.items()}
    same_side = side != 0 and all(-int(g[0].side) == side for g in groups.values())
    if same_side and sum(rems.values()) <= keep + _EPS:
        return out  # the usual case: everything protected is still held
    for pid in sorted(groups):  # oldest first: the newest brackets shrink first
        group = groups[pid]
        rem = rems[pid]
        protects = -int(group[0].side)
        new = 0.0
        if protects == side:
            new = rem if rem <= keep + _EPS else round_to_lot(keep, lot_size)
        keep = max(keep - new, 0.0)
        if new <= _EPS:
            out.extend(
                OrderAmend(o.id, o.sid, cancel=True, reason="position_reduced") for o in group
            )
        elif new < rem - _EPS:
            out.extend(
                OrderAmend(o.id, o.sid, quantity=o.filled_qty + new, reason="position_reduced")
                for o in group
            )
    return out
