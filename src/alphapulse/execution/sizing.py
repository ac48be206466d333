"""Position sizing helpers: lot rounding and the largest affordable order."""

from __future__ import annotations

import math

from alphapulse.execution.commissions import Commission

_EPS = 1e-9  # tolerance for float noise in quantity / lot_size


def _decimals(lot_size: float) -> int:
    return max(0, -math.floor(math.log10(lot_size))) + 6


def lot_quantity(lots: int, lot_size: float = 1.0) -> float:
    """``lots x lot_size`` without float noise (``3 x 0.1`` gives 0.3)."""
    if lot_size == 1.0:  # whole units: a whole number is its own rounding
        return float(lots)
    return round(lots * lot_size, _decimals(lot_size))


def round_to_lot(quantity: float, lot_size: float = 1.0) -> float:
    """The multiple of ``lot_size`` nearest ``quantity`` towards zero (sign kept)."""
    if lot_size <= 0:
        raise ValueError(f"lot_size must be > 0, got {lot_size}")
    if not math.isfinite(quantity):
        return 0.0
    lots = math.floor(abs(quantity) / lot_size + _EPS)
    return math.copysign(lot_quantity(lots, lot_size), quantity) if lots else 0.0


def fixed_fraction(equity: float, weight: float, price: float, lot_size: float = 1.0) -> float:
    """Signed units worth ``weight x equity`` at ``price``, rounded towards zero to lots."""
    if not (price > 0 and math.isfinite(price) and math.isfinite(equity * weight)):
        return 0.0
    return round_to_lot(equity * weight / price, lot_size)


def all_in(
    budget: float,
    price: float,
    commission: Commission,
    lot_size: float = 1.0,
    liquidity: str = "taker",
) -> float:
    """The most units (a multiple of ``lot_size``) whose cost ``q x price + fee(q)`` is at
    most ``budget``; 0 when not even one lot fits.

    Starts from the commission-free estimate ``floor(budget / price)`` and steps down by
    bisection, so per-fill minimums and caps are handled exactly; needs only that the
    fee is non-decreasing in quantity."""
    if lot_size <= 0:
        raise ValueError(f"lot_size must be > 0, got {lot_size}")
    if not (budget > 0 and price > 0 and math.isfinite(budget) and math.isfinite(price)):
        return 0.0

    def fits(lots: int) -> bool:
        q = lot_quantity(lots, lot_size)
        return q * price + commission.fee(q, price, liquidity) <= budget

    hi = math.floor(budget / price / lot_size + _EPS)  # no more lots fit even without fees
    while hi > 0 and not fits(hi) and hi * lot_size * price > budget:
        hi -= 1  # float noise in the estimate: at most a step or two
    if hi <= 0 or fits(hi):
        return lot_quantity(max(hi, 0), lot_size)
    # invariant: fits(lo), not fits(hi). The answer is usually a few lots under ``hi``
    # (the fee's share), so gallop down to a fitting ``lo`` first (0 lots cost nothing);
    # as ``fits`` is monotone, this finds the same boundary as bisecting from 0.
    step = 1
    lo = hi - step
    while lo > 0 and not fits(lo):
        hi, step = lo, 2 * step
        lo = hi - step
    lo = max(lo, 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lot_quantity(lo, lot_size)
