"""News sentiment strategy: long (or short) a symbol while its lagged news factor
(``surprise`` or decayed ``score``) is beyond ``entry``; flat otherwise.

Headlines dated D are known at D's close, so with ``fill_at: next_open`` a decision on
them trades at the next session at the earliest (``fill_at: close`` needs
``factor.lag_bars: 1``: the config refuses it otherwise). Confidence grows with the
factor's distance past ``entry``.
Items are scored by VADER, or with ``factor.scorer: head`` by the embedding head refitted
in walk-forward on the labels realised so far (``news.head.OnlineHead``; items before
its first fit have no score).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from alphapulse.core.trust import catalog_folder, operator_only
from alphapulse.engine.context import Context
from alphapulse.model.signals import FloatArray, Signals
from alphapulse.news.config import FactorConfig, HeadConfig
from alphapulse.news.factor import NAMES
from alphapulse.news.head import OnlineHead
from alphapulse.news.loader import embed_items, load_prepared
from alphapulse.news.stream import FactorStream, check_stream
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
        head: HeadConfig = Field(default_factory=HeadConfig)

        _news = field_validator("news")(catalog_folder)  # from a client (``core/trust.py``)
        _cache = field_validator("cache_dir")(operator_only)

    def __init__(self, params: StrategyParams | None = None, **kwargs: object) -> None:
        super().__init__(params, **kwargs)
        self._stream: FactorStream | None = None
        self._head: OnlineHead | None = None
        self._done = 0
        self._last: FloatArray = np.zeros(0)

    def _start(self, ctx: Context) -> FactorStream:
        """The stream (and the head when configured) of a new run."""
        cfg = self.p.factor
        check_stream(cfg, len(ctx.symbols))  # before the news are read
        vader = cfg.model_copy(update={"scorer": "vader"})
        items = load_prepared(self.p.news, ctx.symbols, vader, self.p.cache_dir)
        self._head = None
        if cfg.scorer == "head":
            vectors = embed_items(items.table, self.p.cache_dir)
            sym = pd.Index(list(ctx.symbols)).get_indexer(pd.Index(items.table["symbol"]))
            self._head = OnlineHead(vectors, sym.astype(np.int64), self.p.head, cfg.lag_bars)
            scorer = self._head.score
            return FactorStream(items, ctx.symbols, cfg, self.p.calendar, scorer)
        return FactorStream(items, ctx.symbols, cfg, self.p.calendar)

    def factor(self, ctx: Context) -> FloatArray:
        """[N, 3] factor values at ctx's bar (see news.factor.NAMES); the stream takes
        only the bars not seen yet, so a run is linear in its bars."""
        ts = ctx.history.timestamps()
        if self._stream is None or len(ts) < self._done:  # first bar, or a new run
            self._done = 0
            self._stream = self._start(ctx)
        if self._head is None and len(ts) > self._done:
            self._last = self._stream.update(ts[self._done :])[-1]
        elif self._head is not None:  # bar by bar: the head advances before scoring
            opens = ctx.history.field("open")
            for t in range(self._done, len(ts)):
                self._head.advance(t, int(ts[t]), opens[t])
                self._last = self._stream.update(ts[t : t + 1])[-1]
        self._done = len(ts)
        return self._last

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
