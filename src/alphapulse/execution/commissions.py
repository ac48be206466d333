"""Commission models: what a venue charges for one fill.

Every model implements :class:`Commission`. ``liquidity`` is ``"maker"`` for a resting
limit order that was filled at its limit, ``"taker"`` otherwise. Every model's fee is
non-decreasing in ``quantity`` at a fixed price (sizing relies on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from alphapulse.core.errors import ConfigError

_BPS = 1e-4


class Commission(Protocol):
    """Fee in cash for a fill of ``quantity`` units at ``price``."""

    def fee(self, quantity: float, price: float, liquidity: str) -> float: ...


def _check(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"commission {name} must be a finite number >= 0, got {value}")


@dataclass(frozen=True, slots=True)
class NoCommission:
    """Free trading."""

    def fee(self, quantity: float, price: float, liquidity: str) -> float:
        return 0.0


@dataclass(frozen=True, slots=True)
class PercentCommission:
    """``rate x price x quantity`` (rate 0.0005 = 5 bps of notional)."""

    rate: float = 0.0005

    def __post_init__(self) -> None:
        _check("rate", self.rate)

    def fee(self, quantity: float, price: float, liquidity: str) -> float:
        return self.rate * price * quantity


@dataclass(frozen=True, slots=True)
class PerShareCommission:
    """``max(per_share x quantity, minimum)`` per fill, then capped at
    ``maximum_pct x notional`` when ``maximum_pct`` is set (the cap wins over the
    minimum, as at brokers that quote "min $1, max 1% of trade value"). A zero-quantity
    fill costs nothing."""

    per_share: float = 0.005
    minimum: float = 1.0
    maximum_pct: float | None = 0.01

    def __post_init__(self) -> None:
        _check("per_share", self.per_share)
        _check("minimum", self.minimum)
        if self.maximum_pct is not None:
            _check("maximum_pct", self.maximum_pct)

    def fee(self, quantity: float, price: float, liquidity: str) -> float:
        if quantity <= 0:
            return 0.0
        fee = max(self.per_share * quantity, self.minimum)
        if self.maximum_pct is not None:
            fee = min(fee, self.maximum_pct * price * quantity)
        return fee


@dataclass(frozen=True, slots=True)
class MakerTakerCommission:
    """Basis points of notional, ``maker_bps`` for maker fills, ``taker_bps`` otherwise."""

    maker_bps: float = 2.0
    taker_bps: float = 5.0

    def __post_init__(self) -> None:
        _check("maker_bps", self.maker_bps)
        _check("taker_bps", self.taker_bps)

    def fee(self, quantity: float, price: float, liquidity: str) -> float:
        bps = self.maker_bps if liquidity == "maker" else self.taker_bps
        return bps * _BPS * price * quantity
