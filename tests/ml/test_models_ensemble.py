"""Ensembles: voting / confidence weighting combine as documented; stacking trains its
meta-model on out-of-fold predictions only; every ensemble saves and loads
bit-identically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self

import numpy as np
import pytest
from pydantic import ValidationError

from alphapulse.core.errors import ConfigError
from alphapulse.ml.models import (
    ConfidenceWeightedEnsemble,
    LGBMClassifierModel,
    LGBMQuantileModel,
    LGBMRegressorModel,
    LogisticBaseline,
    Model,
    Prediction,
    RidgeBaseline,
    StackingEnsemble,
    VotingEnsemble,
    build_model,
    contiguous_folds,
    load_model,
)
from alphapulse.ml.models.base import gaussian_prediction
from alphapulse.ml.models.spec import ModelSpec

FAST = {"n_estimators": 80, "learning_rate": 0.1, "early_stopping_rounds": 15}


def data(n: int = 1200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    return X, X[:, 0] + 0.5 * X[:, 1] + 0.5 * rng.normal(size=n)


class Const(Model):
    """Test regressor: a constant forecast with a fixed confidence (sigma)."""

    kind = "regressor"

    def __init__(self, value: float = 0.0, sigma: float = 1.0) -> None:
        self.value, self.sigma = value, sigma

    @property
    def params(self) -> dict[str, Any]:
        return {"value": self.value, "sigma": self.sigma}

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None) -> Self:
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.value)

    def predict_with_uncertainty(self, X: np.ndarray) -> Prediction:
        return gaussian_prediction(self.predict(X), self.sigma)

    def _state(self, path: Path) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _restore(cls, path: Path, params: dict[str, Any], state: dict[str, Any]) -> Self:
        raise NotImplementedError


class Memorizer(Model):
    """Test regressor that recalls the training target of rows it has seen (perfect
    in-fold predictions) and knows nothing about other rows (predicts 0)."""

    kind = "regressor"

    def __init__(self) -> None:
        self.memory: dict[bytes, float] = {}

    @property
    def params(self) -> dict[str, Any]:
        return {}

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None) -> Self:
        self.memory = {row.tobytes(): float(v) for row, v in zip(X, y, strict=True)}
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.array([self.memory.get(row.tobytes(), 0.0) for row in X])

    def predict_with_uncertainty(self, X: np.ndarray) -> Prediction:
        return gaussian_prediction(self.predict(X), 0.0)

    def _state(self, path: Path) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _restore(cls, path: Path, params: dict[str, Any], state: dict[str, Any]) -> Self:
        raise NotImplementedError


def test_voting_classifier_averages_member_probabilities() -> None:
    X, y = data()
    y = np.sign(y)
    members = [LGBMClassifierModel(**FAST), LogisticBaseline()]
    ens = VotingEnsemble(members, weights=[3.0, 1.0]).fit(X[:900], y[:900])
    expected = 0.75 * members[0].predict_proba(X[900:]) + 0.25 * members[1].predict_proba(X[900:])
    np.testing.assert_allclose(ens.predict_proba(X[900:]), expected)
    assert np.mean(ens.predict(X[900:]) == y[900:]) > 0.75
    assert ens.kind == "classifier"


def test_voting_regressor_spread_widens_the_interval() -> None:
    X = np.zeros((4, 2))
    agree = VotingEnsemble([Const(1.0, 0.5), Const(1.0, 0.5)]).fit(X, np.zeros(4))
    disagree = VotingEnsemble([Const(0.0, 0.5), Const(2.0, 0.5)]).fit(X, np.zeros(4))
    a, d = agree.predict_with_uncertainty(X), disagree.predict_with_uncertainty(X)
    np.testing.assert_allclose(a.mean, 1.0)
    np.testing.assert_allclose(d.mean, 1.0)
    assert ((d.upper - d.lower) > (a.upper - a.lower)).all()
    assert (d.confidence < a.confidence).all()


def test_confidence_weighting_follows_member_confidence() -> None:
    X = np.zeros((3, 2))
    sure, unsure = Const(1.0, 0.1), Const(-1.0, 100.0)
    ens = ConfidenceWeightedEnsemble([sure, unsure]).fit(X, np.zeros(3))
    cs = sure.predict_with_uncertainty(X).confidence
    cu = unsure.predict_with_uncertainty(X).confidence
    np.testing.assert_allclose(ens.predict(X), (cs - cu) / (cs + cu))
    assert (ens.predict(X) > 0.95).all()
    zero = ConfidenceWeightedEnsemble([Const(0.0), Const(2.0)]).fit(X, np.zeros(3))
    np.testing.assert_allclose(zero.predict(X), 2.0)  # Const(0) has confidence 0
    none = ConfidenceWeightedEnsemble([Const(1.0, np.inf), Const(3.0, np.inf)])
    np.testing.assert_allclose(none.fit(X, np.zeros(3)).predict(X), 2.0)  # all 0: equal


def test_stacking_meta_model_sees_out_of_fold_predictions_only() -> None:
    X, y = data(seed=1)
    honest = RidgeBaseline()
    st = StackingEnsemble([Memorizer(), honest], meta=RidgeBaseline(alpha=1e-3))
    st.fit(X[:900], y[:900])
    coef = st.meta.coef_  # type: ignore[attr-defined]
    # out of fold the memoriser predicts 0: the meta-model must ignore it
    assert abs(coef[0]) < 0.05 and coef[1] > 0.5
    assert np.corrcoef(st.predict(X[900:]), y[900:])[0, 1] > 0.8
    # control: fitted on in-fold predictions, the meta-model trusts the memoriser
    naive = RidgeBaseline(alpha=1e-3).fit(
        np.column_stack(
            [Memorizer().fit(X[:900], y[:900]).predict(X[:900]), honest.predict(X[:900])]
        ),
        y[:900],
    )
    assert naive.coef_[0] > 0.5


def test_stacking_uses_the_callers_folds() -> None:
    X, y = data(n=600)
    # purged folds: a gap of 20 rows around each validation block, first block unused
    folds = []
    for a, b in [(200, 400), (400, 600)]:
        tr = np.r_[np.arange(0, max(a - 20, 0)), np.arange(min(b + 20, 600), 600)]
        folds.append((tr, np.arange(a, b)))
    st = StackingEnsemble([Memorizer(), LGBMRegressorModel(**FAST)]).fit(X, y, folds=iter(folds))
    np.testing.assert_array_equal(st.oof_rows_, np.arange(200, 600))
    assert len(contiguous_folds(10, 3)) == 3
    assert sorted(np.concatenate([v for _, v in contiguous_folds(10, 3)])) == list(range(10))


def test_stacking_skips_a_fold_that_purging_left_without_training_rows() -> None:
    """Small windows with long labels: a purged fold may keep no training rows; its
    validation block stays out of the meta fit instead of failing the members' fit."""
    X, y = data(n=300)
    folds = [
        (np.array([], dtype=np.int64), np.arange(0, 100)),
        (np.arange(0, 100), np.arange(200, 300)),
    ]
    st = StackingEnsemble([RidgeBaseline(), RidgeBaseline(alpha=100.0)]).fit(X, y, folds=folds)
    np.testing.assert_array_equal(st.oof_rows_, np.arange(200, 300))
    assert np.corrcoef(st.predict(X), y)[0, 1] > 0.8


