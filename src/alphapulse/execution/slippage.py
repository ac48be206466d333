"""Slippage models: the price a taker order actually gets, always worse for the trader.

Every model implements :class:`Slippage` and returns the executed price for a fill of
``quantity`` units on ``side`` against a reference price (the bar's open, a stop price,
the close). ``s`` below is the side (+1 buy, -1 sell). Prices never go below zero.

As with the commissions, the arithmetic is one compiled function, :func:`slipped_price`,
driven by a model's ``params``; the models' ``price`` and the venue both call it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

from numba import njit

from alphapulse.core.errors import ConfigError
from alphapulse.model.orders import Side

_BPS = 1e-4
# ``params[0]`` of each model: no slippage, a fixed fraction of the price, square root
NONE, SHIFT, SQRT_IMPACT = 0.0, 1.0, 2.0
SlippageParams = tuple[float, float, float, float]


class Slippage(Protocol):
    """Executed price for a fill; ``volatility`` is the per-bar return std dev (NaN when
    not yet known) and ``bar_volume`` the bar's traded volume."""

    @property
    def params(self) -> SlippageParams:
        """(code, fraction, coefficient, default volatility) for :func:`slipped_price`."""
        ...

    def price(
        self, side: Side, ref_price: float, quantity: float, bar_volume: float, volatility: float
    ) -> float: ...


@njit(cache=True)
def fixed_bps_params(bps: float) -> SlippageParams:
    """``FixedBpsSlippage(bps).params`` (callable from compiled code)."""
    return (SHIFT, bps * _BPS, 0.0, 0.0)


@njit(cache=True, error_model="numpy")
def slipped_price(
    params: SlippageParams,
    side: int,
    ref_price: float,
    quantity: float,
    bar_volume: float,
    volatility: float,
) -> float:
    """The executed price of every model (see each class), by ``params[0]``."""
    code, fraction, coefficient, default_vol = params
    if code == NONE:
        return ref_price
    if code == SQRT_IMPACT:
        sigma = volatility if math.isfinite(volatility) else default_vol
        ok_volume = math.isfinite(bar_volume) and bar_volume > 0
        participation = max(quantity, 0.0) / bar_volume if ok_volume else 1.0
        fraction = fraction + coefficient * sigma * math.sqrt(participation)
    return max(ref_price * (1.0 + side * fraction), 0.0)


def _check(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"slippage {name} must be a finite number >= 0, got {value}")


class _Model(ABC):
    """``price`` through :func:`slipped_price` with the model's ``params``."""

    __slots__ = ()

    @property
    @abstractmethod
    def params(self) -> SlippageParams:
        """The model's constants for its compiled arithmetic."""

    def price(
        self, side: Side, ref_price: float, quantity: float, bar_volume: float, volatility: float
    ) -> float:
        return slipped_price(self.params, int(side), ref_price, quantity, bar_volume, volatility)


@dataclass(frozen=True, slots=True)
class NoSlippage(_Model):
    """Fills at the reference price."""

    @property
    def params(self) -> SlippageParams:
        return (NONE, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage(_Model):
    """``ref x (1 + s x bps / 1e4)``."""

    bps: float = 1.0

    def __post_init__(self) -> None:
        _check("bps", self.bps)

    @property
    def params(self) -> SlippageParams:
        return fixed_bps_params(self.bps)


@dataclass(frozen=True, slots=True)
class HalfSpreadSlippage(_Model):
    """Crossing the quoted spread: ``ref x (1 + s x spread_bps / 2 / 1e4)``."""

    spread_bps: float = 2.0

    def __post_init__(self) -> None:
        _check("spread_bps", self.spread_bps)

    @property
    def params(self) -> SlippageParams:
        return (SHIFT, 0.5 * self.spread_bps * _BPS, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class SquareRootImpact(_Model):
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

    @property
    def params(self) -> SlippageParams:
        spread = 0.5 * self.spread_bps * _BPS
        return (SQRT_IMPACT, spread, self.coefficient, self.default_volatility)
