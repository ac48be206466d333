"""LightGBM and linear models: they learn a synthetic signal, quantiles are ordered,
early stopping stops, seeds reproduce, save/load is bit-identical; specs and windows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from alphapulse.core.errors import ConfigError
from alphapulse.ml.models import (
    LGBMClassifierModel,
    LGBMQuantileModel,
    LGBMRegressorModel,
    LogisticBaseline,
    Model,
    ModelSpec,
    NotFittedError,
    RidgeBaseline,
    StackingEnsemble,
    build_model,
    load_model,
    make_windows,
)


def data(n: int = 1600, f: int = 8, seed: int = 0, nan: float = 0.0):
    """X [n, f] with NaN holes; y = x0 + 0.5 x1 + noise (continuous)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f))
    y = X[:, 0] + 0.5 * X[:, 1] + 0.5 * rng.normal(size=n)
    if nan:
        X[rng.random(X.shape) < nan] = np.nan
    return X, y


def split(X, y):
    n = len(X)
    a, b = int(n * 0.6), int(n * 0.8)
    return (X[:a], y[:a]), (X[a:b], y[a:b]), (X[b:], y[b:])


FAST = {"n_estimators": 150, "learning_rate": 0.1, "early_stopping_rounds": 20}


def test_lgbm_classifier_learns_the_sign_with_nan_features() -> None:
    X, y = data(nan=0.05)
    (xt, yt), (xv, yv), (xs, ys) = split(X, np.sign(y))
    m = LGBMClassifierModel(**FAST).fit(xt, yt, X_val=xv, y_val=yv)
    assert set(np.unique(m.predict(xs))) <= {-1.0, 1.0}
    assert np.mean(m.predict(xs) == ys) > 0.75
    p = m.predict_proba(xs)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    u = m.predict_with_uncertainty(xs)
    np.testing.assert_allclose(u.mean, p[:, 1] - p[:, 0])  # expected label of -1/+1
    assert ((u.confidence >= 0) & (u.confidence <= 1)).all()
    assert (u.lower <= u.mean).all() and (u.mean <= u.upper).all()
    # confident rows are right more often than unconfident ones
    top = u.confidence > np.median(u.confidence)
    assert np.mean(m.predict(xs)[top] == ys[top]) > np.mean(m.predict(xs)[~top] == ys[~top])


def test_lgbm_classifier_multiclass_labels() -> None:
    X, y = data()
    lab = np.where(y > 0.5, 1.0, np.where(y < -0.5, -1.0, 0.0))
    (xt, yt), (xv, yv), (xs, ys) = split(X, lab)
    m = LGBMClassifierModel(**FAST).fit(xt, yt, X_val=xv, y_val=yv)
    assert m.classes_.tolist() == [-1.0, 0.0, 1.0]
    assert np.mean(m.predict(xs) == ys) > 0.55  # chance is about 1/3
    u = m.predict_with_uncertainty(xs)
    assert (np.abs(u.mean) <= 1).all()


def test_lgbm_regressor_learns() -> None:
    (xt, yt), (xv, yv), (xs, ys) = split(*data(nan=0.05))
    m = LGBMRegressorModel(**FAST).fit(xt, yt, X_val=xv, y_val=yv)
    assert np.corrcoef(m.predict(xs), ys)[0, 1] > 0.8
    u = m.predict_with_uncertainty(xs)
    assert 0.3 < m.resid_std_ < 1.0
    assert ((u.confidence >= 0) & (u.confidence <= 1)).all()
    np.testing.assert_allclose(u.upper - u.lower, 2 * 1.2815515655446004 * m.resid_std_)