def test_stacking_classifier_learns() -> None:
    X, y = data()
    y = np.sign(y)
    st = StackingEnsemble([LGBMClassifierModel(**FAST), LogisticBaseline()], n_splits=3)
    st.fit(X[:900], y[:900], X_val=X[900:1000], y_val=y[900:1000])
    assert isinstance(st.meta, LogisticBaseline)
    assert np.mean(st.predict(X[1000:]) == y[1000:]) > 0.75
    np.testing.assert_allclose(st.predict_proba(X[1000:]).sum(axis=1), 1.0)


def _ensembles() -> list[Model]:
    reg = [LGBMRegressorModel(**FAST), LGBMQuantileModel(**FAST), RidgeBaseline()]
    cls = [LGBMClassifierModel(**FAST), LogisticBaseline()]
    return [
        VotingEnsemble([m.clone() for m in reg], weights=[1, 2, 1]),
        VotingEnsemble([m.clone() for m in cls]),
        ConfidenceWeightedEnsemble([m.clone() for m in reg]),
        ConfidenceWeightedEnsemble([m.clone() for m in cls]),
        StackingEnsemble([m.clone() for m in reg], n_splits=3),
        StackingEnsemble(
            [VotingEnsemble([m.clone() for m in cls]), LGBMClassifierModel(**FAST)], n_splits=3
        ),
        build_model(
            {
                "kind": "confidence",
                "members": [{"kind": "lgbm_quantile", "params": FAST}, {"kind": "ridge"}],
            }
        ),
    ]


