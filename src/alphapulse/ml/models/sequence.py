"""Shared PyTorch training for the sequence models (CPU, deterministic).

``X`` is ``[rows, window, F]`` (see :func:`~alphapulse.ml.models.windows.make_windows`;
a ``[rows, F]`` matrix is taken as window 1). Features are standardised with the training
mean/std and NaN becomes 0 after scaling. ``task="classification"`` trains a softmax head
on the label classes (cross-entropy), ``"regression"`` a scalar head on the standardised
target (MSE). Training is seeded and deterministic: ``torch.manual_seed(seed)`` inside a
forked RNG (the global generator is left as it was), deterministic algorithms and
``num_threads`` threads, restored afterwards. Early stopping keeps the weights of the best
validation epoch and stops after ``patience`` epochs without improvement.
Persistence: ``weights.pt`` (``state_dict``, loaded with ``weights_only=True``) plus the
configuration and scalers in ``model.json``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
from torch import nn

from alphapulse.ml.models.base import (
    Array,
    Model,
    NotFittedError,
    Prediction,
    as_matrix,
    as_target,
    class_index,
    fit_residual_std,
    gaussian_prediction,
    proba_prediction,
)

WEIGHTS_FILE = "weights.pt"
TRAIN_DEFAULTS: dict[str, Any] = {
    "task": "classification",
    "epochs": 30,
    "batch_size": 256,
    "lr": 1e-3,
    "weight_decay": 0.0,
    "dropout": 0.1,
    "patience": 5,
    "seed": 0,
    "num_threads": 1,
    "predict_batch": 4096,
}


@contextmanager
def torch_determinism(seed: int | None, threads: int) -> Iterator[None]:
    """Seeded, deterministic, ``threads``-thread torch; global settings restored after."""
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        if threads != prev_threads:
            torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
            if threads != prev_threads:
                torch.set_num_threads(prev_threads)


def _batch_forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``net(x)``; a lone row runs as a batch of two copies: torch's CPU kernels take
    another (matrix-vector) path for one row, whose output differs in the last bits, so a
    row's prediction would depend on how many rows share its batch (e.g. a final partial
    batch of one row, or a single-symbol bar)."""
    if len(x) == 1:
        out: torch.Tensor = net(torch.cat([x, x]))[:1]
        return out
    res: torch.Tensor = net(x)
    return res