def test_lgbm_quantiles_are_ordered_and_cover() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 5))
    y = X[:, 0] + (0.2 + np.abs(X[:, 1])) * rng.normal(size=2000)  # heteroscedastic
    (xt, yt), (xv, yv), (xs, ys) = split(X, y)
    m = LGBMQuantileModel(**FAST).fit(xt, yt, X_val=xv, y_val=yv)
    u = m.predict_with_uncertainty(xs)
    ordered = (u.lower <= u.mean) & (u.mean <= u.upper)
    assert ordered.mean() >= 0.95
    cover = np.mean((ys >= u.lower) & (ys <= u.upper))
    assert 0.6 < cover < 0.95  # nominal 80%
    assert np.corrcoef(m.predict(xs), ys)[0, 1] > 0.5
    # the interval widens with |x1|, the noise scale
    width = u.upper - u.lower
    assert np.corrcoef(width, np.abs(xs[:, 1]))[0, 1] > 0.3
    assert m.predict_quantiles(xs).shape == (len(xs), 3)


def test_lgbm_early_stopping_stops() -> None:
    X, y = data()
    (xt, yt), (xv, _), _ = split(X, y)
    noise = np.random.default_rng(5).normal(size=len(xv))  # nothing to learn on val
    m = LGBMRegressorModel(n_estimators=2000, learning_rate=0.1, early_stopping_rounds=10)
    m.fit(xt, yt, X_val=xv, y_val=noise)
    assert m.best_iteration_[0] < 100
    full = LGBMRegressorModel(n_estimators=60, early_stopping_rounds=0).fit(xt, yt)
    assert full.best_iteration_ == [60]


def test_logistic_baseline_learns_with_nan() -> None:
    X, y = data(nan=0.1)
    (xt, yt), _, (xs, ys) = split(X, np.sign(y))
    m = LogisticBaseline().fit(xt, yt)
    assert np.mean(m.predict(xs) == ys) > 0.75
    assert m.predict_with_uncertainty(xs).confidence.max() <= 1


def test_ridge_baseline_learns() -> None:
    (xt, yt), (xv, yv), (xs, ys) = split(*data(nan=0.05))
    m = RidgeBaseline().fit(xt, yt, X_val=xv, y_val=yv)
    assert np.corrcoef(m.predict(xs), ys)[0, 1] > 0.8


def _models() -> list[Model]:
    bag = {"feature_fraction": 0.7, "bagging_fraction": 0.7, "bagging_freq": 1}
    return [
        LGBMClassifierModel(**FAST, **bag),
        LGBMRegressorModel(**FAST, **bag),
        LGBMQuantileModel(**FAST, **bag),
        LogisticBaseline(C=0.5),
        RidgeBaseline(alpha=2.0),
    ]


def _target(m: Model, y: np.ndarray) -> np.ndarray:
    return np.sign(y) if m.kind == "classifier" else y


def _same(a: Model, b: Model, X: np.ndarray) -> bool:
    ua, ub = a.predict_with_uncertainty(X), b.predict_with_uncertainty(X)
    same = np.array_equal(a.predict(X), b.predict(X))
    for f in ("mean", "lower", "upper", "confidence"):
        same &= np.array_equal(getattr(ua, f), getattr(ub, f))
    if a.kind == "classifier":
        same &= np.array_equal(a.predict_proba(X), b.predict_proba(X))  # type: ignore[attr-defined]
    return bool(same)


@pytest.mark.parametrize("model", _models(), ids=lambda m: type(m).__name__)
def test_seeded_fits_are_identical_and_save_load_is_bit_identical(
    model: Model, tmp_path: Path
) -> None:
    X, y = data(nan=0.05)
    (xt, yt), (xv, yv), (xs, _) = split(X, y)
    yt, yv = _target(model, yt), _target(model, yv)
    twin = model.clone()
    model.fit(xt, yt, X_val=xv, y_val=yv)
    twin.fit(xt, yt, X_val=xv, y_val=yv)
    assert _same(model, twin, xs)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.params == model.params
    assert _same(model, loaded, xs)
    assert _same(model, type(model).load(tmp_path / "m"), xs)


def test_lgbm_seed_changes_bagged_model() -> None:
    X, y = data()
    bag = {"feature_fraction": 0.5, "bagging_fraction": 0.5, "bagging_freq": 1}
    a = LGBMRegressorModel(**bag, seed=1).fit(X, y).predict(X)
    b = LGBMRegressorModel(**bag, seed=2).fit(X, y).predict(X)
    assert not np.array_equal(a, b)


