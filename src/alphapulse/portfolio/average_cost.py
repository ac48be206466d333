"""Average-cost booking of one fill on per-symbol arrays, in compiled code: what the
ledger (:mod:`alphapulse.portfolio.ledger`), the venue's batch of fills
(:mod:`alphapulse.execution.booking`) and the compiled path (``sweep.book``) all call.

Adding to a position moves the average price; reducing it realizes
(price - average) x quantity; a fill that crosses zero closes the old position and opens
the rest at the fill price.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]


@njit(cache=True, error_model="numpy")
def apply_fill(
    qty: FloatArray,
    avg_price: FloatArray,
    realized: FloatArray,
    fees: FloatArray,
    last: FloatArray,
    sid: int,
    q: float,
    p: float,
    fee: float,
) -> None:
    """The ledger's per-symbol booking of a signed fill ``q`` at ``p`` (average cost);
    the compiled path's kernel (``sweep.book``) books its fills with it too."""
    pos, avg = qty[sid], avg_price[sid]
    fees[sid] += fee
    new_pos = pos + q
    if pos == 0.0 or (pos > 0) == (q > 0):
        avg_price[sid] = (pos * avg + q * p) / new_pos
    else:
        closed = min(abs(q), abs(pos))
        realized[sid] += closed * (p - avg) * (1.0 if pos > 0 else -1.0)
        if abs(q) > abs(pos):
            avg_price[sid] = p
        elif abs(q) == abs(pos):
            avg_price[sid] = 0.0
    if abs(new_pos) < 1e-12:  # flat: no average price, however the sizes rounded
        qty[sid] = avg_price[sid] = 0.0
    else:
        qty[sid] = new_pos
    if np.isnan(last[sid]):
        last[sid] = p


@njit(cache=True, error_model="numpy")
def book_fill(
    book: FloatArray, money: FloatArray, sid: int, q: float, p: float, fee: float
) -> None:
    """Book a signed fill ``q`` at ``p`` paying ``fee`` on a ledger's ``book`` block and
    ``money`` pair (cash, traded notional): :meth:`Ledger.apply`, callable from compiled
    code (the venue's batch of fills)."""
    money[0] -= q * p + fee
    money[1] += abs(q) * p
    apply_fill(book[0], book[1], book[2], book[3], book[4], sid, q, p, fee)
