"""Hyper-parameter tuning with Optuna, scored by purged k-fold inside one training
window only (nested: the outer walk-forward's test block is never seen): the search
(``tune``), its settings (``TuningSpec``), the metric a model is scored with
(``tuning_metric``, ``score``). ``ml.training.tune_spec`` runs it on a window's rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import optuna
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphapulse.core.errors import ConfigError, SettingError
from alphapulse.ml.cv import PurgedKFold, row_folds
from alphapulse.ml.models.ensemble import StackingEnsemble
from alphapulse.ml.models.spec import ModelSpec, build_model

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Scorer = Callable[[Any, FloatArray, FloatArray], float]


def _default_score(model: Any, X: FloatArray, y: FloatArray) -> float:
    return float(model.score(X, y))


def fit_rows(
    model: Any,
    X: FloatArray,
    y: FloatArray,
    times: IntArray,
    label_end: IntArray,
    embargo: int,
    sample_weight: FloatArray | None = None,
) -> Any:
    """``model.fit(X, y)`` on dataset rows (``times``: row time index, ``label_end``: row
    label end); a stacking ensemble's meta-model learns from purged k-fold over the rows'
    times (``ml.cv.row_folds``, ``embargo`` after each fold), never from its own
    unpurged contiguous folds (labels overlapping the validation rows)."""
    kw: dict[str, Any] = {} if sample_weight is None else {"sample_weight": sample_weight}
    if isinstance(model, StackingEnsemble):
        kw["folds"] = row_folds(times, label_end, PurgedKFold(model.n_splits, embargo))
    return model.fit(X, y, **kw)


@dataclass(frozen=True)
class TuneResult:
    best_params: dict[str, Any]
    best_value: float
    study: optuna.Study


def tune(
    objective_factory: Callable[[optuna.Trial], Any],
    X: FloatArray,
    y: FloatArray,
    times: IntArray,
    label_end: IntArray,
    n_trials: int,
    *,
    n_splits: int = 3,
    embargo: int = 0,
    score: Scorer = _default_score,
    sample_weight: FloatArray | None = None,
    direction: Literal["maximize", "minimize"] = "maximize",
    seed: int = 0,
) -> TuneResult:
    """Tune on rows of ONE training window. ``objective_factory(trial)`` returns an
    unfitted estimator (``fit``/``predict``); each trial is scored by the mean ``score``
    over a ``PurgedKFold`` of the window's distinct times (``times``: row time index,
    ``label_end``: row label end, both on the same time axis); a stacking ensemble's
    meta-model gets purged folds of each trial's training rows (``fit_rows``)."""
    folds = row_folds(times, label_end, PurgedKFold(n_splits, embargo))
    if not any(tr.size and te.size for tr, te in folds):
        raise SettingError(
            f"tuning: purged k-fold (n_splits {n_splits}, embargo {embargo}) over "
            f"{np.unique(times).size} times leaves no fold any training rows (every label "
            "overlaps the other folds): use fewer splits, a smaller embargo or more times"
        )

    def objective(trial: optuna.Trial) -> float:
        scores = []
        for tr, te in folds:
            if not tr.size or not te.size:
                continue
            model = objective_factory(trial)
            w = None if sample_weight is None else sample_weight[tr]
            fit_rows(model, X[tr], y[tr], times[tr], label_end[tr], embargo, w)
            scores.append(score(model, X[te], y[te]))
        return float(np.mean(scores)) if scores else float("nan")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return TuneResult(dict(study.best_params), float(study.best_value), study)


class ParamRange(BaseModel):
    """One tuned parameter: ``int`` / ``float`` / ``log_float`` in ``[low, high]``, or
    one of ``choices`` (``categorical``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["int", "float", "log_float", "categorical"]
    low: float | None = None
    high: float | None = None
    choices: list[str | int | float | bool | None] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> ParamRange:
        if self.type == "categorical":
            if not self.choices or self.low is not None or self.high is not None:
                raise ValueError("categorical: give choices (non-empty), not low/high")
        elif self.low is None or self.high is None or self.choices is not None:
            raise ValueError(f"{self.type}: give low and high, not choices")
        elif self.low > self.high or (self.type == "log_float" and self.low <= 0):
            raise ValueError(f"{self.type}: need low <= high (and low > 0 for log_float)")
        return self

    def suggest(self, trial: Any, name: str) -> Any:
        """The trial's value (an ``optuna.Trial``)."""
        if self.type == "categorical":
            return trial.suggest_categorical(name, self.choices)
        assert self.low is not None and self.high is not None
        if self.type == "int":
            return trial.suggest_int(name, int(self.low), int(self.high))
        return trial.suggest_float(name, self.low, self.high, log=self.type == "log_float")


