"""The sentiment strategy refuses a factor too big for its symbols before it reads the
news (the stream is made at the first bar, when the symbols are known)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from alphapulse.core.errors import ConfigError
from alphapulse.engine.context import PRICES, Context, History
from alphapulse.strategies import sentiment
from alphapulse.strategies.sentiment import SentimentStrategy

N = 100


def _first_bar() -> Context:
    close = np.ones((1, N))
    history = History({"close": close, PRICES: close}, np.array([0], dtype=np.int64))
    history.advance(1)
    symbols = tuple(f"S{i:03d}" for i in range(N))
    return Context(0, 0, symbols, history, np.zeros(N), np.zeros(N), close[0], 1e6, 1e6)


def test_big_lag_is_refused_before_the_news_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the news were read before the factor was checked")

    monkeypatch.setattr(sentiment, "load_prepared", no_read)
    strat = SentimentStrategy(SentimentStrategy.Params(factor={"lag_bars": 1_000_000}))
    want = r"^factor\.lag_bars 1000000 x 100 symbols needs 2\.2 GiB"
    with pytest.raises(ConfigError, match=want):
        strat.on_bar(_first_bar())
