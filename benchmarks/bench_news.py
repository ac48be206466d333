"""Time scoring every headline of news_headlines_2021_2022: VADER, and MiniLM embeddings
cold (empty cache) then warm (read back from the .npy cache by text hash), and what
truncating at ``max_seq_length`` tokens does: headline token lengths, and the cosine
similarity of truncated vs full-length (256-token) embeddings on a sample.

    .venv/bin/python benchmarks/bench_news.py [--cache-dir DIR] [--threads N] [--sample 500]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from alphapulse.news.scoring import EmbeddingCache, MiniLMEmbedder, embed_cached, vader_scores
from alphapulse.news.sources import FolderNewsSource


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", default=None, help="default: a fresh temporary folder")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--max-seq-length", type=int, default=64)
    ap.add_argument("--sample", type=int, default=500, help="texts for the truncation check")
    ap.add_argument("--limit", type=int, default=0, help="only the first N headlines")
    args = ap.parse_args()
    table = FolderNewsSource("news_headlines_2021_2022").fetch(["MSFT", "TSLA"])
    texts = table["headline"].tolist()
    if args.limit:
        texts = texts[: args.limit]
    print(f"{len(texts)} headlines, {len(set(texts))} distinct")
    t0 = time.perf_counter()
    vader_scores(texts)
    print(f"vader: {time.perf_counter() - t0:.1f} s")
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="alphapulse-news-")
    model = MiniLMEmbedder(threads=args.threads, max_seq_length=args.max_seq_length)
    t0 = time.perf_counter()
    model.embed(["warm up the model"])
    print(f"model load: {time.perf_counter() - t0:.1f} s")
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        vecs = embed_cached(texts, model, EmbeddingCache(cache_dir))
        print(f"embeddings {label}: {time.perf_counter() - t0:.1f} s, shape {vecs.shape}")
    truncation(model, sorted(set(texts)), args.sample)


def truncation(model: MiniLMEmbedder, texts: list[str], sample: int) -> None:
    """Token lengths of the distinct headlines; cosine of truncated vs 256-token vectors
    on the ``sample`` longest (where truncation can bite)."""
    lengths = np.array([len(i) for i in model._load().tokenizer(texts)["input_ids"]])
    q = np.percentile(lengths, [50, 99, 100])
    over = int((lengths > model.max_seq_length).sum())
    print(f"tokens: median {q[0]:.0f}, p99 {q[1]:.0f}, max {q[2]:.0f}; {over} over the cap")
    longest = [texts[i] for i in np.argsort(-lengths)[:sample]]
    cut = model.embed(longest)
    model._load().max_seq_length = 256
    cos = (cut * model.embed(longest)).sum(axis=1)
    model._load().max_seq_length = model.max_seq_length
    print(f"cosine cap {model.max_seq_length} vs 256, {len(longest)} longest: min {cos.min():.4f}")


if __name__ == "__main__":
    main()
