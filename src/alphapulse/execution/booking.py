"""Fills a bar's matched orders in one compiled pass: each order's terms come from
:func:`~alphapulse.execution.fillterms.fill_terms` and are booked at once on the
account's arrays with the ledger's own :func:`~alphapulse.portfolio.ledger.book_fill`,
so the next order sees the cash, position and participation the previous ones left.

The venue (:mod:`alphapulse.execution.venue`) calls it for runs of orders that do not
touch each other when they fill (no bracket entries or children), and one at a time
for those that do; it applies the results to its ``Order`` objects in the same order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.execution.commissions import CommissionParams
from alphapulse.execution.fillterms import fill_terms
from alphapulse.execution.slippage import SlippageParams
from alphapulse.execution.volatility import level
from alphapulse.portfolio.average_cost import book_fill

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# columns of a matched order (``rows``): what ``fill_terms`` needs to know of it, and
# its average fill price so far
SID, SIDE, REF, MAKER, LIMIT, NOTIONAL, QUANTITY, FILLED, AVG = range(9)
# rows of the result (one column per order): the order's quantity after sizing, units
# filled now, price, fee, why, cash cost of slippage, and the order after the fill:
# filled quantity, average fill price, done (1.0: nothing left, the filled quantity is
# the order's quantity)
QTY, WANT, PRICE, FEE, WHY, SLIPPAGE, NEW_FILLED, NEW_AVG, DONE = range(9)
DONE_TOL = 1e-12  # an order is done when what is left is within this share of it (or of 1)


@njit(cache=True, error_model="numpy")
def fill_matched(
    comm: CommissionParams,
    slip: SlippageParams,
    lot: float,
    allow_short: bool,
    cap: float,
    rows: FloatArray,
    volume: FloatArray,
    vol_var: FloatArray,
    vol_count: IntArray,
    vol_min_obs: int,
    used: FloatArray,
    book: FloatArray,
    money: FloatArray,
) -> FloatArray:
    """Terms of each matched order of ``rows`` [k, 9], in order, each filled part booked
    on ``book``/``money`` and added to ``used`` (units filled per symbol this bar).

    ``vol_*`` is the state of the volatility estimate
    (:attr:`~alphapulse.execution.volatility.EwmaVolatility.state`; empty arrays: the
    slippage model needs none);
    ``LIMIT`` and ``NOTIONAL`` are NaN when the order has none (``NOTIONAL``: already
    sized). Returns [9, k]: see the result rows above (``WANT <= 0``: no fill, and the
    order's state rows hold its old state)."""
    k = rows.shape[0]
    out = np.empty((9, k))
    for i in range(k):
        r = rows[i]
        sid = int(r[SID])
        side = int(r[SIDE])
        ref = r[REF]
        qty, want, price, fee, why = fill_terms(
            comm,
            slip,
            lot,
            allow_short,
            side,
            ref,
            r[MAKER] != 0.0,
            r[LIMIT],
            r[NOTIONAL],
            r[QUANTITY],
            r[FILLED],
            cap,
            used[sid],
            volume[sid],
            level(vol_var, vol_count, vol_min_obs, sid),
            money[0],
            book[0, sid] if side < 0 else 0.0,
        )
        out[QTY, i], out[WANT, i], out[PRICE, i], out[FEE, i] = qty, want, price, fee
        out[WHY, i] = why
        out[SLIPPAGE, i] = 0.0
        before, avg = r[FILLED], r[AVG]
        out[NEW_FILLED, i], out[NEW_AVG, i], out[DONE, i] = before, avg, 0.0
        if want > 0:
            book_fill(book, money, sid, side * want, price, fee)
            used[sid] += want
            out[SLIPPAGE, i] = (price - ref) * side * want
            filled = before + want
            out[NEW_AVG, i] = (avg * before + price * want) / filled
            if qty - filled <= DONE_TOL * (1.0 if qty < 1.0 else qty):  # max(qty, 1.0)
                filled = qty
                out[DONE, i] = 1.0
            out[NEW_FILLED, i] = filled
    return out
