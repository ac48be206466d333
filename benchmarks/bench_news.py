"""Time scoring every headline of news_headlines_2021_2022: VADER, and MiniLM embeddings
cold (empty cache) then warm (read back from the .npy cache by text hash).

    .venv/bin/python benchmarks/bench_news.py [--cache-dir DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from alphapulse.news.scoring import EmbeddingCache, MiniLMEmbedder, embed_cached, vader_scores
from alphapulse.news.sources import FolderNewsSource


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", default=None, help="default: a fresh temporary folder")
    ap.add_argument("--threads", type=int, default=2)
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
    model = MiniLMEmbedder(threads=args.threads)
    t0 = time.perf_counter()
    model.embed(["warm up the model"])
    print(f"model load: {time.perf_counter() - t0:.1f} s")
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        vecs = embed_cached(texts, model, EmbeddingCache(cache_dir))
        print(f"embeddings {label}: {time.perf_counter() - t0:.1f} s, shape {vecs.shape}")


if __name__ == "__main__":
    main()
