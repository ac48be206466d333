"""Load and prepare the news of some symbols once (embeddings only when needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alphapulse.news.config import FactorConfig
from alphapulse.news.pipeline import Prepared, needs_embeddings, prepare
from alphapulse.news.relevance import profile_text
from alphapulse.news.scoring import EmbeddingCache, MiniLMEmbedder, embed_cached
from alphapulse.news.sources import FolderNewsSource


def load_prepared(
    news: str,
    symbols: Sequence[str],
    cfg: FactorConfig,
    cache_dir: str | Path | None = None,
) -> Prepared:
    """Items of ``symbols`` from the folder (or dataset name) ``news``, prepared by ``cfg``."""
    if cfg.scorer == "head":
        raise ValueError("scorer 'head' is trained on returns: use `alphapulse news ic`")
    table = FolderNewsSource(news).fetch(symbols)
    if not needs_embeddings(cfg):
        return prepare(table, cfg)
    cache, model = EmbeddingCache(cache_dir), MiniLMEmbedder()
    vectors = embed_cached(table["headline"].tolist(), model, cache)
    texts = [profile_text(s, cfg.relevance) for s in symbols]
    prof = embed_cached(texts, model, cache)
    return prepare(table, cfg, vectors, dict(zip(symbols, prof, strict=True)))
