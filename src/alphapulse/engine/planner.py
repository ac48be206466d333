"""Turns target weights into orders. Trades a symbol only when its target changes
(or when a flat target meets a position), so a strategy that repeats its view every
bar does not churn.

- flat -> long: a market BUY with a cash budget ``w x equity`` (``notional``), sized at
  the fill price with ``all_in`` (commission included, capped by available cash);
- any -> flat: close the whole position;
- otherwise: trade the difference ``w x equity / price - position`` in whole lots.

With ``mode="always"`` (rebalancing rules on, see ``portfolio/rebalance.py``) every
non-NaN target is traded towards, changed or not, so drift away from it is corrected;
orders worth less than ``min_trade_value`` are skipped in either mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.engine.context import Context
from alphapulse.model.orders import Order, OrderType, Side
from alphapulse.model.signals import Targets

_EPS = 1e-12
_NONE: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)


class OrderPlanner:
    def __init__(
        self,
        n_symbols: int,
        lot_size: float = 1.0,
        min_trade_value: float = 0.0,
        mode: Literal["on_change", "always"] = "on_change",
    ) -> None:
        self.lot_size = lot_size
        self.min_trade_value = min_trade_value
        self.mode = mode
        self._last = np.full(n_symbols, np.nan)
        self.replanned: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)  # sids of last plan

    def plan(self, targets: Targets, ctx: Context, next_id: Callable[[], int]) -> list[Order]:
        """Orders that move the book towards ``targets``; sells come before buys."""
        w = targets.weights
        pos = ctx.positions
        # the symbols to trade (changed target, or flat target meeting a position), their
        # targets remembered, in one compiled pass (none at all when ``w`` is all NaN)
        todo = self.replanned = _replan(w, self._last, pos, self.mode == "always")
        if not todo.size:
            return []
        sells: list[Order] = []
        buys: list[Order] = []
        for sid in todo.tolist():
            order = self._order_for(sid, float(w[sid]), ctx, next_id)
            if order is not None:
                (sells if order.side == Side.SELL else buys).append(order)
        return sells + buys if sells else buys

    def skip(self) -> None:
        """A step without a plan (no target anywhere): nothing was replanned."""
        self.replanned = _NONE

    @staticmethod
    def close_order(
        sid: int, ctx: Context, next_id: Callable[[], int], tag: str = "close"
    ) -> Order | None:
        """A market order closing the whole position of ``sid`` (None when flat)."""
        pos = float(ctx.positions[sid])
        if pos == 0.0:
            return None
        side = Side.SELL if pos > 0 else Side.BUY
        return Order(next_id(), ctx.symbols[sid], sid, side, abs(pos), ctx.ts_ns, tag=tag)

    def forget(self, sid: int) -> None:
        """Drop the memory of a symbol's last target (e.g. after a forced exit)."""
        self._last[sid] = np.nan

    def _order_for(
        self, sid: int, w: float, ctx: Context, next_id: Callable[[], int]
    ) -> Order | None:
        if abs(w) <= _EPS:
            return self.close_order(sid, ctx, next_id)
        pos = float(ctx.positions[sid])
        price = float(ctx.last_prices[sid])
        symbol = ctx.symbols[sid]
        equity = ctx.equity
        if not math.isfinite(price) or price <= 0 or equity <= 0:
            return None
        budget = abs(w) * equity
        if pos == 0.0 and w > 0:
            if budget < self.min_trade_value:
                return None
            return Order(
                next_id(), symbol, sid, Side.BUY, 0.0, ctx.ts_ns, notional=budget, tag="open"
            )
        desired = math.copysign(budget / price, w)
        delta = desired - pos
        qty = math.floor(abs(delta) / self.lot_size + 1e-9) * self.lot_size
        if qty <= 0 or qty * price < self.min_trade_value:
            return None
        side = Side.BUY if delta > 0 else Side.SELL
        return Order(
            next_id(), symbol, sid, side, qty, ctx.ts_ns, type=OrderType.MARKET, tag="rebalance"
        )


@njit(cache=True)
def _replan(
    w: npt.NDArray[np.float64],
    last: npt.NDArray[np.float64],
    pos: npt.NDArray[np.float64],
    always: bool,
) -> npt.NDArray[np.intp]:
    """Symbols with a target (not NaN) that changed by more than ``_EPS`` from ``last``
    (or every one with a target when ``always``), or a flat target meeting a position;
    their ``last`` set to the target."""
    out = np.empty(w.shape[0], dtype=np.intp)
    k = 0
    for i in range(w.shape[0]):
        x = w[i]
        if np.isnan(x):
            continue
        hit = always or np.isnan(last[i]) or abs(x - last[i]) > _EPS
        if hit or (abs(x) <= _EPS and pos[i] != 0.0):
            out[k] = i
            last[i] = x
            k += 1
    return out[:k]


@njit(cache=True)
def no_opinion(w: npt.NDArray[np.float64]) -> bool:
    """``np.isnan(w).all()`` (True when empty) without temporaries."""
    for x in w:  # noqa: SIM110 (a compiled loop; no generator in numba)
        if not np.isnan(x):
            return False
    return True
