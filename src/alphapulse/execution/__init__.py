"""Simulated execution: cost models, sizing and the bar-matching venue."""

from alphapulse.execution.commissions import (
    Commission,
    MakerTakerCommission,
    NoCommission,
    PercentCommission,
    PerShareCommission,
)
from alphapulse.execution.costs import CostConfig, ExecutionConfig
from alphapulse.execution.sizing import all_in, fixed_fraction, round_to_lot
from alphapulse.execution.slippage import (
    FixedBpsSlippage,
    HalfSpreadSlippage,
    NoSlippage,
    Slippage,
    SquareRootImpact,
)
from alphapulse.execution.venue import Account, SimulatedVenue

__all__ = [
    "Account",
    "Commission",
    "CostConfig",
    "ExecutionConfig",
    "FixedBpsSlippage",
    "HalfSpreadSlippage",
    "MakerTakerCommission",
    "NoCommission",
    "NoSlippage",
    "PerShareCommission",
    "PercentCommission",
    "SimulatedVenue",
    "Slippage",
    "SquareRootImpact",
    "all_in",
    "fixed_fraction",
    "round_to_lot",
]
