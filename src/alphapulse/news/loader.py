"""Load and prepare the news of some symbols once (embeddings only when needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from alphapulse.news.config import FactorConfig
from alphapulse.news.pipeline import Prepared, needs_embeddings, prepare
from alphapulse.news.relevance import profile_text
from alphapulse.news.scoring import EmbeddingCache, Matrix, default_embedder, embed_cached
from alphapulse.news.sources import FolderNewsSource


def load_prepared(
    news: str,
    symbols: Sequence[str],
    cfg: FactorConfig,
    cache_dir: str | Path | None = None,
) -> Prepared:
    """Items of ``symbols`` from the folder (or dataset name) ``news``, prepared by ``cfg``."""
    if cfg.scorer == "head":
        raise ValueError(
            "scorer 'head' is trained on returns: load with scorer 'vader' and score with "
            "news.head (the sentiment strategy, `alphapulse news ic --head`)"
        )
    table = FolderNewsSource(news).fetch(symbols)
    if not needs_embeddings(cfg):
        return prepare(table, cfg)
    vectors = embed_items(table, cache_dir)
    texts = [profile_text(s, cfg.relevance) for s in symbols]
    prof = embed_cached(texts, default_embedder(cache_dir), EmbeddingCache(cache_dir))
    return prepare(table, cfg, vectors, dict(zip(symbols, prof, strict=True)))


def embed_items(table: pd.DataFrame, cache_dir: str | Path | None = None) -> Matrix:
    """MiniLM vectors of the table's headlines, through the cache."""
    texts = table["headline"].tolist()
    return embed_cached(texts, default_embedder(cache_dir), EmbeddingCache(cache_dir))
