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
    Prediction,
    ProbabilisticClassifier,
    as_matrix,
    as_target,
    gaussian_prediction,
    residual_std,
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


class LogisticBaseline(_SklearnBase, ProbabilisticClassifier):
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

    def _extra_state(self) -> dict[str, Any]:
        return {"classes": self.classes_.tolist()}

    def _load_extra(self, state: dict[str, Any]) -> None:
        self.classes_ = np.asarray(state["classes"], dtype=np.float64)


class RidgeBaseline(_SklearnBase):
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
        if X_val is not None and y_val is not None:
            self.resid_std_ = residual_std(as_target(y_val, len(X_val)), self.predict(X_val))
        else:
            self.resid_std_ = residual_std(y, self.predict(X), sample_weight)
        return self

    def predict(self, X: Array) -> Array:
        return np.asarray(self.pipeline.predict(as_matrix(X)), dtype=np.float64)

    def predict_with_uncertainty(self, X: Array) -> Prediction:
        return gaussian_prediction(self.predict(X), self.resid_std_)

    @property
    def coef_(self) -> Array:
        """Coefficients on the standardised inputs."""
        return np.asarray(self.pipeline.steps[-1][1].coef_)

    def _extra_state(self) -> dict[str, Any]:
        return {"resid_std": self.resid_std_}

    def _load_extra(self, state: dict[str, Any]) -> None:
        self.resid_std_ = float(state["resid_std"])
