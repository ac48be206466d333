"""Model contract shared by every learner, ensemble and the registry.

Every model takes ``X`` as float ``[rows, F]`` (NaN allowed; LightGBM handles it natively,
the others impute) except the sequence models (``TransformerModel``, ``LSTMModel``), which
take ``[rows, window, F]`` windows built by :func:`alphapulse.ml.models.windows.make_windows`.

Persistence: ``save(path)`` writes a folder holding ``model.json`` (class, kind, params,
fitted state) plus the payload (LightGBM booster text, torch ``state_dict``, or a joblib
file for scikit-learn objects only). ``Model.load(path)`` dispatches on the class named in
``model.json`` (an allow-list, never an import path from the file) and reproduces the
predictions bit for bit.

Uncertainty (:class:`Prediction`): ``mean`` is the point forecast (for classifiers the
probability-weighted label value, e.g. P(up) - P(down) for labels -1/0/1); ``lower`` and
``upper`` bound a central 80% interval; ``confidence`` in [0, 1] is, for classifiers, the
top class probability rescaled so that a uniform guess is 0 and certainty is 1, and, for
regressors, the probability that the sign of ``mean`` is right under a normal predictive
distribution whose spread comes from quantiles, ensemble spread or validation residuals.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Self

import numpy as np
from scipy.special import erf

Array = np.ndarray[Any, np.dtype[Any]]

META_FILE = "model.json"
FORMAT_VERSION = 1
Z80 = 1.2815515655446004  # standard normal quantile at 0.9: the 80% central interval

# class name -> "module:attribute"; loading never imports a path read from a file
_KNOWN: dict[str, str] = {
    "LGBMClassifierModel": "alphapulse.ml.models.lgbm:LGBMClassifierModel",
    "LGBMRegressorModel": "alphapulse.ml.models.lgbm:LGBMRegressorModel",
    "LGBMQuantileModel": "alphapulse.ml.models.lgbm:LGBMQuantileModel",
    "LogisticBaseline": "alphapulse.ml.models.linear:LogisticBaseline",
    "RidgeBaseline": "alphapulse.ml.models.linear:RidgeBaseline",
    "TransformerModel": "alphapulse.ml.models.transformer:TransformerModel",
    "LSTMModel": "alphapulse.ml.models.lstm:LSTMModel",
    "VotingEnsemble": "alphapulse.ml.models.ensemble:VotingEnsemble",
    "ConfidenceWeightedEnsemble": "alphapulse.ml.models.ensemble:ConfidenceWeightedEnsemble",
    "StackingEnsemble": "alphapulse.ml.models.ensemble:StackingEnsemble",
}


@dataclass(frozen=True)
class Prediction:
    """Point forecast with a central 80% interval and a confidence in [0, 1] per row."""

    mean: Array
    lower: Array
    upper: Array
    confidence: Array


class NotFittedError(RuntimeError):
    """``predict`` or ``save`` called before ``fit``."""


class Model(ABC):
    """A learner: ``fit`` / ``predict`` / ``predict_with_uncertainty`` / ``save`` / ``load``.

    ``kind`` is ``"classifier"`` or ``"regressor"``; ``params`` are the constructor
    arguments, so ``type(m)(**m.params)`` (``clone``) builds an unfitted copy.
    """

    kind: str

    @property
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable)."""

    @abstractmethod
    def fit(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        X_val: Array | None = None,
        y_val: Array | None = None,
    ) -> Self:
        """Train on ``X, y``; ``X_val, y_val`` (if given) drive early stopping."""

    @abstractmethod
    def predict(self, X: Array) -> Array:
        """Class labels (classifiers) or values (regressors), one per row."""

    @abstractmethod
    def predict_with_uncertainty(self, X: Array) -> Prediction:
        """Point forecast, 80% interval and confidence per row (see module docstring)."""

    @abstractmethod
    def _state(self, path: Path) -> dict[str, Any]:
        """Write the payload files under ``path``; return the JSON part of the state."""

    @classmethod
    @abstractmethod
    def _restore(cls, path: Path, params: dict[str, Any], state: dict[str, Any]) -> Self:
        """Rebuild a fitted model from ``params``, ``state`` and the payload files."""

    def clone(self) -> Model:
        """An unfitted model with the same parameters."""
        return type(self)(**self.params)

    def save(self, path: Path | str) -> None:
        """Write the fitted model to the folder ``path`` (created if missing)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = self._state(path)
        meta = {
            "format": FORMAT_VERSION,
            "class": type(self).__name__,
            "kind": self.kind,
            "params": self.params,
            "state": state,
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=1, default=json_default))

    @classmethod
    def load(cls, path: Path | str) -> Self:
        """Load a model saved by ``save``; ``Model.load`` accepts any known class."""
        path = Path(path)
        meta = json.loads((path / META_FILE).read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported model format {meta.get('format')!r}")
        target = model_class(meta["class"])
        if not issubclass(target, cls):
            raise TypeError(f"{path}: holds a {meta['class']}, not a {cls.__name__}")
        return target._restore(path, meta["params"], meta["state"])


def json_default(obj: Any) -> Any:
    """JSON for numpy scalars/arrays and dates (``json.dumps(default=...)``)."""
    if isinstance(obj, np.generic | np.ndarray):
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def model_class(name: str) -> type[Model]:
    """The model class saved under ``name`` (see the allow-list ``_KNOWN``)."""
    try:
        module, attr = _KNOWN[name].split(":")
    except KeyError:
        raise ValueError(f"unknown model class {name!r}") from None
    cls = getattr(import_module(module), attr)
    assert isinstance(cls, type) and issubclass(cls, Model)
    return cls


def load_model(path: Path | str) -> Model:
    """Load any saved model (``Model.load``)."""
    return Model.load(path)


class ProbabilisticClassifier(Model):
    """A classifier built on ``predict_proba``; labels are numbers (e.g. -1/0/1 or 0/1)."""

    kind = "classifier"
    classes_: Array

    @abstractmethod
    def predict_proba(self, X: Array) -> Array:
        """Probabilities ``[rows, n_classes]`` in the order of ``classes_``."""

    def predict(self, X: Array) -> Array:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])

    def predict_with_uncertainty(self, X: Array) -> Prediction:
        return proba_prediction(self.predict_proba(X), self.classes_)

    def _extra_state(self) -> dict[str, Any]:
        """JSON state beside the payload (the ``_extra_state`` hook of the backends)."""
        return {"classes": self.classes_.tolist()}

    def _load_extra(self, state: dict[str, Any]) -> None:
        self.classes_ = np.asarray(state["classes"], dtype=np.float64)


class ResidualRegressor(Model):
    """A regressor with a normal predictive spread ``resid_std_`` (see
    ``fit_residual_std``), kept in the JSON state (the ``_extra_state`` hook)."""

    kind = "regressor"
    resid_std_: float

    def predict_with_uncertainty(self, X: Array) -> Prediction:
        return gaussian_prediction(self.predict(X), self.resid_std_)

    def _extra_state(self) -> dict[str, Any]:
        return {"resid_std": self.resid_std_}

    def _load_extra(self, state: dict[str, Any]) -> None:
        self.resid_std_ = float(state["resid_std"])


def fit_residual_std(
    model: Model,
    X: Array,
    y: Array,
    weight: Array | None,
    X_val: Array | None,
    y_val: Array | None,
) -> float:
    """Residual std of the fitted regressor ``model``: on the validation fold when both
    ``X_val`` and ``y_val`` are given, else on the training rows (weighted by ``weight``)."""
    if X_val is not None and y_val is not None:
        return residual_std(as_target(y_val, len(X_val)), model.predict(X_val))
    return residual_std(y, model.predict(X), weight)


def proba_prediction(proba: Array, classes: Array) -> Prediction:
    """Mean = expected label; interval = mean ± 1.28 label std; confidence = rescaled top
    probability ((p_max - 1/K) / (1 - 1/K))."""
    c = np.asarray(classes, dtype=np.float64)
    mean = proba @ c
    std = np.sqrt(np.maximum(proba @ (c**2) - mean**2, 0.0))
    k = proba.shape[1]
    conf = (proba.max(axis=1) - 1.0 / k) / (1.0 - 1.0 / k) if k > 1 else np.ones(len(proba))
    return Prediction(mean, mean - Z80 * std, mean + Z80 * std, np.clip(conf, 0.0, 1.0))


def sign_confidence(mean: Array, sigma: Array | float) -> Array:
    """P(sign of the forecast is right) rescaled to [0, 1]: ``erf(|mean| / (sigma √2))``;
    ``sigma == 0`` gives 1 for a non-zero mean."""
    mean = np.asarray(mean, dtype=np.float64)
    s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), mean.shape)
    z = np.divide(np.abs(mean), s * np.sqrt(2.0), out=np.full(mean.shape, np.inf), where=s > 0)
    z[(s <= 0) & (mean == 0)] = 0.0
    return np.asarray(erf(z), dtype=np.float64)


def gaussian_prediction(mean: Array, sigma: Array | float) -> Prediction:
    """Prediction for a regressor with normal predictive spread ``sigma``."""
    mean = np.asarray(mean, dtype=np.float64)
    s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), mean.shape)
    return Prediction(mean, mean - Z80 * s, mean + Z80 * s, sign_confidence(mean, s))


def residual_std(y: Array, pred: Array, weight: Array | None = None) -> float:
    """Root mean squared residual (weighted if ``weight``)."""
    r2 = (np.asarray(y, dtype=np.float64) - pred) ** 2
    return float(np.sqrt(np.average(r2, weights=weight))) if len(r2) else 0.0


def as_matrix(X: Array, ndim: int = 2) -> Array:
    """``X`` as a float64 array with ``ndim`` dimensions (rows first)."""
    a = np.asarray(X, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"X must have {ndim} dimensions, got shape {a.shape}")
    return a


def as_target(y: Array, n: int) -> Array:
    """``y`` as a float64 vector of length ``n`` without NaN."""
    a = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(a) != n:
        raise ValueError(f"y has {len(a)} rows, X has {n}")
    if np.isnan(a).any():
        raise ValueError("y contains NaN")
    return a


def class_index(y: Array, classes: Array) -> Array:
    """Index of each label of ``y`` in ``classes`` (sorted); unknown labels raise."""
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, len(classes) - 1)
    if not np.array_equal(classes[idx], y):
        raise ValueError("y has labels not seen in training")
    return idx


def aligned_proba(model: Model, X: Array, classes: Array) -> Array:
    """``model.predict_proba(X)`` with columns mapped onto ``classes`` (missing = 0)."""
    predict_proba = getattr(model, "predict_proba", None)
    if model.kind != "classifier" or predict_proba is None:
        raise TypeError(f"{type(model).__name__} is not a probabilistic classifier")
    p = np.asarray(predict_proba(X))
    own = np.asarray(model.classes_)  # type: ignore[attr-defined]
    if np.array_equal(own, classes):
        return p
    out = np.zeros((p.shape[0], len(classes)))
    out[:, class_index(own, classes)] = p
    return out
