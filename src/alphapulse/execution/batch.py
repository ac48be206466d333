"""One compiled pass over a bar's plain market orders (no bracket, no limit, whole
units): sizing, participation, cash and position checks, slippage, fees and the ledger
booking, order after order, with the same arithmetic as the venue's per-order path
(``SimulatedVenue._execute``), so results are bit-identical. Python's ``min``/``max``
are spelled out (``_min``/``_max``) to keep their choice on ties, NaN and signed zeros.

Only the built-in commission and slippage models are compiled (``cost_params``); any
other model, a lot size other than 1, or an account other than the ``Ledger`` keeps the
per-order path.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.execution.commissions import (
    Commission,
    MakerTakerCommission,
    NoCommission,
    PercentCommission,
    PerShareCommission,
)
from alphapulse.execution.slippage import (
    FixedBpsSlippage,
    HalfSpreadSlippage,
    NoSlippage,
    Slippage,
    SquareRootImpact,
)
from alphapulse.portfolio.ledger import _apply

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_BPS = 1e-4
_EPS = 1e-9  # ``sizing._EPS``
# outcome of one order (``code``) and the reason it sets (``REASONS[reason]``)
NO_FILL, FILLED, GIVE_UP = 0, 1, 2
REASONS = (
    "",
    "insufficient_cash",
    "below_lot_size",
    "no_short",
    "resized_insufficient_cash",
    "resized_no_short",
)
# cost model kinds: [commission kind, c1, c2, c3 (NaN: none), slippage kind, s1, s2, s3]
_C_NONE, _C_PCT, _C_SHARE, _C_MT = 0, 1, 2, 3
_S_NONE, _S_BPS, _S_HALF, _S_SQRT = 0, 1, 2, 3


def cost_params(commission: Commission, slippage: Slippage) -> FloatArray | None:
    """The cost models as the kernel's parameter vector, None when one is not built in."""
    c: tuple[float, ...]
    if type(commission) is NoCommission:
        c = (_C_NONE, 0.0, 0.0, math.nan)
    elif type(commission) is PercentCommission:
        c = (_C_PCT, commission.rate, 0.0, math.nan)
    elif type(commission) is PerShareCommission:
        cap = commission.maximum_pct
        c = (_C_SHARE, commission.per_share, commission.minimum, math.nan if cap is None else cap)
    elif type(commission) is MakerTakerCommission:
        c = (_C_MT, commission.maker_bps, commission.taker_bps, math.nan)
    else:
        return None
    s: tuple[float, ...]
    if type(slippage) is NoSlippage:
        s = (_S_NONE, 0.0, 0.0, 0.0)
    elif type(slippage) is FixedBpsSlippage:
        s = (_S_BPS, slippage.bps, 0.0, 0.0)
    elif type(slippage) is HalfSpreadSlippage:
        s = (_S_HALF, slippage.spread_bps, 0.0, 0.0)
    elif type(slippage) is SquareRootImpact:
        s = (_S_SQRT, slippage.coefficient, slippage.spread_bps, slippage.default_volatility)
    else:
        return None
    return np.array(c + s, dtype=np.float64)


@njit(cache=True)
def _max(a: float, b: float) -> float:
    """Python's ``max(a, b)``."""
    return b if b > a else a


@njit(cache=True)
def _min(a: float, b: float) -> float:
    """Python's ``min(a, b)``."""
    return b if b < a else a


@njit(cache=True)
def _round_lot(q: float) -> float:
    """``sizing.round_to_lot(q, 1.0)``."""
    if not math.isfinite(q):
        return 0.0
    lots = np.floor(abs(q) / 1.0 + _EPS)
    return math.copysign(lots, q) if lots else 0.0


@njit(cache=True)
def _fee(p: FloatArray, q: float, price: float) -> float:
    """The commission models' ``fee(q, price, "taker")``."""
    kind = p[0]
    if kind == _C_PCT:
        return p[1] * price * q
    if kind == _C_SHARE:
        if q <= 0:
            return 0.0
        fee = _max(p[1] * q, p[2])
        if not np.isnan(p[3]):
            fee = _min(fee, p[3] * price * q)
        return fee
    if kind == _C_MT:
        return p[2] * _BPS * price * q
    return 0.0


@njit(cache=True)
def _slip(p: FloatArray, side: float, ref: float, q: float, volume: float, vol: float) -> float:
    """The slippage models' ``price(side, ref, q, volume, vol)``."""
    kind = p[4]
    if kind == _S_NONE:
        return ref
    if kind == _S_BPS:
        frac = p[5] * _BPS
    elif kind == _S_HALF:
        frac = 0.5 * p[5] * _BPS
    else:
        sigma = vol if math.isfinite(vol) else p[7]
        ok = math.isfinite(volume) and volume > 0
        part = _max(q, 0.0) / volume if ok else 1.0
        frac = 0.5 * p[6] * _BPS + p[5] * sigma * math.sqrt(part)
    return _max(ref * (1.0 + side * frac), 0.0)


