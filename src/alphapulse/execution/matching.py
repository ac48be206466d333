"""Where an order would execute inside one OHLC bar (compiled, no sizing).

A match gives the reference price and how it is priced: taker quotes go through the
slippage model and are then clamped to the order's limit (never worse than the limit);
maker quotes (a resting limit touched intrabar) fill exactly at the limit.

Rules, for a buy (a sell mirrors them, swapping high/low and the inequalities):

- MARKET: the open, taker.
- LIMIT L: open <= L -> the open (gap in our favour), taker capped at L;
  elif low <= L -> L, maker.
- STOP S: open >= S -> the open (gapped through: NOT S), taker;
  elif high >= S -> S, taker. Triggered then (``order.triggered``): what the bar's volume
  cap left fills later as a MARKET order (at the next open).
- STOP_LIMIT (S, L): not yet triggered ->
  open >= S: triggered at the open, then the LIMIT rule over the whole bar;
  elif high >= S: triggered intrabar; fills in this bar only if L >= S (the limit is
  marketable at the trigger price), at S taker capped at L. If L < S it waits for the
  next bar (the bar's low may have come before the trigger: conservative).
  Once triggered (``order.triggered``), it is a LIMIT order.
"""

from __future__ import annotations

import math

from numba import njit

from alphapulse.model.orders import OrderType

MARKET, LIMIT, STOP, STOP_LIMIT = 0, 1, 2, 3  # order types as the compiled code knows them
KIND = {OrderType.MARKET: MARKET, OrderType.LIMIT: LIMIT, OrderType.STOP: STOP}
KIND[OrderType.STOP_LIMIT] = STOP_LIMIT

Match = tuple[bool, float, bool, float, bool]
# (matched, reference price, maker, the limit the price may not pass (NaN: none),
#  triggered in this bar: a stop or stop-limit's stop was hit)
_NONE: Match = (False, math.nan, False, math.nan, False)


@njit(cache=True)
def _limit(buy: bool, limit: float, open_: float, high: float, low: float) -> Match:
    if buy:
        if open_ <= limit:
            return True, open_, False, limit, False
        if low <= limit:
            return True, limit, True, limit, False
        return _NONE
    if open_ >= limit:
        return True, open_, False, limit, False
    if high >= limit:
        return True, limit, True, limit, False
    return _NONE


@njit(cache=True)
def _stop(buy: bool, stop: float, open_: float, high: float, low: float) -> Match:
    if (open_ >= stop) if buy else (open_ <= stop):
        return True, open_, False, math.nan, True
    if (high >= stop) if buy else (low <= stop):
        return True, stop, False, math.nan, True
    return _NONE


@njit(cache=True)
def match_bar(
    kind: int,
    side: int,
    limit: float,
    stop: float,
    triggered: bool,
    open_: float,
    high: float,
    low: float,
) -> Match:
    """Match a working order (its type code, side, limit and stop prices, NaN where it
    has none, and whether its stop was hit before) against a bar's open, high and low."""
    buy = side > 0
    if kind == MARKET or (kind == STOP and triggered):
        return True, open_, False, math.nan, False
    if kind == LIMIT or (kind == STOP_LIMIT and triggered):
        return _limit(buy, limit, open_, high, low)
    if kind == STOP:
        return _stop(buy, stop, open_, high, low)
    if (open_ >= stop) if buy else (open_ <= stop):  # a stop-limit triggered at the open
        m = _limit(buy, limit, open_, high, low)
        return m[0], m[1], m[2], m[3], True
    if (high >= stop) if buy else (low <= stop):  # triggered intrabar
        if (limit >= stop) if buy else (limit <= stop):
            return True, stop, False, limit, True
        return False, math.nan, False, math.nan, True
    return _NONE
