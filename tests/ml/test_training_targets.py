"""Targets a model learns from: only labels realised at the fit bar, zero returns dropped."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.ml.models.ensemble import StackingEnsemble, contiguous_folds
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


def test_cross_sectional_triple_barrier_classes_stay_signs() -> None:
    """Demeaned triple-barrier labels are not classes: a classifier learns the side of
    the bar's mean (-1 / 0 / +1), like forward returns; a regressor the demeaned value."""
    y = np.array([[1.0, -1.0, 0.0, 1.0], [0.0, 0.0, 0.0, np.nan]])
    label = LabelSpec(kind="triple_barrier", cross_sectional=True)
    out = target_values(y, label, "classifier")  # bar means 0.25 and 0
    np.testing.assert_array_equal(out, [[1.0, -1.0, -1.0, 1.0], [0.0, 0.0, 0.0, np.nan]])
    np.testing.assert_allclose(target_values(y, label, "regressor")[0], [0.75, -1.25, -0.25, 0.75])
    features, _, end = _data(2)
    labels = np.random.default_rng(2).choice([-1.0, 0.0, 1.0], size=end.shape)
    fitted = fit_at(features, labels, end, 30, ModelSpec(kind="logistic"), label)
    assert fitted is not None
    assert set(fitted.model.classes_) <= {-1.0, 0.0, 1.0}  # type: ignore[attr-defined]


def test_stacking_meta_model_learns_from_purged_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The out-of-fold rows of a stacking ensemble fitted by ``fit_at``: no training row's
    label window [bar, label end] meets a validation block's [first bar, last label end]
    or the ``embargo`` bars after it, and no bar is split between training and
    validation (a bar's symbols share their features' dates)."""
    features, y, end = _data()
    t, embargo = 36, 2
    used: list[list[tuple[np.ndarray, np.ndarray]]] = []
    fit = StackingEnsemble.fit

    def spy(self, X, y, sample_weight=None, X_val=None, y_val=None, *, folds=None):  # type: ignore[no-untyped-def]
        folds = contiguous_folds(len(X), self.n_splits) if folds is None else list(folds)
        used.append(folds)
        return fit(self, X, y, sample_weight, X_val, y_val, folds=folds)

    monkeypatch.setattr(StackingEnsemble, "fit", spy)
    spec = ModelSpec(
        kind="stacking",
        params={"n_splits": 3},
        members=[ModelSpec(kind="ridge"), ModelSpec(kind="ridge", params={"alpha": 100.0})],
    )
    fitted = fit_at(features, y, end, t, spec, LabelSpec(), embargo=embargo)
    assert fitted is not None and len(used) == 1
    bars, syms = np.nonzero(end <= t - embargo)  # fit_at's rows, in its order
    ends = end[bars, syms]
    covered = np.zeros(bars.size, dtype=bool)
    for tr, va in used[0]:
        a, e = bars[va].min(), ends[va].max()
        assert tr.size and va.size
        assert not set(bars[tr]) & set(bars[va])
        assert ((ends[tr] < a) | (bars[tr] > e + embargo)).all()
        covered[va] = True
    assert covered.all()  # the meta-model still sees every row once, out of fold