class SequenceModel(Model):
    """Base of ``TransformerModel`` and ``LSTMModel``: training loop, scaling, heads."""

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults())
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown params {sorted(unknown)}")
        self._params = {**self.defaults(), **params}
        if self._params["task"] not in ("classification", "regression"):
            raise ValueError("task must be 'classification' or 'regression'")
        self.kind = "classifier" if self._params["task"] == "classification" else "regressor"
        self._net: nn.Module | None = None
        self.classes_ = np.zeros(0)
        self.window_ = 0
        self.n_features_ = 0
        self.x_mean_ = np.zeros(0)
        self.x_std_ = np.zeros(0)
        self.y_mean_ = 0.0
        self.y_std_ = 1.0
        self.resid_std_ = 0.0
        self.n_epochs_ = 0
        self.best_epoch_ = 0
        self.history_: list[float] = []

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter with its default (training plus architecture)."""
        return {**TRAIN_DEFAULTS, **cls.arch_defaults()}

    @classmethod
    @abstractmethod
    def arch_defaults(cls) -> dict[str, Any]:
        """Architecture parameters and defaults."""

    @abstractmethod
    def build_net(self, n_features: int, window: int, n_out: int) -> nn.Module:
        """A module mapping ``[batch, window, F]`` to ``[batch, n_out]``."""

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def net(self) -> nn.Module:
        if self._net is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        return self._net

    def _windows(self, X: Array) -> Array:
        a = np.asarray(X, dtype=np.float64)
        return as_matrix(a[:, None, :] if a.ndim == 2 else a, ndim=3)

    def _tensor(self, X: Array) -> torch.Tensor:
        z = (self._windows(X) - self.x_mean_) / self.x_std_
        return torch.from_numpy(np.nan_to_num(z, nan=0.0).astype(np.float32))

    def _target(self, y: Array) -> torch.Tensor:
        if self.kind == "classifier":
            return torch.from_numpy(class_index(y, self.classes_).astype(np.int64))
        return torch.from_numpy(((y - self.y_mean_) / self.y_std_).astype(np.float32))

    def _loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.kind == "classifier":
            return nn.functional.cross_entropy(out, target, reduction="none")
        return (out[:, 0] - target) ** 2

    def fit(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        X_val: Array | None = None,
        y_val: Array | None = None,
    ) -> Self:
        Xw = self._windows(X)
        y = as_target(y, len(Xw))
        self.window_, self.n_features_ = Xw.shape[1], Xw.shape[2]
        flat = Xw.reshape(-1, self.n_features_)
        all_nan = np.isnan(flat).all(axis=0)
        self.x_mean_ = np.where(all_nan, 0.0, np.nanmean(np.where(all_nan, 0.0, flat), axis=0))
        std = np.nanstd(np.where(all_nan, 0.0, flat), axis=0)
        self.x_std_ = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        if self.kind == "classifier":
            self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise ValueError("a classifier needs at least two classes in y")
            n_out = len(self.classes_)
        else:
            self.y_mean_ = float(y.mean())
            self.y_std_ = float(y.std()) or 1.0
            n_out = 1
        p = self._params
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        with torch_determinism(int(p["seed"]), int(p["num_threads"])):
            self._net = self.build_net(self.n_features_, self.window_, n_out)
            self._train(Xw, y, w / w.mean(), X_val, y_val)
        if self.kind == "regressor":
            self.resid_std_ = fit_residual_std(self, Xw, y, w, X_val, y_val)
        return self

    def _train(
        self, Xw: Array, y: Array, w: Array, X_val: Array | None, y_val: Array | None
    ) -> None:
        p = self._params
        net = self.net
        xt, yt, wt = self._tensor(Xw), self._target(y), torch.from_numpy(w.astype(np.float32))
        val = None
        if X_val is not None and y_val is not None:
            xv = self._tensor(X_val)
            val = (xv, self._target(as_target(y_val, len(xv))))
        opt = torch.optim.AdamW(net.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        gen = torch.Generator().manual_seed(int(p["seed"]))
        best, best_state, stale = float("inf"), None, 0
        self.history_ = []
        for epoch in range(int(p["epochs"])):
            net.train()
            for idx in torch.randperm(len(xt), generator=gen).split(int(p["batch_size"])):
                opt.zero_grad()
                loss = (self._loss(net(xt[idx]), yt[idx]) * wt[idx]).mean()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
            self.n_epochs_ = epoch + 1
            if val is None:
                continue
            net.eval()
            with torch.no_grad():
                score = float(self._loss(net(val[0]), val[1]).mean())
            self.history_.append(score)
            if score < best - 1e-7:
                best, stale, self.best_epoch_ = score, 0, epoch + 1
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= int(p["patience"]):
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        else:
            self.best_epoch_ = self.n_epochs_
        net.eval()

    def _forward(self, X: Array) -> Array:
        net = self.net
        xt = self._tensor(X)
        step = int(self._params["predict_batch"])
        with torch_determinism(None, int(self._params["num_threads"])), torch.inference_mode():
            outs = [_batch_forward(net, xt[i : i + step]) for i in range(0, len(xt), step)]
        out = torch.cat(outs) if outs else torch.zeros((0, len(self.classes_) or 1))
        return out.double().numpy()

    def predict_proba(self, X: Array) -> Array:
        """Class probabilities ``[rows, n_classes]`` (classification only)."""
        if self.kind != "classifier":
            raise TypeError("predict_proba needs task='classification'")
        logits = self._forward(X)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.asarray(z / z.sum(axis=1, keepdims=True))

    def predict(self, X: Array) -> Array:
        if self.kind == "classifier":
            return np.asarray(self.classes_[np.argmax(self._forward(X), axis=1)])
        return np.asarray(self._forward(X)[:, 0] * self.y_std_ + self.y_mean_)

    def predict_with_uncertainty(self, X: Array) -> Prediction:
        if self.kind == "classifier":
            return proba_prediction(self.predict_proba(X), self.classes_)
        return gaussian_prediction(self.predict(X), self.resid_std_)

    def _state(self, path: Path) -> dict[str, Any]:
        torch.save(self.net.state_dict(), path / WEIGHTS_FILE)
        return {
            "window": self.window_,
            "n_features": self.n_features_,
            "classes": self.classes_.tolist(),
            "x_mean": self.x_mean_.tolist(),
            "x_std": self.x_std_.tolist(),
            "y_mean": self.y_mean_,
            "y_std": self.y_std_,
            "resid_std": self.resid_std_,
            "n_epochs": self.n_epochs_,
            "best_epoch": self.best_epoch_,
        }

    @classmethod
    def _restore(cls, path: Path, params: dict[str, Any], state: dict[str, Any]) -> Self:
        m = cls(**params)
        m.window_, m.n_features_ = int(state["window"]), int(state["n_features"])
        m.classes_ = np.asarray(state["classes"], dtype=np.float64)
        m.x_mean_ = np.asarray(state["x_mean"], dtype=np.float64)
        m.x_std_ = np.asarray(state["x_std"], dtype=np.float64)
        m.y_mean_, m.y_std_ = float(state["y_mean"]), float(state["y_std"])
        m.resid_std_ = float(state["resid_std"])
        m.n_epochs_, m.best_epoch_ = int(state["n_epochs"]), int(state["best_epoch"])
        n_out = len(m.classes_) if m.kind == "classifier" else 1
        with torch_determinism(0, int(m._params["num_threads"])):
            net = m.build_net(m.n_features_, m.window_, n_out)
        net.load_state_dict(torch.load(path / WEIGHTS_FILE, weights_only=True))
        net.eval()
        m._net = net
        return m
