"""Canonical column names of a bar frame and their order."""

from __future__ import annotations

from typing import Final

TIMESTAMP: Final = "timestamp"
SYMBOL: Final = "symbol"
PRICE_FIELDS: Final = ("open", "high", "low", "close")
OHLCV: Final = ("open", "high", "low", "close", "volume")
ADJUSTED_FIELDS: Final = ("adj_open", "adj_high", "adj_low", "adj_close", "adj_volume")
ACTION_FIELDS: Final = ("dividend", "split")
#: Every numeric column a frame may carry, in output order.
NUMERIC_FIELDS: Final = (
    *OHLCV,
    "vwap",
    *ADJUSTED_FIELDS,
    *ACTION_FIELDS,
    "adj_factor",
    "split_factor",
)


def ordered_columns(columns: list[str]) -> list[str]:
    """Canonical columns first in their standard order, any others after in given order."""
    known = [c for c in NUMERIC_FIELDS if c in columns]
    return known + [c for c in columns if c not in NUMERIC_FIELDS]
