"""Execution algorithms: parent orders worked over time by TWAP, VWAP, POV or an
arrival-price (implementation shortfall) schedule (``docs/execution.md``)."""

from alphapulse.execution.algos.config import ALGOS, AlgoConfig
from alphapulse.execution.algos.parent import ParentOrder
from alphapulse.execution.algos.stage import AlgoChooser, ExecutionAlgoStage

__all__ = ["ALGOS", "AlgoChooser", "AlgoConfig", "ExecutionAlgoStage", "ParentOrder"]
