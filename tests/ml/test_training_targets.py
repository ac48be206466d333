"""Targets a model learns from: only labels realised at the fit bar, zero returns dropped."""

from __future__ import annotations

import numpy as np

from alphapulse.ml.models.spec import ModelSpec
from alphapulse.ml.training import LabelSpec, fit_at, target_values


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    T, N = 40, 4
    features = rng.normal(size=(T, N, 3))
    y = rng.normal(0, 0.01, size=(T, N))
    end = np.arange(T)[:, None] + np.array([[2, 3, 5, 8]])  # staggered label ends
    return features, y, end.astype(np.int64)


def test_cross_sectional_target_ignores_labels_unrealised_at_fit_bar() -> None:
    features, y, end = _data()
    t = 30
    moved = y.copy()
    moved[end > t] += 1.0  # labels nobody knew at t
    label = LabelSpec(cross_sectional=True)
    spec = ModelSpec(kind="ridge")
    a = fit_at(features, y, end, t, spec, label)
    b = fit_at(features, moved, end, t, spec, label)
    assert a is not None and b is not None
    X = features[:t].reshape(-1, 3)
    np.testing.assert_array_equal(
        a.model.predict_with_uncertainty(X).mean, b.model.predict_with_uncertainty(X).mean
    )


def test_zero_forward_return_is_not_a_down_label() -> None:
    y = np.array([[0.0, 0.01, -0.01, np.nan]])
    out = target_values(y, LabelSpec(), "classifier")
    np.testing.assert_array_equal(out, [[0.0, 1.0, -1.0, np.nan]])
    features, y, end = _data(1)
    y[:, 0] = 0.0  # symbol 0 never moves: no class to learn
    fitted = fit_at(features, y, end, 30, ModelSpec(kind="logistic"), LabelSpec())
    assert fitted is not None
    assert fitted.n_rows == int((end[:, 1:] <= 30).sum())
