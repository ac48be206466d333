"""Pattern anomalies: scikit-learn's IsolationForest fitted on trailing causal features,
scored by a numba walk over the fitted trees (equal to ``score_samples``, much faster
for one cross-section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from alphapulse.anomaly.config import MAX_TRAIN_ROWS, PatternConfig
from alphapulse.anomaly.kernels import iforest_scores

if TYPE_CHECKING:
    from sklearn.ensemble import IsolationForest

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_EULER = 0.5772156649015329


def avg_path(n: npt.ArrayLike) -> FloatArray:
    """c(n): the average path length of an unsuccessful BST search among n points."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + _EULER) - 2.0 * (n[big] - 1.0) / n[big]
    return out


@dataclass(frozen=True, slots=True)
class Forest:
    """A fitted IsolationForest flattened to node arrays for ``iforest_scores``."""

    left: IntArray
    right: IntArray
    feature: IntArray
    threshold: FloatArray
    leaf_depth: FloatArray
    roots: IntArray
    norm: float

    def score(self, x: FloatArray, gate: float = 0.0) -> FloatArray:
        """Anomaly scores in (0, 1) of rows ``x``; NaN for rows with a NaN or with every
        |value| below ``gate``."""
        with np.errstate(invalid="ignore"):
            skip = ~np.isfinite(x).all(axis=1) | (np.abs(x) < gate).all(axis=1)
        x32 = squash(x).astype(np.float32).astype(np.float64)
        out = np.full(len(x32), np.nan)
        out[~skip] = iforest_scores(
            x32[~skip],
            self.left,
            self.right,
            self.feature,
            self.threshold,
            self.leaf_depth,
            self.roots,
            self.norm,
        )
        return out


def squash(x: FloatArray) -> FloatArray:
    """sign(z) log(1 + |z|): compresses the fat tails so the trees resolve moderate z."""
    return np.sign(x) * np.log1p(np.abs(x))


def training_rows(feat: FloatArray) -> FloatArray:
    """The finite rows of a [bars, symbols, F] window (squashed), oldest first, thinned by
    a fixed stride to at most ``MAX_TRAIN_ROWS``."""
    x = feat.reshape(-1, feat.shape[-1])
    x = squash(x[np.isfinite(x).all(axis=1)])
    stride = -(-len(x) // MAX_TRAIN_ROWS)
    return x[::stride] if stride > 1 else x


def fit_forest(x: FloatArray, cfg: PatternConfig) -> Forest | None:
    """IsolationForest on rows ``x`` (None when there are too few rows)."""
    if len(x) < max(32, cfg.max_samples // 4):
        return None
    from sklearn.ensemble import IsolationForest

    model = IsolationForest(
        n_estimators=cfg.n_estimators,
        max_samples=min(cfg.max_samples, len(x)),
        random_state=cfg.seed,
    ).fit(x)
    return flatten(model)


def flatten(model: IsolationForest) -> Forest:
    """The fitted trees as one node array (feature ids mapped to the input columns)."""
    parts: list[tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray]] = []
    roots = []
    offset = 0
    for est, cols in zip(model.estimators_, model.estimators_features_, strict=True):
        tree = est.tree_
        left = tree.children_left.astype(np.int64)
        right = tree.children_right.astype(np.int64)
        leaf = left < 0
        depth = _depths(left, right)
        feature = np.where(leaf, 0, np.asarray(cols)[np.maximum(tree.feature, 0)])
        leaf_depth = np.where(leaf, depth + avg_path(tree.n_node_samples), 0.0)
        parts.append(
            (
                np.where(leaf, -1, left + offset),
                np.where(leaf, -1, right + offset),
                feature.astype(np.int64),
                tree.threshold.astype(np.float64),
                leaf_depth,
            )
        )
        roots.append(offset)
        offset += len(left)
    cat = [np.concatenate(p) for p in zip(*parts, strict=True)]
    return Forest(
        cat[0], cat[1], cat[2], cat[3], cat[4], np.asarray(roots, dtype=np.int64),
        float(avg_path([model.max_samples_])[0]),
    )  # fmt: skip


def _depths(left: IntArray, right: IntArray) -> FloatArray:
    depth = np.zeros(len(left))
    for node in range(len(left)):  # sklearn numbers children after their parent
        if left[node] >= 0:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    return depth
