"""Per-child decisions: market or passive limit, the limit price, the child size."""

from __future__ import annotations

import math

from alphapulse.execution.sizing import round_to_lot
from alphapulse.model.orders import Side

#: A passive child is worth it when the half spread it saves exceeds this many
#: standard deviations of the price move over its timeout (high urgency: never).
PATIENCE = {"low": 0.5, "medium": 1.0, "high": 0.0}
RANGE_TO_SPREAD = 0.05  # spread proxy: this fraction of the average bar range


def half_spread(fixed_spread_bps: float, bar_range: float) -> float:
    """Half the spread as a fraction of price: the cost model's quoted spread, or a
    proxy from the average bar range (high - low) / close, whichever is larger."""
    proxy = RANGE_TO_SPREAD * bar_range if math.isfinite(bar_range) else 0.0
    return 0.5 * max(fixed_spread_bps * 1e-4, proxy)


def use_limit(urgency: str, half: float, sigma_bar: float, timeout: int, behind: bool) -> bool:
    """Rest a passive limit child? Not when behind schedule or with high urgency; else
    when the half spread saved beats the volatility risk of waiting ``timeout`` bars."""
    weight = PATIENCE[urgency]
    if behind or weight <= 0 or half <= 0:
        return False
    sigma = sigma_bar if math.isfinite(sigma_bar) else 0.0
    return half > weight * sigma * math.sqrt(timeout)


def limit_price(side: Side, last: float, half: float) -> float:
    """Passive price: the near side of the proxy spread around the last close."""
    return last * (1.0 - half) if side > 0 else last * (1.0 + half)


def child_size(want: float, remaining: float, cap: float, lot: float) -> float:
    """Units for the next child: the schedule's shortfall, at most ``cap`` (participation
    of the expected bar volume) and what is left, in whole lots."""
    q = min(want, remaining, cap)
    return round_to_lot(q, lot) if q > 0 else 0.0


def too_small(qty: float, min_units: float, remaining: float, cap: float, lot: float) -> bool:
    """A child below the minimum size (``min_units``, or all that is left or allowed,
    in whole lots, when less) waits for the schedule to accumulate more."""
    return qty < min(min_units, round_to_lot(min(remaining, cap), lot)) * (1.0 - 1e-9)
