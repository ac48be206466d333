"""Strategy plugins: a base class, a name -> class registry, and the built-ins."""

from alphapulse.strategies.base import Strategy, StrategyParams
from alphapulse.strategies.registry import available_strategies, load_strategy

__all__ = ["Strategy", "StrategyParams", "available_strategies", "load_strategy"]