def test_load_checks_class_and_fit_state(tmp_path: Path) -> None:
    X, y = data(n=300)
    LGBMRegressorModel(n_estimators=5).fit(X, y).save(tmp_path / "r")
    with pytest.raises(TypeError):
        LGBMClassifierModel.load(tmp_path / "r")
    with pytest.raises(NotFittedError):
        LGBMRegressorModel().predict(X)
    with pytest.raises(NotFittedError):
        LogisticBaseline().save(tmp_path / "x")


@pytest.mark.parametrize("name", ["../outside/booster_0.txt", "ABSOLUTE"])
def test_a_stored_booster_name_outside_the_model_is_not_read(tmp_path: Path, name: str) -> None:
    """``model.json`` names the booster files; the registry hashes only the model's own
    folder, so a name reaching beyond it is refused before anything is read."""
    X, y = data(n=300)
    LGBMRegressorModel(n_estimators=3).fit(X, y).save(tmp_path / "outside")
    LGBMRegressorModel(n_estimators=5).fit(X, y).save(tmp_path / "m")
    meta = tmp_path / "m" / "model.json"
    saved = json.loads(meta.read_text())
    outside = str(tmp_path / "outside" / "booster_0.txt")
    saved["state"]["boosters"] = [outside if name == "ABSOLUTE" else name]
    meta.write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="is not a file of the model"):
        load_model(tmp_path / "m")


def test_build_model_from_spec() -> None:
    assert isinstance(build_model({"kind": "lgbm_quantile", "params": {}}), LGBMQuantileModel)
    m = build_model(ModelSpec(kind="lgbm_classifier", params={"num_leaves": 7}))
    assert m.params["num_leaves"] == 7 and m.kind == "classifier"
    assert build_model({"kind": "lstm", "params": {"task": "regression"}}).kind == "regressor"
    st = build_model(
        {
            "kind": "stacking",
            "params": {"n_splits": 3, "meta": {"kind": "ridge", "params": {"alpha": 3.0}}},
            "members": [{"kind": "lgbm_regressor"}, {"kind": "ridge"}],
        }
    )
    assert isinstance(st, StackingEnsemble) and st.meta.params == {"alpha": 3.0}
    with pytest.raises(ValidationError):
        ModelSpec.model_validate({"kind": "logistic", "extra": 1})
    with pytest.raises(ValidationError):
        ModelSpec.model_validate({"kind": "xgboost"})
    with pytest.raises(ValidationError):
        ModelSpec.model_validate({"kind": "voting"})
    with pytest.raises(ValidationError):
        ModelSpec.model_validate({"kind": "logistic", "members": [{"kind": "logistic"}]})
    with pytest.raises(ConfigError):
        build_model({"kind": "logistic", "params": {"bogus": 1}})
    with pytest.raises(ConfigError):
        build_model({"kind": "voting", "members": [{"kind": "logistic"}, {"kind": "ridge"}]})


def test_make_windows_rows_follow_the_panel_and_never_look_ahead() -> None:
    T, N, F, W = 6, 3, 2, 4
    v = np.arange(T * N * F, dtype=np.float64).reshape(T, N, F)
    w = make_windows(v, W)
    assert w.shape == (T * N, W, F)
    np.testing.assert_array_equal(w[:, -1], v.reshape(T * N, F))  # last step = own row
    r = 5 * N + 2  # t = 5, n = 2
    np.testing.assert_array_equal(w[r], v[2:6, 2])
    assert np.isnan(w[0, :-1]).all() and not np.isnan(w[0, -1]).any()  # t = 0: padded
    mask = np.zeros(T * N, dtype=bool)
    mask[[4, 11]] = True
    np.testing.assert_array_equal(make_windows(v, W, rows=mask), w[mask])
    np.testing.assert_array_equal(make_windows(v, W, rows=np.array([11, 4])), w[[11, 4]])
    np.testing.assert_array_equal(make_windows(v, 1)[:, 0], v.reshape(-1, F))
