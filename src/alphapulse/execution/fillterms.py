"""The terms of one fill: how many units an order gets at a quote, at what price and
fee, in one compiled call (the venue's rules in :mod:`alphapulse.execution.venue`:
notional sizing, the participation cap, cash and no-short limits, slippage clamped to
the limit; nothing fills at a quote of 0, where a sell's slippage took the whole price:
the order waits for a better bar). The venue applies the result to the order; this
module changes nothing.

Codes of ``why`` (what the venue writes into ``order.reason``):
``0`` nothing to say; ``GIVE_UP_*``: nothing more can fill (FILLED at what it has,
else REJECTED); ``RESIZED_*``: the order was cut down for good and fills ``want``.
"""

from __future__ import annotations

import math

from numba import njit

from alphapulse.execution.commissions import CommissionParams, commission_fee
from alphapulse.execution.sizing import all_in_lots, round_to_lot
from alphapulse.execution.slippage import SQRT_IMPACT, SlippageParams, slipped_price

GIVE_UP_CASH, GIVE_UP_LOT, GIVE_UP_SHORT, RESIZED_CASH, RESIZED_SHORT = 1, 2, 3, 4, 5
REASONS = ("", "insufficient_cash", "below_lot_size", "no_short")
RESIZED = {RESIZED_CASH: "resized_insufficient_cash", RESIZED_SHORT: "resized_no_short"}


@njit(cache=True, error_model="numpy")
def quote_price(
    slip: SlippageParams,
    side: int,
    ref: float,
    maker: bool,
    limit: float,
    qty: float,
    volume: float,
    vol: float,
) -> float:
    """A taker quote through the slippage model, clamped to ``limit`` (NaN: none);
    a maker quote is its reference price."""
    price = ref if maker else slipped_price(slip, side, ref, qty, volume, vol)
    if not math.isnan(limit):
        price = min(price, limit) if side > 0 else max(price, limit)
    return price


@njit(cache=True, error_model="numpy")
def fill_terms(
    comm: CommissionParams,
    slip: SlippageParams,
    lot: float,
    allow_short: bool,
    side: int,
    ref: float,
    maker: bool,
    limit: float,
    notional: float,
    quantity: float,
    filled: float,
    cap: float,
    used: float,
    volume: float,
    vol: float,
    cash: float,
    position: float,
) -> tuple[float, float, float, float, int]:
    """(order quantity after sizing, units to fill now, price, fee, why).

    ``notional`` is NaN unless the order is still to be sized from its cash budget;
    ``cap`` is the participation cap (NaN: none), ``used`` what this bar already filled
    of the symbol. ``want <= 0`` with ``why == 0``: nothing fills in this bar."""
    flat = slip[0] != SQRT_IMPACT  # the price ignores the quantity: known once
    price = math.nan
    if not math.isnan(notional):  # first fill of a notional order: size it
        if side > 0:
            budget = min(notional, cash)
            if budget <= 0:
                return quantity, 0.0, math.nan, 0.0, GIVE_UP_CASH
            guess = max(round_to_lot(budget / ref, lot), lot)
            p = quote_price(slip, side, ref, maker, limit, guess, volume, vol)
            qty = all_in_lots(budget, p, comm, lot, maker)
        else:
            guess = max(round_to_lot(notional / ref, lot), lot)
            p = quote_price(slip, side, ref, maker, limit, guess, volume, vol)
            qty = round_to_lot(notional / p, lot) if p > 0 else guess  # (p 0: it waits)
        if qty <= 0:
            return quantity, 0.0, math.nan, 0.0, GIVE_UP_CASH if side > 0 else GIVE_UP_LOT
        quantity = qty
        if flat:
            price = p
    sized = quantity
    want = quantity - filled
    if not math.isnan(cap):
        room = 0.0
        if math.isfinite(volume) and volume > 0:
            room = max(round_to_lot(cap * volume, lot) - used, 0.0)
        want = min(want, room)
    if want <= 0:
        return quantity, 0.0, price, 0.0, 0
    why = 0
    if not allow_short:  # cut to what cash (buys) or the long position (sells) allows
        if side > 0:
            if math.isnan(price):
                price = quote_price(slip, side, ref, maker, limit, want, volume, vol)
            if want * price + commission_fee(comm, want, price, maker) <= cash:
                can = want
            else:
                can = min(all_in_lots(cash, price, comm, lot, maker), want)
            resized, reject = RESIZED_CASH, GIVE_UP_CASH
        else:
            can = min(max(position, 0.0), want)
            resized, reject = RESIZED_SHORT, GIVE_UP_SHORT
        if can < want:
            if can <= 0:
                return quantity, 0.0, price, 0.0, reject
            why = resized
            quantity = filled + can
            want = can
            if not flat:
                price = math.nan
    if math.isnan(price):
        price = quote_price(slip, side, ref, maker, limit, want, volume, vol)
    if price <= 0:  # a sell whose slippage took the whole price: nothing to get for it
        return sized, 0.0, price, 0.0, 0
    return quantity, want, price, commission_fee(comm, want, price, maker), why
