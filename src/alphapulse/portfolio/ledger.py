"""Exact accounting of one portfolio: cash, positions, average prices, realized and
unrealized P&L and fees, kept as per-symbol arrays so marking to market is vectorized.

Average-cost accounting: adding to a position moves the average price; reducing it
realizes (price - average) x quantity; a fill that crosses zero closes the old position
and opens the rest at the fill price. Fees are booked separately (``fees``), so
``realized + unrealized - fees == equity - initial_cash`` holds exactly up to rounding.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.model.orders import Fill
from alphapulse.portfolio.average_cost import book_fill
from alphapulse.sweep.kernels import pairwise_sum

FloatArray = npt.NDArray[np.float64]


class Ledger:
    """Cash and positions of one strategy. Implements the venue's ``Account`` protocol."""

    def __init__(self, n_symbols: int, initial_cash: float) -> None:
        if not initial_cash > 0:
            raise ValueError("initial_cash must be > 0")
        self.initial_cash = float(initial_cash)
        # one [5, N] block and one [cash, traded notional] pair: what a compiled booking
        # (``book_fill``) takes; the block's rows are named below
        self.book = np.zeros((5, n_symbols))
        self.money = np.array([self.initial_cash, 0.0])
        self.qty, self.avg_price, self.realized, self.fees, self.last_price = self.book
        self.last_price[:] = np.nan

    # -- Account protocol -------------------------------------------------------------
    @property
    def cash(self) -> float:
        return self.money.item(0)

    @property
    def traded_notional(self) -> float:
        return self.money.item(1)

    def position(self, sid: int) -> float:
        return float(self.qty[sid])

    def apply(self, fill: Fill) -> None:
        """Book one fill: cash, position, average price, realized P&L, fees (one
        compiled call)."""
        book_fill(self.book, self.money, fill.sid, fill.signed_qty, fill.price, fill.fee)

    # -- marking ----------------------------------------------------------------------
    def mark(self, close: FloatArray) -> None:
        """Update last prices from a cross-section of closes (NaN = no bar, keep old)."""
        _mark(self.last_price, close)

    def market_values(self) -> FloatArray:
        return np.where(self.qty != 0.0, self.qty * self.last_price, 0.0)

    @property
    def market_value(self) -> float:
        return float(self.market_values().sum())

    @property
    def equity(self) -> float:
        return self.cash + _net_gross(self.qty, self.last_price)[0]

    @property
    def gross_exposure(self) -> float:
        return float(np.abs(self.market_values()).sum())

    @property
    def net_exposure(self) -> float:
        return self.market_value

    def totals(self) -> tuple[float, float, float, float]:
        """(equity, cash, gross exposure, net exposure) from one marking pass."""
        net, gross = _net_gross(self.qty, self.last_price)
        cash = self.cash
        return cash + net, cash, gross, net

    def record(self, vals: FloatArray, n: int) -> None:
        """Write ``totals()`` into column ``n`` of ``vals`` [4, capacity] (one compiled call)."""
        _record(self.qty, self.last_price, self.cash, vals, n)

    def snapshot_into(self, qty: FloatArray, avg_price: FloatArray, last: FloatArray) -> float:
        """Copy positions, average and last prices into the given buffers; returns
        ``equity`` (one compiled call)."""
        return self.cash + _snapshot(
            self.qty, self.avg_price, self.last_price, qty, avg_price, last
        )

    def unrealized(self) -> FloatArray:
        return np.where(self.qty != 0.0, (self.last_price - self.avg_price) * self.qty, 0.0)

    @property
    def total_fees(self) -> float:
        return pairwise_sum(self.fees, 0, self.fees.shape[0])  # ``fees.sum()``, compiled

    @property
    def total_realized(self) -> float:
        return pairwise_sum(self.realized, 0, self.realized.shape[0])


@njit(cache=True, error_model="numpy")
def _net_gross(qty: FloatArray, last: FloatArray) -> tuple[float, float]:
    """``market_values()`` summed, and its absolute values summed, in numpy's pairwise
    order (bit-identical to ``mv.sum()`` and ``np.abs(mv).sum()``) in one compiled pass."""
    n = qty.shape[0]
    mv = np.empty(n)
    gross = np.empty(n)
    for i in range(n):
        v = qty[i] * last[i] if qty[i] != 0.0 else 0.0
        mv[i] = v
        gross[i] = abs(v)
    return pairwise_sum(mv, 0, n), pairwise_sum(gross, 0, n)


@njit(cache=True, error_model="numpy")
def _record(qty: FloatArray, last: FloatArray, cash: float, vals: FloatArray, n: int) -> None:
    """``totals()`` written to ``vals[:, n]`` (equity, cash, gross, net)."""
    net, gross = _net_gross(qty, last)
    vals[0, n] = cash + net
    vals[1, n] = cash
    vals[2, n] = gross
    vals[3, n] = net


@njit(cache=True)
def _mark(last: FloatArray, close: FloatArray) -> None:
    for i in range(last.shape[0]):
        if not np.isnan(close[i]):
            last[i] = close[i]


@njit(cache=True, error_model="numpy")
def _snapshot(
    qty: FloatArray,
    avg: FloatArray,
    last: FloatArray,
    qty_out: FloatArray,
    avg_out: FloatArray,
    last_out: FloatArray,
) -> float:
    """Copies of the three arrays, and ``market_values().sum()`` (as ``_net_gross``)."""
    qty_out[:] = qty
    avg_out[:] = avg
    last_out[:] = last
    return _net_gross(qty, last)[0]
