"""The ONNX Runtime MiniLM path: same vectors as the torch path, export cached by model hash."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from tests.news.helpers import HEADLINES

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from alphapulse.news import onnx_embed, scoring
from alphapulse.news.onnx_embed import OnnxMiniLMEmbedder

TEXTS = [*HEADLINES, "Fed", "Apple, Microsoft and Alphabet report earnings after the bell today"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("news-onnx")


@pytest.fixture(scope="module")
def torch_vecs():
    return scoring.MiniLMEmbedder(threads=1).embed(TEXTS)


def test_fp32_matches_torch_and_the_export_is_cached(cache, torch_vecs, monkeypatch) -> None:
    vecs = OnnxMiniLMEmbedder(cache, threads=1, batch_size=4).embed(TEXTS)
    assert vecs.shape == torch_vecs.shape
    assert (vecs * torch_vecs).sum(axis=1).min() > 0.9999
    (path,) = cache.glob("onnx/*/model.onnx")
    stamp = path.stat().st_mtime_ns

    def no_export(*args):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_embed, "_export", no_export)
    again = OnnxMiniLMEmbedder(cache, threads=1).embed(TEXTS[::-1])
    assert np.allclose(again[::-1], vecs, atol=1e-5) and path.stat().st_mtime_ns == stamp


def test_int8_stays_close_to_torch(cache, torch_vecs) -> None:
    model = OnnxMiniLMEmbedder(cache, int8=True, threads=1)
    cos = (model.embed(TEXTS) * torch_vecs).sum(axis=1)
    # on all 18,657 headlines of news_headlines_2021_2022: min 0.97, mean 0.993 (docs/news.md)
    assert cos.min() > 0.97 and model.name.endswith("int8")


def test_default_embedder_falls_back_to_torch_without_onnxruntime(monkeypatch, cache) -> None:
    assert isinstance(scoring.default_embedder(cache), OnnxMiniLMEmbedder)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name)
    )
    assert isinstance(scoring.default_embedder(cache), scoring.MiniLMEmbedder)
    with pytest.raises(ImportError):
        scoring.default_embedder(cache, int8=True)
