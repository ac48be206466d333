"""Causal features for ML research and live use: batch (``compute_features``) and
incremental (``FeatureState``) computation that agree exactly."""

from alphapulse.features.compute import FeatureMatrix, FeatureState, compute_features
from alphapulse.features.config import (
    FeatureSetConfig,
    FeatureSpec,
    NormalizeConfig,
    default_feature_set,
    load_feature_set,
)

__all__ = [
    "FeatureMatrix",
    "FeatureSetConfig",
    "FeatureSpec",
    "FeatureState",
    "NormalizeConfig",
    "compute_features",
    "default_feature_set",
    "load_feature_set",
]
