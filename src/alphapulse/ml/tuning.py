"""Hyper-parameter tuning with Optuna, scored by purged k-fold inside one training
window only (nested: the outer walk-forward's test block is never seen)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import optuna

from alphapulse.ml.cv import PurgedKFold

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Scorer = Callable[[Any, FloatArray, FloatArray], float]


def _default_score(model: Any, X: FloatArray, y: FloatArray) -> float:
    return float(model.score(X, y))


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
    ``label_end``: row label end, both on the same time axis)."""
    uniq = np.unique(times)
    pos = np.searchsorted(uniq, times)
    # per-position label end: the last window time not after the row's label end
    end_pos = np.searchsorted(uniq, label_end, side="right") - 1
    ends = np.arange(len(uniq), dtype=np.int64)
    np.maximum.at(ends, pos, end_pos.astype(np.int64))
    folds = list(PurgedKFold(n_splits, embargo).split(len(uniq), ends))

    def objective(trial: optuna.Trial) -> float:
        scores = []
        for train_p, test_p in folds:
            tr = np.isin(pos, train_p)
            te = np.isin(pos, test_p)
            if not tr.any() or not te.any():
                continue
            model = objective_factory(trial)
            if sample_weight is None:
                model.fit(X[tr], y[tr])
            else:
                model.fit(X[tr], y[tr], sample_weight=sample_weight[tr])
            scores.append(score(model, X[te], y[te]))
        return float(np.mean(scores)) if scores else float("nan")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return TuneResult(dict(study.best_params), float(study.best_value), study)