@pytest.mark.parametrize("ens", _ensembles(), ids=lambda e: type(e).__name__)
def test_ensemble_save_load_is_bit_identical(ens: Model, tmp_path: Path) -> None:
    X, y = data(n=800)
    X[np.random.default_rng(2).random(X.shape) < 0.05] = np.nan
    if ens.kind == "classifier":
        y = np.sign(y)
    ens.fit(X[:500], y[:500], X_val=X[500:650], y_val=y[500:650])
    xs = X[650:]
    ens.save(tmp_path / "e")
    loaded = load_model(tmp_path / "e")
    assert type(loaded) is type(ens)
    assert np.array_equal(loaded.predict(xs), ens.predict(xs))
    a, b = ens.predict_with_uncertainty(xs), loaded.predict_with_uncertainty(xs)
    for f in ("mean", "lower", "upper", "confidence"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    if ens.kind == "classifier":
        assert np.array_equal(ens.predict_proba(xs), loaded.predict_proba(xs))  # type: ignore[attr-defined]
    twin = ens.clone().fit(X[:500], y[:500], X_val=X[500:650], y_val=y[500:650])
    assert np.array_equal(twin.predict(xs), ens.predict(xs))


def test_members_must_share_a_kind() -> None:
    with pytest.raises(ValueError):
        VotingEnsemble([LogisticBaseline(), RidgeBaseline()])
    with pytest.raises(ValueError):
        StackingEnsemble([RidgeBaseline()], meta=LogisticBaseline())


def test_stacking_with_one_fold_is_a_config_error() -> None:
    """One fold leaves no rows to train the members on out of fold: refused when the
    model is built (one line naming the parameter), not deep inside a fit."""
    spec = {"kind": "stacking", "members": [{"kind": "ridge"}], "params": {"n_splits": 1}}
    with pytest.raises(ConfigError, match=r"^model stacking: n_splits must be >= 2"):
        build_model(spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "voting", "members": [{"kind": "stacking", "members": [{"kind": "ridge"}]}]},
        {"kind": "stacking", "members": [{"kind": "stacking", "members": [{"kind": "ridge"}]}]},
        {
            "kind": "stacking",
            "members": [{"kind": "ridge"}],
            "params": {"meta": {"kind": "stacking", "members": [{"kind": "ridge"}]}},
        },
    ],
)
def test_a_nested_stacking_model_is_a_config_error(spec: dict) -> None:
    """Only a top-level stacking model gets the refit's purged folds (``fit_at``); one
    inside another ensemble fitted its meta-model on plain contiguous folds: leakage."""
    with pytest.raises(ValidationError, match="nested stacking model is not supported"):
        ModelSpec.model_validate(spec)


@pytest.mark.parametrize("kind", ["voting", "stacking"])
@pytest.mark.parametrize("where", ["absolute", "parent"])
def test_a_stored_member_outside_the_model_is_not_loaded(
    tmp_path: Path, kind: str, where: str
) -> None:
    """A saved ensemble names its members' folders; a name that leaves the model's folder
    (which the registry's hash covers) is refused, never loaded."""
    X, y = data(n=300)
    y = np.sign(y)
    outside = tmp_path / "outside"
    LogisticBaseline().fit(X, y).save(outside)  # a loadable model, outside the ensemble
    ens: Model = VotingEnsemble([LogisticBaseline()])
    if kind == "stacking":
        ens = StackingEnsemble([LogisticBaseline(), LogisticBaseline()], n_splits=2)
    ens.fit(X, y)
    ens.save(tmp_path / "e")
    meta = tmp_path / "e" / "model.json"
    saved = json.loads(meta.read_text())
    name = str(outside) if where == "absolute" else "../outside"
    key = "meta" if kind == "stacking" else "members"
    saved["state"][key] = name if key == "meta" else [name]
    meta.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="is not a folder of the model"):
        load_model(tmp_path / "e")
