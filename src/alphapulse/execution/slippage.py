"""Slippage models: the price a taker order actually gets, always worse for the trader.

Every model implements :class:`Slippage` and returns the executed price for a fill of
``quantity`` units on ``side`` against a reference price (the bar's open, a stop price,
the close). ``s`` below is the side (+1 buy, -1 sell). Prices never go below zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from alphapulse.core.errors import ConfigError
from alphapulse.model.orders import Side

_BPS = 1e-4


class Slippage(Protocol):
    """Executed price for a fill; ``volatility`` is the per-bar return std dev (NaN when
    not yet known) and ``bar_volume`` the bar's traded volume."""

    def price(
        self, side: Side, ref_price: float, quantity: float, bar_volume: float, volatility: float
    ) -> float: ...


def _check(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"slippage {name} must be a finite number >= 0, got {value}")


def _shift(side: Side, ref_price: float, fraction: float) -> float:
    return max(ref_price * (1.0 + int(side) * fraction), 0.0)


@dataclass(frozen=True, slots=True)
class NoSlippage:
    """Fills at the reference price."""

    def price(
        self, side: Side, ref_price: float, quantity: float, bar_volume: float, volatility: float
    ) -> float:
        return ref_price


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage:
    """``ref x (1 + s x bps / 1e4)``."""

    bps: float = 1.0

    def __post_init__(self) -> None:
        _check("bps", self.bps)

    def price(
        self, side: Side, ref_price: float, quantity: float, bar_volume: float, volatility: float
    ) -> float:
        return _shift(side, ref_price, self.bps * _BPS)


@dataclass(frozen=True, slots=True)
class HalfSpreadSlippage:
    """Crossing the quoted spread: ``ref x (1 + s x spread_bps / 2 / 1e4)``."""

    spread_bps: float = 2.0

    def __post_init__(self) -> None:
        _check("spread_bps", self.spread_bps)

    def price(
        self, side: Side, ref_price: float, quantity: float, bar_volume: float, volatility: float
    ) -> float:
        return _shift(side, ref_price, 0.5 * self.spread_bps * _BPS)


@dataclass(frozen=True, slots=True)
class SquareRootImpact:
    """Half the spread plus square-root market impact::

        price = ref x (1 + s x (spread_bps / 2 / 1e4 + coefficient x sigma x sqrt(q / V)))

    ``sigma`` is the per-bar return standard deviation (``default_volatility`` when the
    estimate is NaN, i.e. too few bars seen yet), ``q`` the fill quantity and ``V`` the
    bar's volume. A bar without volume (0 or NaN) counts as ``q / V = 1``."""

    coefficient: float = 1.0
    spread_bps: float = 2.0
    default_volatility: float = 0.02

    def __post_init__(self) -> None:
        _check("coefficient", self.coefficient)
        _check("spread_bps", self.spread_bps)
        _check("default_volatility", self.default_volatility)

    def price(
        self, side: Side, ref_price: float, quantity: float, bar_volume: float, volatility: float
    ) -> float:
        sigma = volatility if math.isfinite(volatility) else self.default_volatility
        ok_volume = math.isfinite(bar_volume) and bar_volume > 0
        participation = max(quantity, 0.0) / bar_volume if ok_volume else 1.0
        impact = self.coefficient * sigma * math.sqrt(participation)
        return _shift(side, ref_price, 0.5 * self.spread_bps * _BPS + impact)