TuneMetric = Literal["auto", "accuracy", "log_loss", "ic", "mse"]


class TuningSpec(BaseModel):
    """Optuna search over ``space`` (keys: ``model.params`` names), each trial scored by
    purged k-fold over the training window's rows only (``ml.tuning.tune``). ``metric``
    ``auto``: log_loss for classifiers with probabilities (else accuracy), ic for
    regressors; ``ic`` is the Spearman correlation of the prediction and the target over
    a fold's rows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_trials: int = Field(20, ge=1)
    n_splits: int = Field(3, ge=2)
    embargo: int = Field(0, ge=0)  # bars dropped after each test fold
    seed: int = 0
    metric: TuneMetric = "auto"
    space: dict[str, ParamRange] = Field(min_length=1)


def _param_names(spec: ModelSpec) -> set[str] | None:
    """The parameter names ``spec.kind`` accepts (None: cannot tell)."""
    import inspect

    from alphapulse.ml.models.base import model_class
    from alphapulse.ml.models.spec import CLASS_OF, SEQUENCE

    if spec.kind.startswith("lgbm_"):
        from alphapulse.ml.models.lgbm import DEFAULTS, _LGBMBase

        try:  # LightGBM's own table of parameters and aliases (private API)
            from lightgbm.basic import _ConfigAliases

            aliases = _ConfigAliases._get_all_param_aliases()
        except (ImportError, AttributeError):
            return None
        cls = model_class(CLASS_OF[spec.kind])
        own = set(getattr(cls, "_own_keys", ())) if issubclass(cls, _LGBMBase) else set()
        return set(aliases) | {a for v in aliases.values() for a in v} | set(DEFAULTS) | own
    cls = model_class(CLASS_OF[spec.kind])
    if spec.kind in SEQUENCE:
        return set(cls.defaults())  # type: ignore[attr-defined]
    sig = inspect.signature(cls.__init__)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return set(sig.parameters) - {"self", "members"}


def tuning_metric(spec: ModelSpec, tuning: TuningSpec) -> str:
    """The metric ``tuning`` scores ``spec`` with; ``ConfigError`` naming any space key
    the model does not take, or a metric that does not fit its kind."""
    names = _param_names(spec)
    bad = sorted(set(tuning.space) - names) if names is not None else []
    if bad:
        raise ConfigError(f"tuning.space: {spec.kind} has no parameter(s) {bad}")
    model = build_model(spec)
    has_proba = model.kind == "classifier" and hasattr(model, "predict_proba")
    metric: str = tuning.metric
    if metric == "auto":
        metric = ("log_loss" if has_proba else "accuracy") if model.kind == "classifier" else "ic"
    if metric in ("accuracy", "log_loss") and model.kind != "classifier":
        raise ConfigError(f"tuning.metric {metric} needs a classifier, {spec.kind} is not")
    if metric == "log_loss" and not has_proba:
        raise ConfigError(f"tuning.metric log_loss needs probabilities ({spec.kind})")
    if metric == "mse" and model.kind != "regressor":
        raise ConfigError(f"tuning.metric mse needs a regressor, {spec.kind} is not")
    return metric


def score(metric: str, model: Any, X: FloatArray, y: FloatArray) -> float:
    """``metric`` of a fitted ``model`` on ``X, y`` (log_loss/mse: lower is better)."""
    if metric == "accuracy":
        return float(np.mean(model.predict(X) == y))
    if metric == "log_loss":
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        classes = np.asarray(model.classes_)
        i = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
        p = np.where(classes[i] == y, proba[np.arange(len(y)), i], 0.0)
        return float(-np.mean(np.log(np.clip(p, 1e-15, 1.0))))
    if metric == "mse":
        return float(np.mean((np.asarray(model.predict(X), dtype=np.float64) - y) ** 2))
    from scipy.stats import spearmanr

    pred = np.asarray(model.predict_with_uncertainty(X).mean, dtype=np.float64)
    if np.ptp(pred) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(spearmanr(pred, y).statistic)
