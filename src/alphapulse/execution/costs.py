"""Execution cost configuration, loadable from YAML.

Each cost model has a pydantic config picked by its ``model:`` key, e.g.::

    execution:
      commission: {model: per_share, per_share: 0.005, minimum: 1.0, maximum_pct: 0.01}
      slippage: {model: sqrt_impact, coefficient: 1.0, spread_bps: 2.0}
      max_participation: 0.1
      latency_ns: 0
      allow_short: false
      lot_size: 1.0

Costs are on by default (5 bps commission, 1 bp slippage); they are zero only when the
config says so (``{model: none}``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from alphapulse.execution.commissions import (
    Commission,
    MakerTakerCommission,
    NoCommission,
    PercentCommission,
    PerShareCommission,
)
from alphapulse.execution.slippage import (
    FixedBpsSlippage,
    HalfSpreadSlippage,
    NoSlippage,
    Slippage,
    SquareRootImpact,
)

__all__ = [
    "CommissionConfig",
    "CostConfig",
    "ExecutionConfig",
    "FixedBpsSlippageConfig",
    "HalfSpreadSlippageConfig",
    "MakerTakerCommissionConfig",
    "NoCommissionConfig",
    "NoSlippageConfig",
    "PerShareCommissionConfig",
    "PercentCommissionConfig",
    "SlippageConfig",
    "SquareRootImpactConfig",
]


_ALL_BPS = 10_000.0  # fees or half spreads of 100% of the price or more are refused


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- commission -------------------------------------------------------------------------
class PercentCommissionConfig(_Strict):
    model: Literal["percent"]  # required: the union's tag (so the JSON schema says so too)
    rate: float = Field(0.0005, ge=0, lt=1, allow_inf_nan=False)  # a fraction: 0.0005 = 5 bps

    def build(self) -> Commission:
        return PercentCommission(self.rate)


class PerShareCommissionConfig(_Strict):
    model: Literal["per_share"]  # required: the union's tag (so the JSON schema says so too)
    per_share: float = Field(0.005, ge=0, allow_inf_nan=False)
    minimum: float = Field(1.0, ge=0, allow_inf_nan=False)
    maximum_pct: float | None = Field(0.01, ge=0, allow_inf_nan=False)

    def build(self) -> Commission:
        return PerShareCommission(self.per_share, self.minimum, self.maximum_pct)


class MakerTakerCommissionConfig(_Strict):
    model: Literal["maker_taker"]  # required: the union's tag (so the JSON schema says so too)
    maker_bps: float = Field(2.0, ge=0, lt=_ALL_BPS, allow_inf_nan=False)
    taker_bps: float = Field(5.0, ge=0, lt=_ALL_BPS, allow_inf_nan=False)

    def build(self) -> Commission:
        return MakerTakerCommission(self.maker_bps, self.taker_bps)


class NoCommissionConfig(_Strict):
    model: Literal["none"]

    def build(self) -> Commission:
        return NoCommission()


CommissionConfig = Annotated[
    PercentCommissionConfig
    | PerShareCommissionConfig
    | MakerTakerCommissionConfig
    | NoCommissionConfig,
    Field(discriminator="model"),
]


# -- slippage ---------------------------------------------------------------------------
class FixedBpsSlippageConfig(_Strict):
    model: Literal["fixed_bps"]  # required: the union's tag (so the JSON schema says so too)
    bps: float = Field(1.0, ge=0, lt=_ALL_BPS, allow_inf_nan=False)  # a sell gets > 0

    def build(self) -> Slippage:
        return FixedBpsSlippage(self.bps)


class HalfSpreadSlippageConfig(_Strict):
    model: Literal["half_spread"]  # required: the union's tag (so the JSON schema says so too)
    spread_bps: float = Field(2.0, ge=0, lt=2 * _ALL_BPS, allow_inf_nan=False)

    def build(self) -> Slippage:
        return HalfSpreadSlippage(self.spread_bps)


class SquareRootImpactConfig(_Strict):
    model: Literal["sqrt_impact"]  # required: the union's tag (so the JSON schema says so too)
    coefficient: float = Field(1.0, ge=0, allow_inf_nan=False)
    spread_bps: float = Field(2.0, ge=0, lt=2 * _ALL_BPS, allow_inf_nan=False)
    default_volatility: float = Field(0.02, ge=0, allow_inf_nan=False)

    def build(self) -> Slippage:
        return SquareRootImpact(self.coefficient, self.spread_bps, self.default_volatility)


class NoSlippageConfig(_Strict):
    model: Literal["none"]

    def build(self) -> Slippage:
        return NoSlippage()


SlippageConfig = Annotated[
    FixedBpsSlippageConfig | HalfSpreadSlippageConfig | SquareRootImpactConfig | NoSlippageConfig,
    Field(discriminator="model"),
]


# -- execution --------------------------------------------------------------------------
class ExecutionConfig(BaseModel):
    """How the simulated venue fills orders and what it charges."""

    model_config = ConfigDict(extra="forbid")

    commission: CommissionConfig = Field(
        default_factory=lambda: PercentCommissionConfig(model="percent")
    )
    slippage: SlippageConfig = Field(
        default_factory=lambda: FixedBpsSlippageConfig(model="fixed_bps")
    )
    max_participation: float | None = Field(None, gt=0, le=1)  # fraction of bar volume
    latency_ns: int = Field(0, ge=0, le=86_400 * 10**9)  # at most a day
    allow_short: bool = False  # also allows buying on margin (no cash check)
    lot_size: float = Field(1.0, gt=0, allow_inf_nan=False)  # 1 = whole units, 1e-8 crypto

    def build_commission(self) -> Commission:
        return self.commission.build()

    def build_slippage(self) -> Slippage:
        return self.slippage.build()


CostConfig = ExecutionConfig
