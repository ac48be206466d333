"""Signal fusion: fusers of the experts' directions, shadow books, stacking."""

from alphapulse.fusion.fusers import (
    confidence_average,
    majority_vote,
    risk_budget_weights,
    weighted_score,
)
from alphapulse.fusion.shadow import ShadowBooks
from alphapulse.fusion.stacking import StackingFuser

__all__ = [
    "ShadowBooks",
    "StackingFuser",
    "confidence_average",
    "majority_vote",
    "risk_budget_weights",
    "weighted_score",
]
