"""Time scoring every headline of news_headlines_2021_2022: VADER, and MiniLM embeddings
cold (empty cache) then warm (read back from the .npy cache by text hash), with wall and
CPU time and the load average; and what truncating at ``max_seq_length`` tokens does:
headline token lengths, and the cosine of truncated vs full-length (256-token) embeddings
on the longest. ``--backend onnx`` (default) is ONNX Runtime fp32 (``--int8``: dynamic
int8); its one-off ONNX export is timed apart, as "model load".

    .venv/bin/python benchmarks/bench_news.py [--cache-dir DIR] [--backend onnx|torch]
        [--int8] [--threads N] [--batch-size B] [--sample 500] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np

from alphapulse.news.scoring import (
    Embedder,
    EmbeddingCache,
    MiniLMEmbedder,
    embed_cached,
    vader_scores,
)
from alphapulse.news.sources import FolderNewsSource


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def factory(args: argparse.Namespace) -> Callable[[int], Embedder]:
    """Embedders of the chosen backend by ``max_seq_length``."""
    if args.backend == "torch":
        return lambda n: MiniLMEmbedder(args.batch_size or 128, args.threads, n)
    from alphapulse.news.onnx_embed import OnnxMiniLMEmbedder

    return lambda n: OnnxMiniLMEmbedder(
        args.cache_dir, args.int8, args.batch_size or 64, args.threads, n
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache-dir", default=None, help="default: a fresh temporary folder")
    ap.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    ap.add_argument("--int8", action="store_true", help="onnx: dynamic int8 weights")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch-size", type=int, default=0, help="default: 64 onnx, 128 torch")
    ap.add_argument("--max-seq-length", type=int, default=64)
    ap.add_argument("--sample", type=int, default=500, help="texts for the truncation check")
    ap.add_argument("--limit", type=int, default=0, help="only the first N headlines")
    ap.add_argument("--repeat", type=int, default=1, help="cold runs, each in a fresh folder")
    args = ap.parse_args()
    args.cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="alphapulse-news-")
    table = FolderNewsSource("news_headlines_2021_2022").fetch(["MSFT", "TSLA"])
    texts = table["headline"].tolist()
    if args.limit:
        texts = texts[: args.limit]
    distinct = len(set(texts))
    print(f"{len(texts)} headlines, {distinct} distinct")
    t0 = time.perf_counter()
    vader_scores(texts)
    print(f"vader: {time.perf_counter() - t0:.1f} s")
    make = factory(args)
    model = make(args.max_seq_length)
    t0 = time.perf_counter()
    model.embed(["warm up the model"])
    print(f"model load (with a first ONNX export): {time.perf_counter() - t0:.1f} s")
    name = getattr(model, "name", "all-minilm-l6-v2")
    for run in range(args.repeat):
        vec_dir = tempfile.mkdtemp(prefix="vecs-", dir=args.cache_dir)
        for label in ("cold", "warm"):
            start = load()
            t0, c0 = time.perf_counter(), time.process_time()
            vecs = embed_cached(texts, model, EmbeddingCache(vec_dir, name))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(
                f"run {run + 1} embeddings {label}: {wall:.1f} s wall, {cpu:.1f} s CPU"
                f" ({distinct / max(cpu, 1e-9):.0f} texts per CPU s), shape {vecs.shape},"
                f" load {start} at start, {load()} at end"
            )
    truncation(make, model, sorted(set(texts)), args.sample)


def truncation(make: Callable[[int], Embedder], model: Embedder, texts: list[str], n: int) -> None:
    """Token lengths of the distinct headlines; cosine of truncated vs 256-token vectors
    on the ``n`` longest (where truncation can bite)."""
    from tokenizers import Tokenizer

    from alphapulse.news.onnx_embed import model_dir

    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    lengths = np.array([len(e.ids) for e in tok.encode_batch(texts)])
    cap = getattr(model, "max_seq_length", 64)
    q = np.percentile(lengths, [50, 99, 100])
    over = int((lengths > cap).sum())
    print(f"tokens: median {q[0]:.0f}, p99 {q[1]:.0f}, max {q[2]:.0f}; {over} over the cap")
    longest = [texts[i] for i in np.argsort(-lengths)[:n]]
    cos = (model.embed(longest) * make(256).embed(longest)).sum(axis=1)
    print(f"cosine cap {cap} vs 256, {len(longest)} longest: min {cos.min():.4f}")


if __name__ == "__main__":
    main()
