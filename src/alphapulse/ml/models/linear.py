"""Linear baselines: scikit-learn pipelines (median imputation, scaling, linear model).

Persistence uses joblib, which is acceptable here because the payload is a scikit-learn
object written by this code (never load model folders from untrusted sources).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import joblib
import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from alphapulse.ml.models.base import (
    Array,
    Model,
    NotFittedError,
    ProbabilisticClassifier,
    ResidualRegressor,
    as_matrix,
    as_target,
    fit_residual_std,
)

PIPELINE_FILE = "pipeline.joblib"


def _pipeline(estimator: Any) -> Pipeline:
    imputer = SimpleImputer(strategy="median", keep_empty_features=True)
    return make_pipeline(imputer, StandardScaler(), estimator)


class _SklearnBase(Model):
    def __init__(self) -> None:
        self._pipe: Pipeline | None = None

    @property
    def pipeline(self) -> Pipeline:
        if self._pipe is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._pipe

    def _fit_pipe(self, estimator: Any, X: Array, y: Array, w: Array | None) -> Pipeline:
        pipe = _pipeline(estimator)
        last = pipe.steps[-1][0]
        pipe.fit(X, y, **({f"{last}__sample_weight": w} if w is not None else {}))
        return pipe

    def _state(self, path: Path) -> dict[str, Any]:
        joblib.dump(self.pipeline, path / PIPELINE_FILE)
        return self._extra_state()

    def _extra_state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _restore(cls, path: Path, params: dict[str, Any], state: dict[str, Any]) -> Self:
        model = cls(**params)
        model._pipe = joblib.load(path / PIPELINE_FILE)
        model._load_extra(state)
        return model

    def _load_extra(self, state: dict[str, Any]) -> None:
        return None


class LogisticBaseline(ProbabilisticClassifier, _SklearnBase):
    """Imputer + scaler + ``LogisticRegression(C, max_iter, class_weight)``."""

    kind = "classifier"

    def __init__(self, C: float = 1.0, max_iter: int = 1000, class_weight: str | None = None):
        super().__init__()
        self.C, self.max_iter, self.class_weight = C, max_iter, class_weight

    @property
    def params(self) -> dict[str, Any]:
        return {"C": self.C, "max_iter": self.max_iter, "class_weight": self.class_weight}

    def fit(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        X_val: Array | None = None,
        y_val: Array | None = None,
    ) -> Self:
        X = as_matrix(X)
        y = as_target(y, len(X))
        est = LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight=self.class_weight)
        self._pipe = self._fit_pipe(est, X, y, sample_weight)
        self.classes_ = np.asarray(self._pipe.classes_, dtype=np.float64)
        return self

    def predict_proba(self, X: Array) -> Array:
        return np.asarray(self.pipeline.predict_proba(as_matrix(X)), dtype=np.float64)


class RidgeBaseline(ResidualRegressor, _SklearnBase):
    """Imputer + scaler + ``Ridge(alpha)``; the default stacking meta-regressor.
    Uncertainty: normal spread with the validation (else training) residual std."""

    kind = "regressor"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.resid_std_ = 0.0

    @property
    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def fit(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        X_val: Array | None = None,
        y_val: Array | None = None,
    ) -> Self:
        X = as_matrix(X)
        y = as_target(y, len(X))
        self._pipe = self._fit_pipe(Ridge(alpha=self.alpha), X, y, sample_weight)
        self.resid_std_ = fit_residual_std(self, X, y, sample_weight, X_val, y_val)
        return self

    def predict(self, X: Array) -> Array:
        return np.asarray(self.pipeline.predict(as_matrix(X)), dtype=np.float64)

    @property
    def coef_(self) -> Array:
        """Coefficients on the standardised inputs."""
        return np.asarray(self.pipeline.steps[-1][1].coef_)
