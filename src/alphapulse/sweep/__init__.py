"""Vectorised parameter sweeps: numba kernels that replay the event engine's semantics
for one symbol and many parameter sets (SMA crossover, long-only mean reversion)."""

from alphapulse.sweep.grid import (
    Costs,
    SweepRuns,
    SymbolBars,
    run_mean_reversion,
    run_sma_cross,
    sweep_mean_reversion,
    sweep_sma,
)
from alphapulse.sweep.metrics import sharpe_ratios, total_returns

__all__ = [
    "Costs",
    "SweepRuns",
    "SymbolBars",
    "run_mean_reversion",
    "run_sma_cross",
    "sharpe_ratios",
    "sweep_mean_reversion",
    "sweep_sma",
    "total_returns",
]
