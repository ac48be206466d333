"""ML models: LightGBM, linear baselines, sequence models (torch) and ensembles.

See :mod:`alphapulse.ml.models.base` for the contract. ``TransformerModel``,
``LSTMModel`` and ``SequenceModel`` are imported lazily (torch is only loaded when used).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from alphapulse.ml.models.base import (
    Model,
    NotFittedError,
    Prediction,
    ProbabilisticClassifier,
    load_model,
)
from alphapulse.ml.models.ensemble import (
    ConfidenceWeightedEnsemble,
    StackingEnsemble,
    VotingEnsemble,
    contiguous_folds,
)
from alphapulse.ml.models.lgbm import LGBMClassifierModel, LGBMQuantileModel, LGBMRegressorModel
from alphapulse.ml.models.linear import LogisticBaseline, RidgeBaseline
from alphapulse.ml.models.spec import ModelSpec, build_model
from alphapulse.ml.models.windows import make_windows, window_rows

if TYPE_CHECKING:
    from alphapulse.ml.models.lstm import LSTMModel
    from alphapulse.ml.models.sequence import SequenceModel
    from alphapulse.ml.models.transformer import TransformerModel

_LAZY = {
    "TransformerModel": "alphapulse.ml.models.transformer",
    "LSTMModel": "alphapulse.ml.models.lstm",
    "SequenceModel": "alphapulse.ml.models.sequence",
}

__all__ = [
    "ConfidenceWeightedEnsemble",
    "LGBMClassifierModel",
    "LGBMQuantileModel",
    "LGBMRegressorModel",
    "LSTMModel",
    "LogisticBaseline",
    "Model",
    "ModelSpec",
    "NotFittedError",
    "Prediction",
    "ProbabilisticClassifier",
    "RidgeBaseline",
    "SequenceModel",
    "StackingEnsemble",
    "TransformerModel",
    "VotingEnsemble",
    "build_model",
    "contiguous_folds",
    "load_model",
    "make_windows",
    "window_rows",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
