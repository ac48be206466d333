"""Is a headline about the symbol it is filed under? Ticker/alias match or embedding
similarity to a short profile of the symbol."""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.news.config import DEFAULT_ALIASES, RelevanceConfig
from alphapulse.news.scoring import Matrix

BoolArray = npt.NDArray[np.bool_]


def aliases_for(symbol: str, cfg: RelevanceConfig) -> list[str]:
    """The names that tie a headline to ``symbol``: its ticker, defaults and configured."""
    return [symbol, *DEFAULT_ALIASES.get(symbol, []), *cfg.aliases.get(symbol, [])]


def name_pattern(names: list[str]) -> re.Pattern[str]:
    """Whole-word, case-insensitive match of any name (possessives included)."""
    alts = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alts})(?![A-Za-z0-9])", re.IGNORECASE)


def name_match(table: pd.DataFrame, cfg: RelevanceConfig) -> BoolArray:
    """True where the headline names its symbol (ticker or alias)."""
    out = np.zeros(len(table), dtype=bool)
    for sym, rows in table.groupby("symbol", sort=False).groups.items():
        pat = name_pattern(aliases_for(str(sym), cfg))
        pos = table.index.get_indexer(rows)
        out[pos] = table["headline"].iloc[pos].str.contains(pat).to_numpy(dtype=bool)
    return out


def profile_similarity(
    table: pd.DataFrame, vectors: Matrix, profiles: dict[str, npt.NDArray[np.float32]]
) -> npt.NDArray[np.float64]:
    """Cosine similarity of each item's (unit) vector to its symbol's profile vector."""
    out = np.full(len(table), np.nan)
    syms = table["symbol"].to_numpy()
    for sym, prof in profiles.items():
        mask = syms == sym
        out[mask] = vectors[mask] @ (prof / max(float(np.linalg.norm(prof)), 1e-12))
    return out


def profile_text(symbol: str, cfg: RelevanceConfig) -> str:
    """The text whose embedding stands for the symbol."""
    return f"{symbol} stock news: " + ", ".join(aliases_for(symbol, cfg))


def relevant(
    table: pd.DataFrame, cfg: RelevanceConfig, similarity: npt.NDArray[np.float64] | None = None
) -> BoolArray:
    """The items kept by ``cfg.mode`` (``similarity`` is needed for the embedding modes)."""
    if cfg.mode == "off":
        return np.ones(len(table), dtype=bool)
    names = name_match(table, cfg) if cfg.mode != "embedding" else np.zeros(len(table), bool)
    if cfg.mode == "name":
        return names
    if similarity is None:
        raise ValueError(f"relevance mode {cfg.mode!r} needs embeddings")
    close = np.nan_to_num(similarity, nan=-1.0) >= cfg.min_similarity
    return close if cfg.mode == "embedding" else names | close
