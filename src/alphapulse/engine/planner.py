"""Turns target weights into orders. Trades a symbol only when its target changes
(or when a flat target meets a position), so a strategy that repeats its view every
bar does not churn.

- flat -> long: a market BUY with a cash budget ``w x equity`` (``notional``), sized at
  the fill price with ``all_in`` (commission included, capped by available cash);
- any -> flat: close the whole position;
- otherwise: trade the difference ``w x equity / price - position`` in whole lots.

A target that cannot be sized yet (no price seen for the symbol, or equity <= 0) is not
remembered, so the same target is planned again once it can be.

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
from alphapulse.model.orders import Order, Side
from alphapulse.model.signals import Targets

_EPS = 1e-12
# what ``_sizes`` asks for a symbol: nothing, a cash-budget buy (``open``), a rebalancing
# buy / sell, a close of a long (sell) / short (buy) position, nothing yet (no price or
# no equity: the target is planned again)
_SKIP, _OPEN, _BUY, _SELL, _CLOSE_LONG, _CLOSE_SHORT, _UNSIZED = 0, 1, 2, 3, 4, 5, 6
_NONE: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)
_BUY_SIDE, _SELL_SIDE = Side.BUY, Side.SELL  # bound once (see ``model.orders.OPEN_STATUSES``)


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
        kind, size = _sizes(
            todo, w, pos, ctx.last_prices, ctx.equity, self.lot_size, self.min_trade_value
        )
        symbols, ts = ctx.symbols, ctx.ts_ns
        sells: list[Order] = []
        buys: list[Order] = []
        for sid, k, q in zip(todo.tolist(), kind.tolist(), size.tolist(), strict=True):
            if k == _SKIP:
                continue
            if k == _UNSIZED:
                self._last[sid] = np.nan
                continue
            side = _BUY_SIDE if k in (_BUY, _OPEN, _CLOSE_SHORT) else _SELL_SIDE
            if k == _OPEN:
                order = Order(next_id(), symbols[sid], sid, side, 0.0, ts, notional=q, tag="open")
            else:
                tag = "rebalance" if k in (_BUY, _SELL) else "close"
                order = Order(next_id(), symbols[sid], sid, side, q, ts, tag=tag)
            (sells if side is _SELL_SIDE else buys).append(order)
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
def _sizes(
    todo: npt.NDArray[np.intp],
    w: npt.NDArray[np.float64],
    pos: npt.NDArray[np.float64],
    price: npt.NDArray[np.float64],
    equity: float,
    lot: float,
    min_value: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Per symbol of ``todo``: which order (``_SKIP`` ... ``_UNSIZED``) and its
    quantity (``_OPEN``: its cash budget), by the rules of the module docstring."""
    kind = np.zeros(todo.shape[0], dtype=np.int64)
    size = np.zeros(todo.shape[0])
    for j in range(todo.shape[0]):
        i = todo[j]
        x, p, px = w[i], pos[i], price[i]
        if abs(x) <= _EPS:  # flat target: close the whole position
            if p != 0.0:
                kind[j] = _CLOSE_LONG if p > 0 else _CLOSE_SHORT
                size[j] = abs(p)
            continue
        if not math.isfinite(px) or px <= 0 or equity <= 0:
            kind[j] = _UNSIZED
            continue
        budget = abs(x) * equity
        if p == 0.0 and x > 0:
            if budget >= min_value:
                kind[j], size[j] = _OPEN, budget
            continue
        delta = math.copysign(budget / px, x) - p
        qty = np.floor(abs(delta) / lot + 1e-9) * lot
        if qty <= 0 or qty * px < min_value:
            continue
        kind[j] = _BUY if delta > 0 else _SELL
        size[j] = qty
    return kind, size


@njit(cache=True)
def no_opinion(w: npt.NDArray[np.float64]) -> bool:
    """``np.isnan(w).all()`` (True when empty) without temporaries."""
    for x in w:  # noqa: SIM110 (a compiled loop; no generator in numba)
        if not np.isnan(x):
            return False
    return True
