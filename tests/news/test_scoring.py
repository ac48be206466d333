"""VADER polarity, the embedding cache (.npy by text hash, no pickles), embedding dedup."""

from __future__ import annotations

import numpy as np
from tests.news.helpers import table

from alphapulse.news.config import GuardConfig, RelevanceConfig
from alphapulse.news.guard import burst_scale, first_of_duplicates, source_weights
from alphapulse.news.relevance import relevant
from alphapulse.news.scoring import EmbeddingCache, MiniLMEmbedder, embed_cached, vader_scores


class CountingEmbedder:
    """Deterministic fake vectors; counts the texts it was asked to embed."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def embed(self, texts):
        self.calls.extend(texts)
        rng = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=8) for t in texts]
        vecs = np.array(rng, dtype=np.float32).reshape(len(texts), 8)
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_vader_sign() -> None:
    pos, neg = vader_scores(["Tesla shares soar on great results", "Tesla crashes, awful loss"])
    assert pos > 0.3 and neg < -0.3


def test_cache_computes_each_text_once_and_stores_plain_npy(tmp_path) -> None:
    model = CountingEmbedder()
    first = embed_cached(["a", "b", "a"], model, EmbeddingCache(tmp_path))
    assert model.calls == ["a", "b"] and np.array_equal(first[0], first[2])
    again = embed_cached(["b", "c", "a"], model, EmbeddingCache(tmp_path))
    assert model.calls == ["a", "b", "c"]
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[2], first[0])
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["all-minilm-l6-v2.keys.npy", "all-minilm-l6-v2.vecs.npy"]
    assert np.load(tmp_path / files[1], allow_pickle=False).shape == (3, 8)


def test_embedding_dedup_keeps_the_first_of_similar_items() -> None:
    tab = table([(0, 1, 0), (30, 1, 7), (60, 1, 1), (90, 0, 0)])
    vecs = np.array([[1, 0], [0.99, 0.141], [0, 1], [1, 0]], dtype=np.float32)
    order = tab["headline"].map({h: i for i, h in enumerate(tab["headline"])})
    keep = first_of_duplicates(tab, GuardConfig(dedup="embedding"), vecs[order.to_numpy()])
    assert keep.tolist() == [True, False, True, True]  # MSFT's copy is another symbol's


def test_relevance_credibility_and_burst() -> None:
    tab = table([(0, 1, 0), (1, 1, 6), (2, 0, 5), (3, 0, 2)])
    assert relevant(tab, RelevanceConfig()).tolist() == [True, False, True, False]
    tab = tab.assign(source=["Benzinga", "", "spam", "x"])
    w = source_weights(tab, GuardConfig(source_weights={"benzinga": 1.0, "spam": 0.1}))
    assert w.tolist() == [1.0, 1.0, 0.1, 1.0]
    counts = np.array([[2.0], [2.0], [2.0], [30.0], [2.0]])
    scale = burst_scale(counts, GuardConfig(burst_window=3, burst_multiple=3.0))
    assert np.allclose(scale[:, 0], [1.0, 1.0, 1.0, 6.0 / 30.0, 1.0])


def test_burst_window_warms_up_on_the_bars_there_are() -> None:
    """Rows before ``start`` (the lag's) are no history; the first bar after has none and
    is not damped; later ones use the median of the bars so far (before: of zero padding)."""
    counts = np.array([[0.0], [0.0], [5.0], [5.0], [40.0], [2.0]])
    scale = burst_scale(counts, GuardConfig(burst_window=20, burst_multiple=3.0), start=2)
    assert np.allclose(scale[:, 0], [1.0, 1.0, 1.0, 1.0, 15.0 / 40.0, 1.0])


class _FakeModel:
    """Tokenizer and encode of a sentence-transformer: a text's vector is its length."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def tokenizer(self, texts):
        return {"input_ids": [t.split() for t in texts]}

    def encode(self, texts, **kwargs):
        self.seen.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_minilm_encodes_shortest_first_and_restores_the_order() -> None:
    model = MiniLMEmbedder(threads=1)
    model._model = _FakeModel()
    texts = ["a b c d", "a", "a b c", "a b"]
    vecs = model.embed(texts)
    assert model._model.seen == ["a", "a b", "a b c", "a b c d"]
    assert vecs[:, 0].tolist() == [7.0, 1.0, 5.0, 3.0]
