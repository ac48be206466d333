"""Ensembles of fitted members sharing one input layout and one kind.

* ``VotingEnsemble``: fixed-weight average of member probabilities (classifiers) or
  predictions (regressors).
* ``ConfidenceWeightedEnsemble``: per-row weights = member weight × member confidence.
* ``StackingEnsemble``: a meta-model on out-of-fold member outputs. ``fit(..., folds=)``
  takes ``(train_idx, val_idx)`` pairs (pass purged/embargoed folds); each fold refits
  fresh member clones on ``train_idx`` and predicts ``val_idx`` only, so the meta-model
  never sees in-fold predictions. Rows in no validation fold (or in one whose training rows
  purging left empty) are left out of the meta fit.
  Members are then refitted on all rows.

Regressor uncertainty: sigma² = weighted variance of member means + weighted mean of the
members' own sigma² (from their 80% intervals). Saving writes each member (and the
meta-model) in a sub-folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, Self

import numpy as np

from alphapulse.ml.models.base import (
    Z80,
    Array,
    Model,
    NotFittedError,
    Prediction,
    aligned_proba,
    as_target,
    gaussian_prediction,
    load_model,
    proba_prediction,
)

Folds = Iterable[tuple[Array, Array]]
_PART = re.compile(r"^[A-Za-z0-9_]+$")  # a member's folder name (``member_0``, ``meta``)


class _Ensemble(Model):
    """Members, kind checks, persistence and the combination of member outputs."""

    def __init__(self, members: Sequence[Model], weights: Sequence[float] | None = None):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        kinds = {m.kind for m in members}
        if len(kinds) != 1:
            raise ValueError(f"members mix kinds {sorted(kinds)}")
        if weights is not None and (
            len(weights) != len(members) or min(weights) < 0 or sum(weights) <= 0
        ):
            raise ValueError("weights: one non-negative weight per member, not all 0")
        self.members = list(members)
        self.weights = None if weights is None else [float(w) for w in weights]
        self.kind = self.members[0].kind
        self.classes_ = np.zeros(0)
        self._fitted = False

    @property
    def params(self) -> dict[str, Any]:
        return {"weights": self.weights}

    def clone(self) -> Model:
        return type(self)([m.clone() for m in self.members], **self.params)

    def _w(self) -> Array:
        w = np.ones(len(self.members)) if self.weights is None else np.asarray(self.weights)
        return w / w.sum()

    def _check(self) -> None:
        if not self._fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted")

    def _set_classes(self) -> None:
        if self.kind == "classifier":
            self.classes_ = np.unique(np.concatenate([m.classes_ for m in self.members]))  # type: ignore[attr-defined]

    def fit(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        X_val: Array | None = None,
        y_val: Array | None = None,
    ) -> Self:
        for m in self.members:
            m.fit(X, y, sample_weight, X_val, y_val)
        self._set_classes()
        self._fitted = True
        return self

    _by_confidence = False

    def _row_weights(self, confidence: Array) -> Array:
        """``[rows, members]`` weights from member ``confidence``; rows sum to 1."""
        return np.broadcast_to(self._w(), confidence.shape)

    def _confidence(self, X: Array, rows: int) -> Array:
        if not self._by_confidence:
            return np.zeros((rows, len(self.members)))
        return np.column_stack([m.predict_with_uncertainty(X).confidence for m in self.members])

    def predict_proba(self, X: Array) -> Array:
        """Weighted member probabilities over ``classes_`` (classifiers only)."""
        self._check()
        if self.kind != "classifier":
            raise TypeError("predict_proba needs classifier members")
        probas = np.stack([aligned_proba(m, X, self.classes_) for m in self.members], axis=1)
        w = self._row_weights(self._confidence(X, len(probas)))
        return np.asarray(np.einsum("rm,rmk->rk", w, probas))

    def predict(self, X: Array) -> Array:
        if self.kind == "classifier":
            return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])
        return self.predict_with_uncertainty(X).mean

    def predict_with_uncertainty(self, X: Array) -> Prediction:
        self._check()
        if self.kind == "classifier":
            return proba_prediction(self.predict_proba(X), self.classes_)
        preds = [m.predict_with_uncertainty(X) for m in self.members]
        w = self._row_weights(np.column_stack([p.confidence for p in preds]))
        means = np.column_stack([p.mean for p in preds])
        sig2 = np.column_stack([((p.upper - p.lower) / (2 * Z80)) ** 2 for p in preds])
        mean = (w * means).sum(axis=1)
        var = (w * (means - mean[:, None]) ** 2).sum(axis=1) + (w * sig2).sum(axis=1)
        return gaussian_prediction(mean, np.sqrt(var))

    def _state(self, path: Path) -> dict[str, Any]:
        self._check()
        names = []
        for i, m in enumerate(self.members):
            names.append(f"member_{i}")
            m.save(path / names[-1])
        return {"members": names, "classes": self.classes_.tolist()}

    @classmethod
    def _restore(cls, path: Path, params: dict[str, Any], state: dict[str, Any]) -> Self:
        members = [load_model(_part(path, name)) for name in state["members"]]
        model = cls(members, **params)
        model.classes_ = np.asarray(state["classes"], dtype=np.float64)
        model._fitted = True
        return model


class VotingEnsemble(_Ensemble):
    """Fixed-weight (default equal) average of the members."""


class ConfidenceWeightedEnsemble(_Ensemble):
    """Per-row weights ∝ member weight × member confidence (equal where all are 0)."""

    _by_confidence = True

    def _row_weights(self, confidence: Array) -> Array:
        conf = confidence * self._w()
        total = conf.sum(axis=1, keepdims=True)
        equal = np.broadcast_to(self._w(), conf.shape)
        return np.where(total > 0, conf / np.where(total > 0, total, 1.0), equal)


def contiguous_folds(n: int, n_splits: int) -> list[tuple[Array, Array]]:
    """``n_splits`` contiguous validation blocks, each trained on all other rows
    (no purging: pass purged folds for overlapping labels)."""
    bounds = np.linspace(0, n, n_splits + 1).astype(int)
    idx = np.arange(n)
    return [(np.concatenate([idx[:a], idx[b:]]), idx[a:b]) for a, b in pairwise(bounds)]


class StackingEnsemble(_Ensemble):
    """Meta-model on out-of-fold member outputs (see module docstring).

    Meta features: the positive-class probability per member (binary), every class
    probability per member (multi-class) or the member predictions (regression). The
    default meta-model is ``LogisticBaseline`` (classifiers) or ``RidgeBaseline``.
    """

    def __init__(
        self,
        members: Sequence[Model],
        meta: Model | None = None,
        n_splits: int = 5,
    ) -> None:
        super().__init__(members)
        if n_splits < 2:
            raise ValueError(f"n_splits must be >= 2 (out-of-fold meta rows), got {n_splits}")
        if meta is None:
            from alphapulse.ml.models.linear import LogisticBaseline, RidgeBaseline

            meta = LogisticBaseline() if self.kind == "classifier" else RidgeBaseline()
        if meta.kind != self.kind:
            raise ValueError("the meta-model must be of the members' kind")
        self.meta = meta
        self.n_splits = n_splits
        self.oof_rows_ = np.zeros(0, dtype=np.int64)

    @property
    def params(self) -> dict[str, Any]:
        return {"n_splits": self.n_splits}

    def clone(self) -> Model:
        return StackingEnsemble([m.clone() for m in self.members], self.meta.clone(), **self.params)

    def _features(self, members: Sequence[Model], X: Array) -> Array:
        if self.kind != "classifier":
            return np.column_stack([m.predict(X) for m in members])
        cols = [aligned_proba(m, X, self.classes_) for m in members]
        return np.column_stack([c[:, 1:] if len(self.classes_) == 2 else c for c in cols])

    def fit(
        self,
        X: Array,
        y: Array,
        sample_weight: Array | None = None,
        X_val: Array | None = None,
        y_val: Array | None = None,
        *,
        folds: Folds | None = None,
    ) -> Self:
        X = np.asarray(X, dtype=np.float64)
        y = as_target(y, len(X))
        if self.kind == "classifier":
            self.classes_ = np.unique(y)
        split = contiguous_folds(len(X), self.n_splits) if folds is None else list(folds)
        oof: Array | None = None
        seen = np.zeros(len(X), dtype=bool)
        for tr, va in split:
            tr, va = np.asarray(tr), np.asarray(va)
            if not tr.size:  # purging left no training rows: this block stays out
                continue
            w = None if sample_weight is None else np.asarray(sample_weight)[tr]
            fold_members = [m.clone().fit(X[tr], y[tr], w, X_val, y_val) for m in self.members]
            feats = self._features(fold_members, X[va])
            if oof is None:
                oof = np.full((len(X), feats.shape[1]), np.nan)
            oof[va] = feats
            seen[va] = True
        if oof is None or not seen.any():
            raise ValueError("folds: no validation rows")
        self.oof_rows_ = np.flatnonzero(seen)
        mw = None if sample_weight is None else np.asarray(sample_weight)[seen]
        self.meta.fit(oof[seen], y[seen], mw)
        for m in self.members:
            m.fit(X, y, sample_weight, X_val, y_val)
        self._fitted = True
        return self

    def predict_proba(self, X: Array) -> Array:
        self._check()
        return aligned_proba(self.meta, self._features(self.members, X), self.classes_)

    def predict(self, X: Array) -> Array:
        self._check()
        return self.meta.predict(self._features(self.members, X))

    def predict_with_uncertainty(self, X: Array) -> Prediction:
        self._check()
        return self.meta.predict_with_uncertainty(self._features(self.members, X))

    def _state(self, path: Path) -> dict[str, Any]:
        state = super()._state(path)
        self.meta.save(path / "meta")
        return {**state, "meta": "meta"}

    @classmethod
    def _restore(cls, path: Path, params: dict[str, Any], state: dict[str, Any]) -> Self:
        members = [load_model(_part(path, name)) for name in state["members"]]
        model = cls(members, load_model(_part(path, state["meta"])), **params)
        model.classes_ = np.asarray(state["classes"], dtype=np.float64)
        model._fitted = True
        return model


def _part(path: Path, name: object) -> Path:
    """A member's folder inside ``path``: a stored name must be a plain folder name (the
    model's hash covers what is inside ``path`` only, so nothing outside is loaded)."""
    if not (isinstance(name, str) and _PART.match(name)):
        raise ValueError(f"{path}: member {name!r} is not a folder of the model")
    return path / name
