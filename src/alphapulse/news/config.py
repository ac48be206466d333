"""Typed settings of the news factor (relevance, anti-manipulation, aggregation, lag)."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from alphapulse.core.bounds import MAX_WINDOW_BARS, Bars

#: Company names and people whose mention makes a headline about the symbol.
DEFAULT_ALIASES: dict[str, list[str]] = {
    "MSFT": ["Microsoft", "Nadella", "Azure", "Xbox", "Activision"],
    "TSLA": ["Tesla", "Musk", "Cybertruck", "Model 3", "Model Y", "Gigafactory"],
    "AAPL": ["Apple", "iPhone", "Tim Cook"],
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RelevanceConfig(_Strict):
    """Keep a headline when it names the ticker or an alias (``name``), is close to the
    symbol's profile in embedding space (``embedding``), either, or always (``off``)."""

    mode: Literal["name", "embedding", "either", "off"] = "name"
    aliases: dict[str, list[str]] = Field(default_factory=dict, description="added to defaults")
    min_similarity: float = Field(0.35, ge=-1.0, le=1.0)


class GuardConfig(_Strict):
    """Anti-manipulation: near-duplicate collapse, burst damping, source credibility."""

    dedup: Literal["none", "text", "embedding"] = "text"
    dedup_similarity: float = Field(0.9, gt=0.0, le=1.0)
    dedup_days: float = Field(3.0, ge=0.0, description="look-back for duplicates, days")
    burst_window: Bars = Field(20, ge=1, description="bars of the trailing median count")
    burst_multiple: float = Field(3.0, ge=1.0, description="weight cap: multiple x median")
    source_weights: dict[str, float] = Field(default_factory=dict)
    default_source_weight: float = Field(1.0, ge=0.0)


class HeadConfig(_Strict):
    """The strategy's embedding head (``factor.scorer: head``): a ridge refitted every
    ``refit_every`` bars on the items whose next-day labels are realised by then."""

    refit_every: Bars = Field(21, ge=1, description="bars between refits")
    min_items: int = Field(50, ge=2, description="labelled items needed for a fit")
    alpha: float = Field(10.0, gt=0.0, description="ridge penalty")


class FactorConfig(_Strict):
    """How item scores become per-bar values.

    ``score``: decayed weighted mean of item scores (half-life in bars); ``count``: items
    that arrived at the bar; ``surprise``: score minus its trailing ``window``-bar mean,
    over the trailing standard deviation. ``lag_bars`` delays everything by whole bars
    on top of each item's ``known_at`` (a date-only headline is known at its date's close).
    """

    scorer: Literal["vader", "head"] = "vader"
    bar: str = Field("1D", description="bar length; daily bars decide at the session close")
    halflife: float = Field(3.0, gt=0.0, le=MAX_WINDOW_BARS)  # bars
    window: Bars = Field(60, ge=2)
    min_periods: Bars = Field(20, ge=2)
    lag_bars: Bars = Field(0, ge=0)
    relevance: RelevanceConfig = Field(default_factory=RelevanceConfig)
    guard: GuardConfig = Field(default_factory=GuardConfig)

    @field_validator("bar")
    @classmethod
    def _bar(cls, v: str) -> str:
        if pd.Timedelta(v) <= pd.Timedelta(0):
            raise ValueError("bar must be a positive duration such as 1D or 1h")
        return v
