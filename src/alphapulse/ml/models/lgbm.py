"""LightGBM models on the native ``lightgbm.train`` API (no scikit-learn wrapper).

``params`` are LightGBM parameters plus ``n_estimators`` (boosting rounds) and
``early_stopping_rounds`` (patience on ``X_val``; 0 disables). Training is deterministic
(``deterministic``, ``force_row_wise``, fixed ``seed`` and ``num_threads``). The fitted
booster is kept as its model text (truncated at the best iteration) and rebuilt from it,
so ``save`` writes exactly the text the live booster came from: loading is bit-identical.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Self

import lightgbm as lgb
import numpy as np
from scipy.stats import norm

from alphapulse.ml.models.base import (
    Array,
    Model,
    NotFittedError,
    Prediction,
    ProbabilisticClassifier,
    ResidualRegressor,
    as_matrix,
    as_target,
    class_index,
    fit_residual_std,
    sign_confidence,
)

DEFAULTS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "lambda_l2": 0.0,
    "feature_fraction": 1.0,
    "bagging_fraction": 1.0,
    "bagging_freq": 0,
    "early_stopping_rounds": 50,
    "seed": 0,
    "num_threads": 1,
}
_FIXED = {"deterministic": True, "force_row_wise": True, "verbosity": -1}
_BOOSTER = re.compile(r"booster_[0-9]+\.txt")  # the names ``save`` writes


def _booster_file(path: Path, name: object) -> Path:
    """A booster's text file inside ``path``: a stored name must be one ``save`` writes
    (the model's hash covers what is inside ``path`` only, so nothing outside is read)."""
    if not (isinstance(name, str) and _BOOSTER.fullmatch(name)):
        raise ValueError(f"{path}: booster {name!r} is not a file of the model")
    return path / name


def _fit_data(
    X: Array, y: Array, X_val: Array | None, y_val: Array | None
) -> tuple[Array, Array, Array | None, Array | None]:
    """``X, y`` checked and converted, and the validation fold (used only when both
    ``X_val`` and ``y_val`` are given: else the returned ``y_val`` is None)."""
    X = as_matrix(X)
    y = as_target(y, len(X))
    if X_val is None or y_val is None:
        return X, y, X_val, None
    X_val = as_matrix(X_val)
    return X, y, X_val, as_target(y_val, len(X_val))


class _LGBMBase(Model):
    """Shared training, prediction and persistence of the LightGBM models."""

    _own_keys: tuple[str, ...] = ()  # params that are not LightGBM parameters

    def __init__(self, **params: Any) -> None:
        self._params = {**DEFAULTS, **params}
        self._model_strs: list[str] = []
        self._boosters: list[lgb.Booster] = []
        self.best_iteration_: list[int] = []

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def boosters(self) -> list[lgb.Booster]:
        """The fitted boosters (one, or one per quantile)."""
        if not self._boosters:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._boosters

    def _train(
        self,
        X: Array,
        y: Array,
        w: Array | None,
        X_val: Array | None,
        y_val: Array | None,
        objective: dict[str, Any],
    ) -> str:
        own = {k: v for k, v in self._params.items() if k not in self._own_keys}
        p = {**own, **objective, **_FIXED}
        rounds = int(p.pop("n_estimators"))
        patience = int(p.pop("early_stopping_rounds"))
        train = lgb.Dataset(X, y, weight=w, params={"verbosity": -1})
        valid: list[lgb.Dataset] = []
        callbacks: list[Any] = []
        if X_val is not None and y_val is not None and patience > 0:
            valid = [lgb.Dataset(X_val, y_val, reference=train)]
            callbacks = [lgb.early_stopping(patience, first_metric_only=True, verbose=False)]
        booster = lgb.train(p, train, num_boost_round=rounds, valid_sets=valid, callbacks=callbacks)
        best = booster.best_iteration if booster.best_iteration > 0 else -1
        return booster.model_to_string(num_iteration=best)

    def _set_models(self, model_strs: list[str]) -> None:
        self._model_strs = model_strs
        self._boosters = [lgb.Booster(model_str=s) for s in model_strs]
        self.best_iteration_ = [b.current_iteration() for b in self._boosters]

    def _raw(self, X: Array, i: int = 0) -> Array:
        X = as_matrix(X)
        out = self.boosters[i].predict(X, num_threads=int(self._params["num_threads"]))
        return np.asarray(out, dtype=np.float64)

    def _state(self, path: Path) -> dict[str, Any]:
        if not self._model_strs:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        files = []
        for i, text in enumerate(self._model_strs):
            name = f"booster_{i}.txt"
            (path / name).write_text(text)
            files.append(name)
        return {"boosters": files, **self._extra_state()}

    def _extra_state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _restore(cls, path: Path, params: dict[str, Any], state: dict[str, Any]) -> Self:
        model = cls(**params)
        model._set_models([_booster_file(path, f).read_text() for f in state["boosters"]])
        model._load_extra(state)
        return model

    def _load_extra(self, state: dict[str, Any]) -> None:
        return None


class LGBMClassifierModel(ProbabilisticClassifier, _LGBMBase):
    """Binary (``binary``) or multi-class (``multiclass``) gradient boosting; labels are
    numbers (0/1, -1/1, -1/0/1, ...)."""

    kind = "classifier"

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
        self.classes_ = np.unique(y)
        k = len(self.classes_)
        if k < 2:
            raise ValueError("a classifier needs at least two classes in y")
        obj: dict[str, Any] = {"objective": "binary"} if k == 2 else {}
        if k > 2:
            obj = {"objective": "multiclass", "num_class": k}
        yv = None
        if X_val is not None and y_val is not None:
            X_val = as_matrix(X_val)
            yv = class_index(as_target(y_val, len(X_val)), self.classes_)
        yi = class_index(y, self.classes_)
        self._set_models([self._train(X, yi, sample_weight, X_val, yv, obj)])
        return self

    def predict_proba(self, X: Array) -> Array:
        p = self._raw(X)
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p


class LGBMRegressorModel(ResidualRegressor, _LGBMBase):
    """Gradient-boosted regression (``objective`` default ``regression``). Uncertainty:
    normal spread with the residual std on the validation fold (training if none)."""

    kind = "regressor"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.resid_std_ = 0.0

    def fit(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        X_val: Array | None = None,
        y_val: Array | None = None,
    ) -> Self:
        X, y, X_val, yv = _fit_data(X, y, X_val, y_val)
        obj = {"objective": self._params.get("objective", "regression")}
        self._set_models([self._train(X, y, sample_weight, X_val, yv, obj)])
        self.resid_std_ = fit_residual_std(self, X, y, sample_weight, X_val, yv)
        return self

    def predict(self, X: Array) -> Array:
        return self._raw(X)


class LGBMQuantileModel(_LGBMBase):
    """One quantile booster per level of ``alphas`` (default 0.1/0.5/0.9). ``predict``
    gives the middle quantile; ``lower``/``upper`` are the outer ones (crossings are
    repaired by sorting each row); confidence uses sigma = spread / normal spread."""

    kind = "regressor"
    _own_keys = ("alphas",)

    def __init__(self, **params: Any) -> None:
        params.setdefault("alphas", [0.1, 0.5, 0.9])
        alphas = sorted(float(a) for a in params["alphas"])
        if len(alphas) < 2 or not all(0.0 < a < 1.0 for a in alphas):
            raise ValueError("alphas: at least two levels in (0, 1)")
        super().__init__(**{**params, "alphas": alphas})

    @property
    def alphas(self) -> list[float]:
        return list(self._params["alphas"])

    def fit(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        X_val: Array | None = None,
        y_val: Array | None = None,
    ) -> Self:
        X, y, X_val, yv = _fit_data(X, y, X_val, y_val)
        models = []
        for a in self.alphas:
            obj = {"objective": "quantile", "alpha": a}
            models.append(self._train(X, y, sample_weight, X_val, yv, obj))
        self._set_models(models)
        return self

    def predict_quantiles(self, X: Array) -> Array:
        """``[rows, len(alphas)]``, non-decreasing along each row."""
        q = np.column_stack([self._raw(X, i) for i in range(len(self.boosters))])
        return np.sort(q, axis=1)

    def predict(self, X: Array) -> Array:
        return np.asarray(self.predict_quantiles(X)[:, self._mid()])

    def predict_with_uncertainty(self, X: Array) -> Prediction:
        q = self.predict_quantiles(X)
        lo, hi = self.alphas[0], self.alphas[-1]
        mean, lower, upper = q[:, self._mid()], q[:, 0], q[:, -1]
        sigma = (upper - lower) / float(norm.ppf(hi) - norm.ppf(lo))
        return Prediction(mean, lower, upper, sign_confidence(mean, sigma))

    def _mid(self) -> int:
        return int(np.argmin(np.abs(np.asarray(self.alphas) - 0.5)))
