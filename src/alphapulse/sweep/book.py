"""The compiled path's numba kernel: the event engine's loop for a whole cross-section
(one shared cash account, ``EqualSlot`` weights) driven by precomputed target weights.

Per row t, as ``engine.loop.Engine.step`` with the default stages does:

1. venue: working market orders fill at this row's open in submission order
   (``open x (1 +/- bps x 1e-4)``; a cash-budget buy sized with ``all_in`` at the fill
   price; buys cut to cash, sells to the long position unless ``allow_short``; a symbol
   without open/high/low/close waits), each fill booked at once (average-cost ledger);
   the venue's and the ledger's own compiled functions (``fill_terms``, ``apply_fill``)
   decide and book each fill;
2. ledger: marks to the close; equity = cash + sum of market values (numpy's pairwise
   sum, so equity is bit-identical);
3. planner: a symbol's target (``weights[state][t]``, the state being its position's
   sign) is acted on when it changes or a flat target meets a position: its working
   order is cancelled ("replaced") and flat -> long is a cash budget ``w x equity``,
   -> flat closes the position, otherwise whole shares of the difference; sells are
   submitted before buys, ids in symbol order.

Logs (when the buffers are large enough) let the caller rebuild the engine's Order and
Fill objects; the counts are returned either way so a caller can retry with room.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from alphapulse.execution.commissions import percent_params
from alphapulse.execution.fillterms import GIVE_UP_SHORT, RESIZED_CASH, fill_terms
from alphapulse.execution.slippage import fixed_bps_params
from alphapulse.portfolio.average_cost import apply_fill
from alphapulse.sweep.kernels import pairwise_sum

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# working-order kinds (at most one per symbol)
NONE, BUY_CASH, BUY_QTY, SELL_QTY = 0, 1, 2, 3
# order statuses, reasons and tags in the order log (see compiled.py for the names)
PENDING, WORKING, FILLED, CANCELLED, REJECTED = 0, 1, 2, 3, 4
R_NONE, R_REPLACED, R_CASH, R_RESIZED_CASH, R_NO_SHORT, R_RESIZED_NO_SHORT = 0, 1, 2, 3, 4, 5
TAG_OPEN, TAG_REBALANCE, TAG_CLOSE = 0, 1, 2
# order log columns
O_ID, O_SID, O_SIDE, O_T, O_NOTIONAL, O_QTY, O_STATUS, O_FILLED, O_AVG, O_REASON, O_TAG = range(11)
ORDER_COLS = 11
# fill log columns
F_ORDER, F_SID, F_SIDE, F_QTY, F_PRICE, F_FEE, F_T, F_SLIP, F_TAG = range(9)
FILL_COLS = 9

_PLAN_EPS = 1e-12
_LOT_EPS = 1e-9


@njit(cache=True, error_model="numpy")
def _set(log: FloatArray, row: int, col: int, value: float) -> None:
    if 0 <= row < log.shape[0]:
        log[row, col] = value


@njit(cache=True, error_model="numpy")
def run_book(
    open_: FloatArray,
    close: FloatArray,
    fillable: BoolArray,
    weights: FloatArray,
    initial_cash: float,
    rate: float,
    bps: float,
    allow_short: bool,
    rows: FloatArray,
    orders: FloatArray,
    fills: FloatArray,
    book: FloatArray,
) -> tuple[int, int, float]:
    """Simulate the book. ``open_``, ``close``, ``fillable``: [T, N]; ``weights``:
    [3, T, N] target weights when flat / long / short (NaN = no opinion). Writes
    ``rows[t]`` = (equity, cash, gross, net) when ``rows`` has T rows, the order and
    fill logs up to their capacity, and ``book`` [3, N] = final positions, realized P&L,
    fees. Returns (orders, fills, traded notional)."""
    n, m = open_.shape
    record = rows.shape[0] == n
    comm = percent_params(rate)  # the venue's PercentCommission(rate)
    slip = fixed_bps_params(bps)  # and FixedBpsSlippage(bps)
    cash = initial_cash
    qty = np.zeros(m)
    avg = np.zeros(m)
    realized = np.zeros(m)
    fee_sum = np.zeros(m)
    last = np.full(m, np.nan)
    last_w = np.full(m, np.nan)
    mv = np.zeros(m)
    gross_mv = np.zeros(m)
    pend = np.zeros(m, dtype=np.int64)
    amount = np.zeros(m)
    pend_row = np.zeros(m, dtype=np.int64)  # the working order's row in the order log
    pend_seq = np.zeros(m, dtype=np.int64)
    pend_tag = np.zeros(m, dtype=np.int64)
    q_sid = np.zeros(2 * m + 1, dtype=np.int64)  # working orders in submission order
    q_seq = np.zeros(2 * m + 1, dtype=np.int64)
    q_len = 0
    seq = 0
    new_sid = np.zeros(m, dtype=np.int64)
    new_kind = np.zeros(m, dtype=np.int64)
    n_orders = 0
    n_fills = 0
    traded = 0.0
    for t in range(n):
        # 1. the venue: working orders in submission order
        keep = 0
        for k in range(q_len):
            j = q_sid[k]
            if pend[j] == NONE or pend_seq[j] != q_seq[k]:
                continue  # cancelled or replaced
            row = pend_row[j]
            if not fillable[t, j]:
                _set(orders, row, O_STATUS, WORKING)
                q_sid[keep], q_seq[keep] = j, q_seq[k]
                keep += 1
                continue
            kind = pend[j]
            pend[j] = NONE
            side = -1 if kind == SELL_QTY else 1
            ref = open_[t, j]
            sized = kind == BUY_CASH  # a cash budget, sized at the fill
            got, want, price, fee, why = fill_terms(
                comm, slip, 1.0, allow_short, side, ref, False, math.nan,
                amount[j] if sized else math.nan, 0.0 if sized else amount[j], 0.0,
                math.nan, 0.0, math.nan, math.nan, cash, qty[j],
            )  # fmt: skip
            if want <= 0:  # nothing could fill: rejected (a market order has no cap)
                _set(orders, row, O_STATUS, REJECTED)
                _set(orders, row, O_REASON, R_NO_SHORT if why == GIVE_UP_SHORT else R_CASH)
                continue
            if sized or why:
                _set(orders, row, O_QTY, got)
            if why:
                _set(
                    orders,
                    row,
                    O_REASON,
                    R_RESIZED_CASH if why == RESIZED_CASH else R_RESIZED_NO_SHORT,
                )
            q = side * want
            cash -= q * price + fee
            traded += abs(q) * price
            apply_fill(qty, avg, realized, fee_sum, last, j, q, price, fee)
            _set(orders, row, O_STATUS, FILLED)
            _set(orders, row, O_FILLED, want)
            _set(orders, row, O_AVG, (price * want) / want)
            if n_fills < fills.shape[0]:
                f = fills[n_fills]
                f[F_ORDER], f[F_SID], f[F_SIDE], f[F_QTY] = row + 1, j, side, want
                f[F_PRICE], f[F_FEE], f[F_T] = price, fee, t
                f[F_SLIP], f[F_TAG] = (price - ref) * side * want, pend_tag[j]
            n_fills += 1
        q_len = keep
        # 2. the ledger marks to the close
        for j in range(m):
            c = close[t, j]
            if not math.isnan(c):
                last[j] = c
            mv[j] = qty[j] * last[j] if qty[j] != 0.0 else 0.0
            gross_mv[j] = abs(mv[j])
        net = pairwise_sum(mv, 0, m)
        equity = cash + net
        if record:
            rows[t, 0], rows[t, 1] = equity, cash
            rows[t, 2], rows[t, 3] = pairwise_sum(gross_mv, 0, m), net
        # 3. targets -> planner -> orders
        n_new = 0
        for j in range(m):
            pos = qty[j]
            w = weights[0 if pos == 0.0 else (1 if pos > 0 else 2), t, j]
            if math.isnan(w):
                continue
            flat = abs(w) <= _PLAN_EPS
            changed = math.isnan(last_w[j]) or abs(w - last_w[j]) > _PLAN_EPS
            if not (changed or (flat and pos != 0.0)):
                continue
            if pend[j] != NONE:
                pend[j] = NONE
                _set(orders, pend_row[j], O_STATUS, CANCELLED)
                _set(orders, pend_row[j], O_REASON, R_REPLACED)
            last_w[j] = w
            kind = NONE
            size = 0.0
            tag = TAG_CLOSE
            if flat:
                if pos != 0.0:
                    kind = SELL_QTY if pos > 0 else BUY_QTY
                    size = abs(pos)
            elif math.isfinite(last[j]) and last[j] > 0 and equity > 0:
                budget = abs(w) * equity
                if pos == 0.0 and w > 0:
                    kind, size, tag = BUY_CASH, budget, TAG_OPEN
                else:
                    delta = math.copysign(budget / last[j], w) - pos
                    lots = math.floor(abs(delta) / 1.0 + _LOT_EPS) * 1.0
                    if lots > 0:
                        kind = BUY_QTY if delta > 0 else SELL_QTY
                        size, tag = lots, TAG_REBALANCE
            else:  # not sizable yet: planned again (engine.planner's _UNSIZED)
                last_w[j] = np.nan
            if kind == NONE:
                continue
            row = n_orders
            n_orders += 1
            if row < orders.shape[0]:
                o = orders[row]
                o[O_ID], o[O_SID], o[O_T], o[O_TAG] = row + 1, j, t, tag
                o[O_SIDE] = -1.0 if kind == SELL_QTY else 1.0
                o[O_NOTIONAL] = size if kind == BUY_CASH else np.nan
                o[O_QTY] = 0.0 if kind == BUY_CASH else size
                o[O_STATUS], o[O_FILLED], o[O_AVG], o[O_REASON] = PENDING, 0.0, 0.0, R_NONE
            pend_row[j], amount[j], pend_tag[j] = row, size, tag
            new_sid[n_new], new_kind[n_new] = j, kind
            n_new += 1
        for sells in (True, False):  # submission order: sells, then buys
            for i in range(n_new):
                j = new_sid[i]
                if (new_kind[i] == SELL_QTY) != sells:
                    continue
                seq += 1
                pend[j], pend_seq[j] = new_kind[i], seq
                q_sid[q_len], q_seq[q_len] = j, seq
                q_len += 1
    book[0, :] = qty
    book[1, :] = realized
    book[2, :] = fee_sum
    return n_orders, n_fills, traded


@njit(cache=True, error_model="numpy", parallel=True)
def run_columns(
    open_: FloatArray,
    close: FloatArray,
    fillable: BoolArray,
    weights: FloatArray,
    initial_cash: float,
    rate: float,
    bps: float,
) -> tuple[FloatArray, IntArray]:
    """Every column its own single-symbol book (all-in): final equity and fill count per
    symbol, without logs."""
    n, m = open_.shape
    final = np.empty(m)
    n_fills = np.empty(m, dtype=np.int64)
    for j in prange(m):
        rows = np.empty((n, 4))
        book = np.empty((3, 1))
        _, nf, _ = run_book(
            np.ascontiguousarray(open_[:, j : j + 1]),
            np.ascontiguousarray(close[:, j : j + 1]),
            np.ascontiguousarray(fillable[:, j : j + 1]),
            np.ascontiguousarray(weights[:, :, j : j + 1]),
            initial_cash,
            rate,
            bps,
            False,
            rows,
            np.empty((0, ORDER_COLS)),
            np.empty((0, FILL_COLS)),
            book,
        )
        final[j] = rows[n - 1, 0] if n else initial_cash
        n_fills[j] = nf
    return final, n_fills
