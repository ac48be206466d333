"""Scores against known regimes: balanced accuracy and detection delay of a 0/1 truth."""

from __future__ import annotations

import numpy as np

from alphapulse.regimes.base import IntArray


def balanced_accuracy(truth: IntArray, pred: IntArray, mask: IntArray | None = None) -> float:
    """Mean of the hit rates on truth == 1 and truth == 0 (bars where ``mask``)."""
    m = np.ones(len(truth), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    t, p = np.asarray(truth)[m], np.asarray(pred)[m]
    pos, neg = t == 1, t == 0
    if not pos.any() or not neg.any():
        raise ValueError("truth needs both classes where scored")
    return float(0.5 * ((p[pos] == 1).mean() + (p[neg] == 0).mean()))


def detection_delays(truth: IntArray, pred: IntArray) -> list[int | None]:
    """Per switch of ``truth`` from 0 to 1: bars until ``pred`` is 1 within that
    episode (None: missed)."""
    t, p = np.asarray(truth), np.asarray(pred)
    starts = np.flatnonzero((t[1:] == 1) & (t[:-1] == 0)) + 1
    out: list[int | None] = []
    for a in starts.tolist():
        end = a + int(np.argmax(t[a:] == 0)) if (t[a:] == 0).any() else len(t)
        hit = np.flatnonzero(p[a:end] == 1)
        out.append(int(hit[0]) if len(hit) else None)
    return out
