"""From normalised items to factor values: item-level scoring, relevance, duplicate
collapse and credibility (``prepare``), then bar assignment and aggregation
(``factor_values``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.news import guard, relevance
from alphapulse.news.config import FactorConfig
from alphapulse.news.factor import (
    FactorState,
    aggregate,
    assign_bars,
    decision_times,
    previous_decision,
)
from alphapulse.news.items import known_ns
from alphapulse.news.scoring import Matrix, vader_scores

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Prepared:
    """Items with their score, weight (0 = dropped) and known time (ns), by known_at."""

    table: pd.DataFrame
    scores: FloatArray
    weights: FloatArray
    known_ns: IntArray

    def with_scores(self, scores: FloatArray) -> Prepared:
        return Prepared(self.table, np.asarray(scores, np.float64), self.weights, self.known_ns)


def needs_embeddings(cfg: FactorConfig) -> bool:
    """Whether ``cfg`` uses sentence embeddings (relevance, dedup or the head)."""
    return (
        cfg.relevance.mode in ("embedding", "either")
        or cfg.guard.dedup == "embedding"
        or cfg.scorer == "head"
    )


def prepare(
    table: pd.DataFrame,
    cfg: FactorConfig,
    vectors: Matrix | None = None,
    profiles: dict[str, npt.NDArray[np.float32]] | None = None,
    scores: FloatArray | None = None,
) -> Prepared:
    """Score (VADER unless ``scores`` given) and weigh each item: relevance x credibility,
    0 for a near-duplicate of an earlier item."""
    sim = None
    if vectors is not None and profiles is not None:
        sim = relevance.profile_similarity(table, vectors, profiles)
    keep = relevance.relevant(table, cfg.relevance, sim)
    kept = table[keep]
    first = np.zeros(len(table), dtype=bool)
    first[np.flatnonzero(keep)] = guard.first_of_duplicates(
        kept, cfg.guard, vectors[keep] if vectors is not None else None
    )
    weights = guard.source_weights(table, cfg.guard) * first
    if scores is None:
        scores = np.full(len(table), np.nan)
        scores[first] = vader_scores(table["headline"].to_numpy()[first].tolist())
    return Prepared(table, np.asarray(scores, np.float64), weights, known_ns(table))


def factor_values(
    items: Prepared,
    symbols: Sequence[str],
    timestamps: IntArray,
    cfg: FactorConfig,
    calendar: str = "XNYS",
) -> FloatArray:
    """[T, N, 3] score, count, surprise at each bar (row t sees items known by its
    decision time, ``lag_bars`` rows later; none known by the previous bar's decision)."""
    decisions = decision_times(timestamps, cfg.bar, calendar)
    after = previous_decision(decisions, cfg.bar, calendar) if len(decisions) else None
    rows = assign_bars(items.known_ns, decisions, cfg.lag_bars, after)
    lookup = pd.Index(list(symbols))
    sym_idx = lookup.get_indexer(pd.Index(items.table["symbol"])).astype(np.int64)
    shape = (len(decisions), len(symbols))
    sums = aggregate(rows, sym_idx, items.scores, items.weights, shape, cfg.guard, cfg.lag_bars)
    return FactorState(len(symbols), cfg).update(sums)
