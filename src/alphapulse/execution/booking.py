"""Matches and fills a bar's orders in one compiled pass: each order is matched
against the bar with :func:`~alphapulse.execution.matching.match_bar`, its terms come
from :func:`~alphapulse.execution.fillterms.fill_terms` and are booked at once on the
account's arrays with the ledger's own :func:`~alphapulse.portfolio.ledger.book_fill`,
so the next order sees the cash, position and participation the previous ones left.

The venue (:mod:`alphapulse.execution.venue`) calls it with a bar's eligible orders; a
bracket entry or child that fills or gives up changes other orders (children, sizes,
OCO cancels), so the pass stops after it and the venue makes the change and calls again
with the orders after it. The venue applies the results to its ``Order`` objects in the
same order.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.execution.commissions import CommissionParams
from alphapulse.execution.fillterms import fill_terms
from alphapulse.execution.matching import match_bar
from alphapulse.execution.slippage import SlippageParams
from alphapulse.execution.volatility import level
from alphapulse.portfolio.average_cost import book_fill

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# columns of an eligible order (``rows``): what matching and ``fill_terms`` need to
# know of it (``KIND``: :data:`~alphapulse.execution.matching.KIND`; ``LIMIT``, ``STOP``
# and ``NOTIONAL`` NaN where it has none, ``NOTIONAL`` also once it is sized), its
# average fill price so far, and whether it is a bracket entry or child (``FAMILY``)
SID, SIDE, KIND, LIMIT, STOP, TRIGGERED, NOTIONAL, QUANTITY, FILLED, AVG, FAMILY = range(11)
# rows of the result (one column per order): matched (1.0: it has a quote in this bar),
# the order's quantity after sizing, units filled now, price, fee, why, cash cost of
# slippage, maker (1.0) or taker, triggered (1.0: a stop or stop-limit's stop was hit in
# this bar), and the order after the fill: filled quantity, average fill price, done (1.0:
# nothing left, the filled quantity is the order's quantity)
MATCHED, QTY, WANT, PRICE, FEE, WHY, SLIPPAGE, MAKER, TRIGGER = range(9)
NEW_FILLED, NEW_AVG, DONE = 9, 10, 11
DONE_TOL = 1e-12  # an order is done when what is left is within this share of it (or of 1)


@njit(cache=True, error_model="numpy")
def fill_matched(
    comm: CommissionParams,
    slip: SlippageParams,
    lot: float,
    allow_short: bool,
    cap: float,
    rows: FloatArray,
    opens: FloatArray,
    highs: FloatArray,
    lows: FloatArray,
    closes: FloatArray,
    at_close: bool,
    volume: FloatArray,
    vol_var: FloatArray,
    vol_count: IntArray,
    vol_min_obs: int,
    used: FloatArray,
    book: FloatArray,
    money: FloatArray,
) -> FloatArray:
    """Match each eligible order of ``rows`` [k, 11], in order, against the bar (its
    open, high, low and close; ``at_close``: market orders at the close), and fill what
    the rules allow; each filled part is booked on ``book``/``money`` and added to
    ``used`` (units filled per symbol this bar). A symbol with NaN in its open, high,
    low or close (at the close: its close) has no bar and matches nothing.

    ``vol_*`` is the state of the volatility estimate
    (:attr:`~alphapulse.execution.volatility.EwmaVolatility.state`; empty arrays: the
    slippage model needs none). Returns [12, j]: see the result rows above (``MATCHED``
    0: only ``TRIGGER`` counts; ``WANT <= 0``: no fill, and the order's state rows hold
    its old state), for the first j orders: all k, or up to and with the first bracket
    order (``FAMILY``) that fills or gives up; the orders after it are left as they
    were."""
    k = rows.shape[0]
    out = np.zeros((12, k))
    for i in range(k):
        r = rows[i]
        sid = int(r[SID])
        side = int(r[SIDE])
        c = closes[sid]
        if at_close:
            if math.isnan(c):
                continue
            ref, maker, limit = c, False, math.nan
        else:
            o, h, lo = opens[sid], highs[sid], lows[sid]
            if math.isnan(o) or math.isnan(h) or math.isnan(lo) or math.isnan(c):
                continue
            hit, ref, maker, limit, trig = match_bar(
                int(r[KIND]), side, r[LIMIT], r[STOP], r[TRIGGERED] != 0.0, o, h, lo
            )
            out[TRIGGER, i] = trig
            if not hit:
                continue
        out[MATCHED, i], out[MAKER, i] = 1.0, maker
        qty, want, price, fee, why = fill_terms(
            comm,
            slip,
            lot,
            allow_short,
            side,
            ref,
            maker,
            limit,
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
        before, avg = r[FILLED], r[AVG]
        out[NEW_FILLED, i], out[NEW_AVG, i] = before, avg
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
        if r[FAMILY] != 0.0 and (want > 0 or why != 0):
            return out[:, : i + 1]
    return out
