"""Where an order would execute inside one OHLC bar (pure functions, no sizing).

A :class:`Quote` gives the reference price and how it is priced: taker quotes go
through the slippage model and are then clamped to the order's limit (never worse than
the limit); maker quotes (a resting limit touched intrabar) fill exactly at the limit.

Rules, for a buy (a sell mirrors them, swapping high/low and the inequalities):

- MARKET: the open, taker.
- LIMIT L: open <= L -> the open (gap in our favour), taker capped at L;
  elif low <= L -> L, maker.
- STOP S: open >= S -> the open (gapped through: NOT S), taker;
  elif high >= S -> S, taker.
- STOP_LIMIT (S, L): not yet triggered ->
  open >= S: triggered at the open, then the LIMIT rule over the whole bar;
  elif high >= S: triggered intrabar; fills in this bar only if L >= S (the limit is
  marketable at the trigger price), at S taker capped at L. If L < S it waits for the
  next bar (the bar's low may have come before the trigger: conservative).
  Once triggered (``order.triggered``), it is a LIMIT order.
"""

from __future__ import annotations

from typing import NamedTuple

from alphapulse.model.orders import Order, OrderType, Side


class Quote(NamedTuple):
    """Reference price of a fill and how to price it (a named tuple: cheap to make)."""

    ref_price: float
    liquidity: str  # "maker" or "taker"
    limit: float | None = None  # the executed price may not be worse than this


class Match(NamedTuple):
    """Outcome of matching one order against one bar."""

    quote: Quote | None  # None: no fill in this bar
    triggered: bool = False  # a stop-limit's stop was hit in this bar


_NO_MATCH = Match(None)


def _limit(side: Side, limit: float, open_: float, high: float, low: float) -> Quote | None:
    if side == Side.BUY:
        if open_ <= limit:
            return Quote(open_, "taker", limit)
        return Quote(limit, "maker", limit) if low <= limit else None
    if open_ >= limit:
        return Quote(open_, "taker", limit)
    return Quote(limit, "maker", limit) if high >= limit else None


def _stop(side: Side, stop: float, open_: float, high: float, low: float) -> Quote | None:
    if side == Side.BUY:
        if open_ >= stop:
            return Quote(open_, "taker")
        return Quote(stop, "taker") if high >= stop else None
    if open_ <= stop:
        return Quote(open_, "taker")
    return Quote(stop, "taker") if low <= stop else None


def _stop_limit(
    side: Side, stop: float, limit: float, open_: float, high: float, low: float
) -> Match:
    buy = side == Side.BUY
    if (open_ >= stop) if buy else (open_ <= stop):
        return Match(_limit(side, limit, open_, high, low), triggered=True)
    if (high >= stop) if buy else (low <= stop):
        marketable = limit >= stop if buy else limit <= stop
        return Match(Quote(stop, "taker", limit) if marketable else None, triggered=True)
    return _NO_MATCH


def match_bar(order: Order, open_: float, high: float, low: float) -> Match:
    """Match a working order against a bar's open, high and low."""
    side = order.side
    if order.type == OrderType.MARKET:
        return Match(Quote(open_, "taker"))
    if order.type == OrderType.LIMIT or (order.type == OrderType.STOP_LIMIT and order.triggered):
        assert order.limit_price is not None
        return Match(_limit(side, order.limit_price, open_, high, low))
    assert order.stop_price is not None
    if order.type == OrderType.STOP:
        return Match(_stop(side, order.stop_price, open_, high, low))
    assert order.limit_price is not None
    return _stop_limit(side, order.stop_price, order.limit_price, open_, high, low)
