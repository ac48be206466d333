"""Targets a model learns from: only labels realised at the fit bar, zero returns dropped."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.ml.models.ensemble import StackingEnsemble, contiguous_folds
from alphapulse.ml.models.spec import ModelSpec
from alphapulse.ml.training import LabelSpec, fit_at, target_values, tune_spec
from alphapulse.ml.tuning import TuningSpec

Folds = list[tuple[np.ndarray, np.ndarray]]


def _data(seed: int = 0, T: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    N = 4
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


def _spy_stacking_folds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[np.ndarray, Folds]]:
    """Records each stacking fit's rows and the meta-model's folds (an unpurged
    ``contiguous_folds`` when none are given)."""
    used: list[tuple[np.ndarray, Folds]] = []
    fit = StackingEnsemble.fit

    def spy(self, X, y, sample_weight=None, X_val=None, y_val=None, *, folds=None):  # type: ignore[no-untyped-def]
        folds = contiguous_folds(len(X), self.n_splits) if folds is None else list(folds)
        used.append((np.array(X), folds))
        return fit(self, X, y, sample_weight, X_val, y_val, folds=folds)

    monkeypatch.setattr(StackingEnsemble, "fit", spy)
    return used


def _assert_purged(folds: Folds, bars: np.ndarray, ends: np.ndarray, embargo: int) -> None:
    """No training row's label window [bar, label end] meets a validation block's
    [first bar, last label end] or the ``embargo`` bars after it, no bar is split
    between training and validation, and every row is validated once."""
    covered = np.zeros(bars.size, dtype=bool)
    for tr, va in folds:
        a, e = bars[va].min(), ends[va].max()
        assert tr.size and va.size
        assert not set(bars[tr]) & set(bars[va])
        assert ((ends[tr] < a) | (bars[tr] > e + embargo)).all()
        covered[va] = True
    assert covered.all()  # the meta-model still sees every row once, out of fold


STACKING = ModelSpec(
    kind="stacking",
    params={"n_splits": 3},
    members=[ModelSpec(kind="ridge"), ModelSpec(kind="ridge", params={"alpha": 100.0})],
)


def test_stacking_meta_model_learns_from_purged_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The out-of-fold rows of a stacking ensemble fitted by ``fit_at`` are purged (a
    bar's symbols share their features' dates, so no bar is split either)."""
    features, y, end = _data()
    t, embargo = 36, 2
    used = _spy_stacking_folds(monkeypatch)
    fitted = fit_at(features, y, end, t, STACKING, LabelSpec(), embargo=embargo)
    assert fitted is not None and len(used) == 1
    bars, syms = np.nonzero(end <= t - embargo)  # fit_at's rows, in its order
    _assert_purged(used[0][1], bars, end[bars, syms], embargo)


def test_tuning_a_stacking_model_purges_its_meta_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every trial of ``tune_spec`` fits the stacking model on a purged fold's rows, and
    its meta-model learns from purged folds of those rows too, as the final fit's does
    (it used unpurged contiguous row folds: members fitted on labels overlapping the
    rows they predicted for the meta-model)."""
    features, y, end = _data(T=120)
    t, n_bars = 116, features.shape[0]
    features[:, :, 0] = np.arange(n_bars)[:, None]  # the row's bar and symbol, for the spy
    features[:, :, 1] = np.arange(features.shape[1])[None, :]
    used = _spy_stacking_folds(monkeypatch)
    tuning = TuningSpec(
        n_trials=2, embargo=1, space={"n_splits": {"type": "int", "low": 2, "high": 3}}
    )
    tune_spec(features, y, end, t, STACKING, LabelSpec(), tuning)
    assert len(used) == 2 * 3  # every trial, every outer fold
    for X, folds in used:
        bars, syms = X[:, 0].astype(np.int64), X[:, 1].astype(np.int64)
        _assert_purged(folds, bars, end[bars, syms], tuning.embargo)
