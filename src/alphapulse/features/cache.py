"""Parquet cache of FeatureMatrix objects keyed by a hash of the input bars and the
feature set (name, version and full definition) and the benchmark."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from alphapulse.data.panel import Panel
from alphapulse.features.compute import FeatureMatrix, compute_features
from alphapulse.features.config import FeatureSetConfig


def data_hash(panel: Panel) -> str:
    """The first 16 hex characters of ``Panel.digest``."""
    return panel.digest()[:16]


def cache_key(panel: Panel, cfg: FeatureSetConfig, benchmark: str | None = None) -> str:
    spec = hashlib.sha256(cfg.model_dump_json().encode() + str(benchmark).encode())
    return f"{cfg.name}-v{cfg.version}-{data_hash(panel)}-{spec.hexdigest()[:12]}"


def save(fm: FeatureMatrix, path: Path) -> None:
    """One row per (time, symbol), one float64 column per feature."""
    t, n, _ = fm.values.shape
    cols: dict[str, object] = {
        "ts": np.repeat(fm.timestamps, n),
        "symbol": np.tile(np.array(fm.symbols, dtype=object), t),
    }
    for j, name in enumerate(fm.names):
        cols[name] = fm.values[:, :, j].ravel()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.table(cols), tmp)
    tmp.replace(path)


def load(path: Path, names: tuple[str, ...], symbols: tuple[str, ...]) -> FeatureMatrix:
    table = pq.read_table(path)
    n = len(symbols)
    ts = table.column("ts").to_numpy()[::n].astype(np.int64)
    values = np.stack([table.column(c).to_numpy().reshape(len(ts), n) for c in names], axis=2)
    return FeatureMatrix(names, values.astype(np.float64), ts, symbols)


def cached_features(
    panel: Panel,
    cfg: FeatureSetConfig,
    cache_dir: str | Path,
    benchmark: str | None = None,
    compute: Callable[[Panel, FeatureSetConfig, str | None], FeatureMatrix] = compute_features,
) -> FeatureMatrix:
    """Features from ``cache_dir`` when present for exactly these bars and this feature
    set, else computed and stored."""
    path = Path(cache_dir) / f"{cache_key(panel, cfg, benchmark)}.parquet"
    if path.exists():
        table_names = tuple(pq.read_schema(path).names[2:])
        return load(path, table_names, panel.symbols)
    fm = compute(panel, cfg, benchmark)
    save(fm, path)
    return fm
