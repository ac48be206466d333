"""Position sizing helpers: lot rounding and the largest affordable order.

The rounding and the all-in bound are compiled (the venue's fill terms and the sweep
kernels call them from compiled code); called from Python they behave the same."""

from __future__ import annotations

import math

from numba import njit

from alphapulse.execution.commissions import Commission, CommissionParams, commission_fee

_EPS = 1e-9  # tolerance for float noise in quantity / lot_size
_MAX_LOTS = 2.0**62  # lot counts fit an int64 (Python's ints had no bound)


@njit(cache=True, error_model="numpy")
def lot_quantity(lots: int, lot_size: float = 1.0) -> float:
    """``lots x lot_size`` without float noise (``3 x 0.1`` gives 0.3)."""
    if lot_size == 1.0:  # whole units: a whole number is its own rounding
        return float(lots)
    decimals = max(0, -math.floor(math.log10(lot_size))) + 6
    return _round_decimals(lots * lot_size, decimals)


@njit(cache=True, error_model="numpy")
def _round_decimals(x: float, n: int) -> float:
    """Python's ``round(x, n)`` for ``x >= 0`` and ``n <= 22``: the float nearest the
    decimal rounding, half to even, of x's exact value (numba's ``round`` scales x by
    10**n and can round twice). ``x x 10**n`` is taken exactly as a sum of two floats."""
    if n > 22:  # a lot below 1e-16: 10**n is not exact, numba's own rounding
        return float(round(x, n))
    scale = 10.0**n
    p = x * scale
    if not p < 2.0**53:  # no decimal digit below 10**-n is representable: x is its rounding
        return x
    c = 134217729.0 * x  # Dekker's split: the product's rounding error, exactly
    xh = c - (c - x)
    xl = x - xh
    c = 134217729.0 * scale
    sh = c - (c - scale)
    sl = scale - sh
    err = ((xh * sh - p) + xh * sl + xl * sh) + xl * sl
    down = float(math.floor(p))
    r = down if p - down == 0.5 else float(math.floor(p + 0.5))  # ties: decided below
    frac = (p - r) + err  # the exact x * 10**n minus r
    if frac > 0.5 or (frac == 0.5 and r % 2.0 == 1.0):
        r += 1.0
    elif frac < -0.5 or (frac == -0.5 and r % 2.0 == 1.0):
        r -= 1.0
    return r / scale


@njit(cache=True, error_model="numpy")
def round_to_lot(quantity: float, lot_size: float = 1.0) -> float:
    """The multiple of ``lot_size`` nearest ``quantity`` towards zero (sign kept)."""
    if lot_size <= 0:
        raise ValueError("lot_size must be > 0")
    if not math.isfinite(quantity):
        return 0.0
    lots = math.floor(abs(quantity) / lot_size + _EPS)
    return math.copysign(lot_quantity(lots, lot_size), quantity) if lots else 0.0


def fixed_fraction(equity: float, weight: float, price: float, lot_size: float = 1.0) -> float:
    """Signed units worth ``weight x equity`` at ``price``, rounded towards zero to lots."""
    if not (price > 0 and math.isfinite(price) and math.isfinite(equity * weight)):
        return 0.0
    return float(round_to_lot(equity * weight / price, lot_size))


def all_in(
    budget: float,
    price: float,
    commission: Commission,
    lot_size: float = 1.0,
    liquidity: str = "taker",
) -> float:
    """The most units (a multiple of ``lot_size``) whose cost ``q x price + fee(q)`` is at
    most ``budget``; 0 when not even one lot fits (see :func:`all_in_lots`)."""
    if lot_size <= 0:
        raise ValueError(f"lot_size must be > 0, got {lot_size}")
    maker = liquidity == "maker"
    return float(all_in_lots(budget, price, commission.params, lot_size, maker))


@njit(cache=True, error_model="numpy")
def _fits(
    lots: int, price: float, comm: CommissionParams, lot: float, budget: float, maker: bool
) -> bool:
    q = lot_quantity(lots, lot)
    return q * price + commission_fee(comm, q, price, maker) <= budget


@njit(cache=True, error_model="numpy")
def all_in_lots(
    budget: float, price: float, comm: CommissionParams, lot: float, maker: bool
) -> float:
    """``all_in`` for a commission given by its ``params``.

    Starts from the commission-free estimate ``floor(budget / price)`` and steps down by
    bisection, so per-fill minimums and caps are handled exactly; needs only that the
    fee is non-decreasing in quantity. Beyond 2**62 lots (far below the float spacing of
    the quantity) it counts in lots of ``lot x 2**k`` so that the count fits an int64;
    that changes the answer by float noise only."""
    if not (budget > 0 and price > 0 and math.isfinite(budget) and math.isfinite(price)):
        return 0.0
    while budget / price / lot > _MAX_LOTS:
        lot *= 2.0
    hi = math.floor(budget / price / lot + _EPS)  # no more lots fit even without fees
    while hi > 0 and not _fits(hi, price, comm, lot, budget, maker) and hi * lot * price > budget:
        hi -= 1  # float noise in the estimate: at most a step or two
    if hi <= 0 or _fits(hi, price, comm, lot, budget, maker):
        return lot_quantity(max(hi, 0), lot)
    # invariant: fits(lo), not fits(hi). The answer is usually a few lots under ``hi``
    # (the fee's share), so gallop down to a fitting ``lo`` first (0 lots cost nothing);
    # as ``fits`` is monotone, this finds the same boundary as bisecting from 0.
    step = 1
    lo = hi - step
    while lo > 0 and not _fits(lo, price, comm, lot, budget, maker):
        hi, step = lo, 2 * step
        lo = hi - step
    lo = max(lo, 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _fits(mid, price, comm, lot, budget, maker):
            lo = mid
        else:
            hi = mid
    return lot_quantity(lo, lot)