@njit(cache=True)
def _all_in(p: FloatArray, budget: float, price: float) -> float:
    """``sizing.all_in(budget, price, commission, 1.0)``."""
    if not (budget > 0 and price > 0 and math.isfinite(budget) and math.isfinite(price)):
        return 0.0
    hi = int(np.floor(budget / price / 1.0 + _EPS))
    while hi > 0 and not _fits(p, hi, budget, price) and hi * 1.0 * price > budget:
        hi -= 1
    if hi <= 0 or _fits(p, hi, budget, price):
        return float(max(hi, 0))
    step = 1
    lo = hi - step
    while lo > 0 and not _fits(p, lo, budget, price):
        hi, step = lo, 2 * step
        lo = hi - step
    lo = max(lo, 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _fits(p, mid, budget, price):
            lo = mid
        else:
            hi = mid
    return float(lo)


@njit(cache=True)
def _fits(p: FloatArray, lots: int, budget: float, price: float) -> bool:
    q = float(lots)
    return q * price + _fee(p, q, price) <= budget


@njit(cache=True)
def fill_plain(
    p: FloatArray,
    cap: float,
    allow_short: bool,
    flat_price: bool,
    orders: FloatArray,
    state: FloatArray,
    used: FloatArray,
    qty: FloatArray,
    avg: FloatArray,
    realized: FloatArray,
    fees: FloatArray,
    last: FloatArray,
    out: FloatArray,
    codes: IntArray,
) -> None:
    """Fill the orders one after the other (the venue's ``_execute``).

    ``orders`` [n, 9]: sid, side, reference price, volume, volatility, notional,
    quantity, filled quantity, 1 when the notional is still to be sized.
    ``state`` [2]: cash and traded notional (updated).
    ``used``: units filled per symbol in this bar (updated; ``cap`` NaN: no cap).
    ``qty`` ... ``last``: the ledger's per-symbol arrays (booked).
    ``out`` [n, 5]: fill quantity, price, fee, slippage cost, the order's new
    quantity (NaN: unchanged).
    ``codes`` [n, 2]: ``NO_FILL`` / ``FILLED`` / ``GIVE_UP``, reason (``REASONS``)."""
    for j in range(orders.shape[0]):
        sid = int(orders[j, 0])
        side, ref, volume, vol = orders[j, 1], orders[j, 2], orders[j, 3], orders[j, 4]
        notional, quantity, filled = orders[j, 5], orders[j, 6], orders[j, 7]
        price = math.nan  # the slipped price of the fill, once known
        out[j, 4] = math.nan
        codes[j, 0], codes[j, 1] = NO_FILL, 0
        if orders[j, 8]:  # size it: ``_size_notional``
            if side > 0:
                budget = _min(notional, state[0])
                size = 0.0
                if budget > 0:
                    guess = _max(_round_lot(budget / ref), 1.0)
                    price = _slip(p, side, ref, guess, volume, vol)
                    size = _all_in(p, budget, price)
            else:
                guess = _max(_round_lot(notional / ref), 1.0)
                price = _slip(p, side, ref, guess, volume, vol)
                size = _round_lot(notional / price)
            if not flat_price:
                price = math.nan
            if size <= 0:
                codes[j, 0], codes[j, 1] = GIVE_UP, 1 if side > 0 else 2
                continue
            quantity = out[j, 4] = size
        want = quantity - filled
        if not np.isnan(cap):  # ``_capacity``
            room = 0.0
            if math.isfinite(volume) and volume > 0:
                room = _max(_round_lot(cap * volume) - used[sid], 0.0)
            want = _min(want, room)
        if want <= 0:
            continue
        if not allow_short:  # ``_affordable``
            cut, can, resized, rejected = False, want, 0, 0
            if side > 0:
                if np.isnan(price):
                    price = _slip(p, side, ref, want, volume, vol)
                if not want * price + _fee(p, want, price) <= state[0]:
                    cut, can, resized, rejected = (
                        True,
                        _min(_all_in(p, state[0], price), want),
                        4,
                        1,
                    )
            else:
                can = _max(qty[sid], 0.0)
                cut, resized, rejected = not want <= can, 5, 3
            if cut:
                if can <= 0:
                    codes[j, 0], codes[j, 1] = GIVE_UP, rejected
                    continue
                out[j, 4] = filled + can
                codes[j, 1] = resized
                want = can
                if not flat_price:
                    price = math.nan
        if np.isnan(price):
            price = _slip(p, side, ref, want, volume, vol)
        fee = _fee(p, want, price)
        out[j, 0], out[j, 1], out[j, 2] = want, price, fee
        out[j, 3] = (price - ref) * side * want
        q = side * want  # ``Ledger.apply``
        state[0] -= q * price + fee
        state[1] += abs(q) * price
        _apply(qty, avg, realized, fees, last, sid, q, price, fee)
        used[sid] += want
        codes[j, 0] = FILLED
