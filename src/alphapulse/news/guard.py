"""Anti-manipulation heuristics, all causal (an item's fate depends only on items known
no later than itself): near-duplicate collapse, source credibility, burst damping."""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.news.config import GuardConfig
from alphapulse.news.items import known_ns
from alphapulse.news.scoring import Matrix

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_NON_WORD = re.compile(r"[^a-z0-9 ]+")


def canonical_text(headline: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed (for exact-duplicate checks)."""
    return " ".join(_NON_WORD.sub(" ", headline.lower()).split())


def first_of_duplicates(
    table: pd.DataFrame, cfg: GuardConfig, vectors: Matrix | None = None
) -> BoolArray:
    """True for items that are not a repeat, per symbol, of an earlier kept item within
    ``dedup_days`` (same canonical text, or embedding cosine >= ``dedup_similarity``).

    ``table`` must be sorted by ``known_at`` (as normalised tables are).
    """
    keep = np.ones(len(table), dtype=bool)
    if cfg.dedup == "none" or not len(table):
        return keep
    if cfg.dedup == "embedding" and vectors is None:
        raise ValueError("dedup 'embedding' needs embeddings")
    t = known_ns(table)
    span = int(cfg.dedup_days * 86_400e9)
    syms = table["symbol"].to_numpy()
    canon = np.array([canonical_text(h) for h in table["headline"]], dtype=object)
    for sym in pd.unique(syms):
        pos = np.flatnonzero(syms == sym)
        kept: list[int] = []
        lo = 0
        for i in pos:
            while lo < len(kept) and t[kept[lo]] < t[i] - span:
                lo += 1
            window = kept[lo:]
            if window and _repeats(int(i), window, canon, vectors, cfg):
                keep[i] = False
            else:
                kept.append(int(i))
    return keep


def _repeats(
    i: int,
    window: list[int],
    canon: npt.NDArray[np.object_],
    vectors: Matrix | None,
    cfg: GuardConfig,
) -> bool:
    if cfg.dedup == "text" or vectors is None:
        return bool(np.any(canon[window] == canon[i]))
    sims = vectors[window] @ vectors[i]
    return bool(np.any(sims >= cfg.dedup_similarity))


def source_weights(table: pd.DataFrame, cfg: GuardConfig) -> FloatArray:
    """Credibility weight of each item's source (the default for unknown sources)."""
    known = {k.lower(): v for k, v in cfg.source_weights.items()}
    return np.array(
        [known.get(str(s).lower(), cfg.default_source_weight) for s in table["source"]],
        dtype=np.float64,
    )


def burst_scale(counts: FloatArray, cfg: GuardConfig, start: int = 0) -> FloatArray:
    """Per-bar weight multiplier [T, N]: a bar with more than ``burst_multiple`` times the
    trailing median count (previous ``burst_window`` bars) is scaled down to that cap.

    While the window warms up the median is over the bars there are, from row ``start``
    (the rows before it are empty only because of the lag: they are no history); a bar
    without history is not damped."""
    t, n = counts.shape
    w = cfg.burst_window
    median = np.full((t, n), np.nan)
    for r in range(start + 1, min(start + w, t)):
        median[r] = np.median(counts[start:r], axis=0)
    if t > start + w:
        windows = np.lib.stride_tricks.sliding_window_view(counts[start:-1], w, axis=0)
        median[start + w :] = np.median(windows, axis=2)
    return damping(counts, median, cfg)


def damping(counts: FloatArray, median: FloatArray, cfg: GuardConfig) -> FloatArray:
    """Weight multiplier of bars of ``counts`` items after bars of ``median`` count (NaN:
    none): the cap is ``burst_multiple`` x the median, at least 1."""
    cap = cfg.burst_multiple * np.maximum(median, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(counts > cap, cap / counts, 1.0)
    return out
