"""The sentiment strategy: listed as a plugin, decides from the lagged factor only."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from alphapulse.data.catalog import load_panel
from alphapulse.engine.context import PRICES, Context, History
from alphapulse.news.config import FactorConfig
from alphapulse.news.loader import load_prepared
from alphapulse.news.pipeline import factor_values
from alphapulse.strategies.registry import available_strategies, strategy_class
from alphapulse.strategies.sentiment import SentimentStrategy, decide

SYMBOLS = ("MSFT", "TSLA")


@pytest.fixture(scope="module")
def panel():
    return load_panel(
        "news_headlines_2021_2022", list(SYMBOLS), start="2021-03-01", end="2021-09-30"
    )


def test_registered_and_head_params_checked() -> None:
    assert "sentiment" in available_strategies()
    assert strategy_class("sentiment") is SentimentStrategy
    assert SentimentStrategy.Params(factor={"scorer": "head"}).head.refit_every == 21
    with pytest.raises(ValidationError, match="refit_every"):
        SentimentStrategy.Params(factor={"scorer": "head"}, head={"refit_every": 0})


def test_on_bar_equals_the_rule_on_the_batch_factor(panel) -> None:
    params = SentimentStrategy.Params(entry=0.3, long_only=False)
    strat = SentimentStrategy(params)
    fields = {k: np.ascontiguousarray(v) for k, v in panel.fields.items()}
    fields[PRICES] = fields["close"]
    history = History(fields, panel.timestamps)
    cfg: FactorConfig = params.factor
    batch = factor_values(load_prepared(params.news, SYMBOLS, cfg), SYMBOLS, panel.timestamps, cfg)
    longs = shorts = 0
    for t in range(panel.n_bars):
        history.advance(t + 1)
        ctx = Context(
            t,
            int(panel.timestamps[t]),
            SYMBOLS,
            history,
            np.zeros(2),
            np.zeros(2),
            fields["close"][t],
            1e6,
            1e6,
        )
        got = strat.on_bar(ctx)
        want = decide(batch[t], "surprise", 0.3, False)
        assert np.array_equal(got.direction, want.direction)
        assert got.confidence is not None and np.array_equal(got.confidence, want.confidence)
        longs += int((got.direction > 0).sum())
        shorts += int((got.direction < 0).sum())
    assert longs > 5 and shorts > 5  # the rule trades both ways on real news
