"""Fusing the experts' standing directions [E, N] into one direction per symbol.

Conflict rules (docs/regimes.md): an abstaining expert (NaN: no standing view on the
symbol) is left out and the others decide; when every expert abstains the result is NaN
(keep what is held); a tie (long against short at equal weight) is flat (0). A weight of
zero is an abstention. Confidence in [0, 1] is |fused score|.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
TIE = 1e-12


def weighted_score(dirs: FloatArray, weights: FloatArray) -> FloatArray:
    """sum_e w_e d_e / sum_e w_e over non-abstaining experts per symbol (NaN: none)."""
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64)[:, None], dirs.shape)
    active = np.isfinite(dirs) & (w > 0)
    num = np.where(active, w * np.nan_to_num(dirs), 0.0).sum(axis=0)
    den = np.where(active, w, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _to_signal(score: FloatArray, threshold: float) -> tuple[FloatArray, FloatArray]:
    d = np.where(np.abs(score) <= max(threshold, TIE), 0.0, np.sign(score))
    d = np.where(np.isnan(score), np.nan, d)
    return d, np.where(np.isnan(score), np.nan, np.clip(np.abs(score), 0.0, 1.0))


def majority_vote(dirs: FloatArray, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Weighted vote of the signs: the side with more weight wins, a tie is flat."""
    return _to_signal(weighted_score(np.sign(dirs), weights), 0.0)


def confidence_average(
    dirs: FloatArray, conf: FloatArray, weights: FloatArray, threshold: float = 0.2
) -> tuple[FloatArray, FloatArray]:
    """Weighted mean of d x confidence; |mean| <= ``threshold`` is flat."""
    c = np.where(np.isnan(conf), 1.0, np.clip(conf, 0.0, 1.0))
    return _to_signal(weighted_score(dirs * c, weights), threshold)


def risk_budget_weights(vol: FloatArray, weights: FloatArray) -> FloatArray:
    """Weights proportional to ``weights / vol`` (trailing vol of each shadow book);
    an expert without a vol yet gets its configured weight over the median vol."""
    v = np.asarray(vol, dtype=np.float64)
    ok = np.isfinite(v) & (v > 0)
    fill = float(np.median(v[ok])) if ok.any() else 1.0
    w = np.asarray(weights, dtype=np.float64) / np.where(ok, v, fill)
    s = w.sum()
    return w / s if s > 0 else w
