"""Commission models: what a venue charges for one fill.

Every model implements :class:`Commission`. ``liquidity`` is ``"maker"`` for a resting
limit order that was filled at its limit, ``"taker"`` otherwise. Every model's fee is
non-decreasing in ``quantity`` at a fixed price (sizing relies on it).

The arithmetic lives in one compiled function, :func:`commission_fee`, driven by a
model's ``params`` (a code and up to three numbers); the models' ``fee`` calls it, and
so do the venue's fill terms and the sweep kernels, so there is one copy of each rule.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

from numba import njit

from alphapulse.core.errors import ConfigError

_BPS = 1e-4
# ``params[0]`` of each model
NONE, PERCENT, PER_SHARE, MAKER_TAKER = 0.0, 1.0, 2.0, 3.0
CommissionParams = tuple[float, float, float, float]


class Commission(Protocol):
    """Fee in cash for a fill of ``quantity`` units at ``price``."""

    @property
    def params(self) -> CommissionParams:
        """(code, a, b, c) for :func:`commission_fee`."""
        ...

    def fee(self, quantity: float, price: float, liquidity: str) -> float: ...


@njit(cache=True)
def percent_params(rate: float) -> CommissionParams:
    """``PercentCommission(rate).params`` (callable from compiled code)."""
    return (PERCENT, rate, 0.0, 0.0)


@njit(cache=True, error_model="numpy")
def commission_fee(params: CommissionParams, quantity: float, price: float, maker: bool) -> float:
    """The fee of every model (see each class for its rule), by ``params[0]``."""
    code, a, b, c = params
    if code == PERCENT:  # rate a
        return a * price * quantity
    if code == PER_SHARE:  # per share a, minimum b, cap c of notional (NaN: no cap)
        if quantity <= 0:
            return 0.0
        fee = max(a * quantity, b)
        if not math.isnan(c):
            fee = min(fee, c * price * quantity)
        return fee
    if code == MAKER_TAKER:  # maker bps a, taker bps b
        bps = a if maker else b
        return bps * _BPS * price * quantity
    return 0.0


def _check(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"commission {name} must be a finite number >= 0, got {value}")


class _Model(ABC):
    """``fee`` through :func:`commission_fee` with the model's ``params``."""

    __slots__ = ()

    @property
    @abstractmethod
    def params(self) -> CommissionParams:
        """The model's constants for its compiled arithmetic."""

    def fee(self, quantity: float, price: float, liquidity: str) -> float:
        return commission_fee(self.params, quantity, price, liquidity == "maker")


@dataclass(frozen=True, slots=True)
class NoCommission(_Model):
    """Free trading."""

    @property
    def params(self) -> CommissionParams:
        return (NONE, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class PercentCommission(_Model):
    """``rate x price x quantity`` (rate 0.0005 = 5 bps of notional)."""

    rate: float = 0.0005

    def __post_init__(self) -> None:
        _check("rate", self.rate)

    @property
    def params(self) -> CommissionParams:
        return percent_params(self.rate)


@dataclass(frozen=True, slots=True)
class PerShareCommission(_Model):
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

    @property
    def params(self) -> CommissionParams:
        cap = math.nan if self.maximum_pct is None else self.maximum_pct
        return (PER_SHARE, self.per_share, self.minimum, cap)


@dataclass(frozen=True, slots=True)
class MakerTakerCommission(_Model):
    """Basis points of notional, ``maker_bps`` for maker fills, ``taker_bps`` otherwise."""

    maker_bps: float = 2.0
    taker_bps: float = 5.0

    def __post_init__(self) -> None:
        _check("maker_bps", self.maker_bps)
        _check("taker_bps", self.taker_bps)

    @property
    def params(self) -> CommissionParams:
        return (MAKER_TAKER, self.maker_bps, self.taker_bps, 0.0)
