"""Nested tuning: Optuna scored by purged k-fold inside one training window only."""

from __future__ import annotations

import numpy as np
import optuna
from sklearn.linear_model import LogisticRegression

from alphapulse.ml.cv import PurgedWalkForward
from alphapulse.ml.tuning import tune


class _Spy(LogisticRegression):
    seen: list[int] = []  # noqa: RUF012 - test instrumentation

    def fit(self, X, y, sample_weight=None):  # type: ignore[no-untyped-def]
        _Spy.seen.extend(np.round(X[:, -1]).astype(int).tolist())
        return super().fit(X[:, :-1], y, sample_weight=sample_weight)

    def score(self, X, y, sample_weight=None):  # type: ignore[no-untyped-def]
        _Spy.seen.extend(np.round(X[:, -1]).astype(int).tolist())
        return super().score(X[:, :-1], y)


def test_tune_sees_only_the_training_window() -> None:
    rng = np.random.default_rng(0)
    n_t, n_s = 300, 8
    times = np.repeat(np.arange(n_t), n_s)
    x = rng.normal(size=(n_t * n_s, 2))
    y = (x[:, 0] + 0.5 * rng.normal(size=len(x)) > 0).astype(int)
    X = np.column_stack([x, times])  # last column: the time, to spy on what fit sees
    label_end = times + 5
    outer = list(PurgedWalkForward(2, embargo=1).split(n_t, np.arange(n_t) + 5))
    train_t, test_t = outer[0]
    rows = np.isin(times, train_t)
    _Spy.seen = []

    def factory(trial: optuna.Trial) -> _Spy:
        return _Spy(C=trial.suggest_float("C", 1e-3, 10.0, log=True))

    res = tune(factory, X[rows], y[rows], times[rows], label_end[rows], n_trials=4, embargo=2)
    assert set(_Spy.seen) <= set(train_t.tolist())  # the outer test block never seen
    assert max(_Spy.seen) < test_t[0]
    assert 0.7 < res.best_value <= 1.0 and "C" in res.best_params
    assert len(res.study.trials) == 4
