"""Transformer and LSTM (tiny, CPU): they learn a windowed signal, seeds reproduce,
early stopping stops, torch global state is left alone, save/load is bit-identical."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from alphapulse.ml.models import LSTMModel, TransformerModel, load_model, make_windows
from alphapulse.ml.models.sequence import SequenceModel

TINY = {
    TransformerModel: {"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32},
    LSTMModel: {"hidden": 16},
}


@pytest.fixture(scope="module")
def panel() -> tuple[np.ndarray, np.ndarray]:
    """Windows [rows, 5, 3] and y = sum of x0 over the last 3 bars + noise."""
    rng = np.random.default_rng(0)
    T, N = 110, 8
    v = rng.normal(size=(T, N, 3))
    x0 = v[:, :, 0]
    s = x0.copy()
    s[1:] += x0[:-1]
    s[2:] += x0[:-2]
    y = (s + 0.3 * rng.normal(size=s.shape)).reshape(-1)
    X = make_windows(v, 5)
    return X[2 * N :], y[2 * N :]  # drop the bars without full history


def _parts(X: np.ndarray, y: np.ndarray):
    return (X[:500], y[:500]), (X[500:650], y[500:650]), (X[650:], y[650:])


def _make(cls: type[SequenceModel], task: str, **kw: object) -> SequenceModel:
    return cls(task=task, epochs=40, patience=5, lr=5e-3, **TINY[cls], **kw)


@pytest.mark.parametrize("cls", [TransformerModel, LSTMModel])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_learns_reproduces_and_round_trips(
    cls: type[SequenceModel], task: str, panel, tmp_path: Path
) -> None:
    X, y = panel
    if task == "classification":
        y = np.sign(y)
    (xt, yt), (xv, yv), (xs, ys) = _parts(X, y)
    rng_before = torch.get_rng_state()
    threads = torch.get_num_threads()
    m = _make(cls, task).fit(xt, yt, X_val=xv, y_val=yv)
    assert torch.equal(torch.get_rng_state(), rng_before)  # global RNG untouched
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()
    p = m.predict(xs)
    if task == "classification":
        assert m.kind == "classifier" and set(np.unique(p)) <= {-1.0, 1.0}
        assert np.mean(p == ys) > 0.7
        np.testing.assert_allclose(m.predict_proba(xs).sum(axis=1), 1.0, rtol=1e-6)
    else:
        assert m.kind == "regressor" and np.corrcoef(p, ys)[0, 1] > 0.6
    u = m.predict_with_uncertainty(xs)
    assert ((u.confidence >= 0) & (u.confidence <= 1)).all()
    assert (u.lower <= u.upper).all()

    twin = _make(cls, task).fit(xt, yt, X_val=xv, y_val=yv)
    assert np.array_equal(twin.predict_with_uncertainty(xs).mean, u.mean)

    m.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, cls)
    assert np.array_equal(loaded.predict(xs), p)
    lu = loaded.predict_with_uncertainty(xs)
    assert all(
        np.array_equal(getattr(lu, f), getattr(u, f))
        for f in ("mean", "lower", "upper", "confidence")
    )


@pytest.mark.parametrize("cls", [TransformerModel, LSTMModel])
def test_early_stopping_stops_on_a_useless_validation_fold(cls, panel) -> None:
    X, y = panel
    (xt, yt), (xv, _), _ = _parts(X, y)
    noise = np.random.default_rng(3).normal(size=len(xv))
    m = cls(task="regression", epochs=200, patience=2, lr=1e-2, **TINY[cls])
    m.fit(xt, yt, X_val=xv, y_val=noise)
    assert m.n_epochs_ < 200
    assert m.n_epochs_ == m.best_epoch_ + 2
    assert len(m.history_) == m.n_epochs_


def test_a_different_seed_gives_a_different_model(panel) -> None:
    X, y = panel
    (xt, yt), _, (xs, _) = _parts(X, y)
    a = LSTMModel(task="regression", epochs=2, seed=1, **TINY[LSTMModel]).fit(xt, yt)
    b = LSTMModel(task="regression", epochs=2, seed=2, **TINY[LSTMModel]).fit(xt, yt)
    assert not np.array_equal(a.predict(xs), b.predict(xs))
    assert a.n_epochs_ == 2


def test_matrix_input_is_a_window_of_one_and_nan_is_imputed() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = np.sign(X[:, 0] + 0.3 * rng.normal(size=400))
    X[rng.random(X.shape) < 0.1] = np.nan
    m = LSTMModel(epochs=10, lr=1e-2, **TINY[LSTMModel]).fit(X[:300], y[:300])
    assert m.window_ == 1
    assert np.mean(m.predict(X[300:]) == y[300:]) > 0.7
    with pytest.raises(TypeError):
        LSTMModel(bogus=1)
