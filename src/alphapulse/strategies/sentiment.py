"""News sentiment strategy: long (or short) a symbol while its lagged news factor
(``surprise`` or decayed ``score``) is beyond ``entry``; flat otherwise.

Headlines dated D are known at D's close, so with ``fill_at: next_open`` a decision on
them trades at the next session at the earliest (set ``factor.lag_bars: 1`` with
``fill_at: close``). Confidence grows with the factor's distance past ``entry``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from alphapulse.engine.context import Context
from alphapulse.model.signals import FloatArray, Signals
from alphapulse.news.config import FactorConfig
from alphapulse.news.factor import NAMES
from alphapulse.news.loader import load_prepared
from alphapulse.news.stream import FactorStream
from alphapulse.strategies.base import Strategy, StrategyParams


class SentimentStrategy(Strategy):
    class Params(StrategyParams):
        news: str = Field("news_headlines_2021_2022", description="news folder or dataset")
        signal: Literal["surprise", "score"] = "surprise"
        entry: float = Field(0.5, ge=0.0)
        long_only: bool = True
        calendar: str = "XNYS"
        cache_dir: str | None = None
        factor: FactorConfig = Field(default_factory=FactorConfig)

        @model_validator(mode="after")
        def _vader_only(self) -> SentimentStrategy.Params:
            if self.factor.scorer != "vader":
                raise ValueError("factor.scorer: the strategy scores with 'vader'")
            return self

    def __init__(self, params: StrategyParams | None = None, **kwargs: object) -> None:
        super().__init__(params, **kwargs)
        self._stream: FactorStream | None = None
        self._done = 0

    def factor(self, ctx: Context) -> FloatArray:
        """[N, 3] factor values at ctx's bar (see news.factor.NAMES); the stream takes
        only the bars not seen yet, so a run is linear in its bars."""
        ts = ctx.history.timestamps()
        if self._stream is None or len(ts) < self._done:  # first bar, or a new run
            self._done = 0
            items = load_prepared(self.p.news, ctx.symbols, self.p.factor, self.p.cache_dir)
            self._stream = FactorStream(items, ctx.symbols, self.p.factor, self.p.calendar)
        values = self._stream.update(ts[self._done :])
        self._done = len(ts)
        return values[-1]

    def on_bar(self, ctx: Context) -> Signals:
        sig = decide(self.factor(ctx), self.p.signal, self.p.entry, self.p.long_only)
        direction = np.where(np.isnan(ctx.last_prices), np.nan, sig.direction)
        return Signals(direction, sig.confidence)


def decide(values: FloatArray, signal: str, entry: float, long_only: bool) -> Signals:
    """The rule on factor values [N, 3]: +1 above ``entry``, -1 (or 0) below ``-entry``,
    0 otherwise or without news; confidence 0.5 at the threshold, rising to 1."""
    x = values[:, NAMES.index(f"sent_{signal}")]
    short = 0.0 if long_only else -1.0
    with np.errstate(invalid="ignore"):
        direction = np.where(x > entry, 1.0, np.where(x < -entry, short, 0.0))
    conf = np.clip(np.nan_to_num(np.abs(x) - entry) / max(entry, 1.0) + 0.5, 0.0, 1.0)
    return Signals(direction, np.where(direction != 0, conf, 0.0))
