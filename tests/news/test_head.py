"""The strategy's embedding head: walk-forward on realised labels only (changing prices
after bar k never changes decisions up to k), each use checked by ml.integrity's guard."""

from __future__ import annotations

import numpy as np
import pytest
from tests.news.helpers import SYMBOLS, bar_stamps, scores_of, table

from alphapulse.engine.context import PRICES, Context, History
from alphapulse.ml.integrity import InSampleError, TrainingSpan
from alphapulse.news.config import HeadConfig
from alphapulse.news.head import OnlineHead
from alphapulse.news.pipeline import prepare
from alphapulse.strategies import sentiment
from alphapulse.strategies.sentiment import SentimentStrategy

N_BARS = 240
FACTOR = {"bar": "1h", "scorer": "head", "window": 10, "min_periods": 3, "lag_bars": 1}


@pytest.fixture()
def fake_news(monkeypatch):
    """Two headlines per bar; fake 8-d vectors (the head needs some, not MiniLM's)."""
    rng = np.random.default_rng(1)
    specs = [
        (m + 7 * k, k % 2, int(rng.integers(7))) for m in range(0, N_BARS * 60, 60) for k in (0, 1)
    ]
    tab = table(specs)

    def load(news, symbols, cfg, cache_dir=None):
        assert cfg.scorer == "vader"  # relevance and dedup; the head scores later
        return prepare(tab, cfg, scores=scores_of(tab))

    def embed(table_, cache_dir=None):
        return np.random.default_rng(2).normal(size=(len(table_), 8)).astype(np.float32)

    monkeypatch.setattr(sentiment, "load_prepared", load)
    monkeypatch.setattr(sentiment, "embed_items", embed)


def run(opens: np.ndarray) -> tuple[np.ndarray, SentimentStrategy]:
    strat = SentimentStrategy(
        SentimentStrategy.Params(factor=FACTOR, head=HeadConfig(refit_every=20, min_items=30))
    )
    fields = {"open": opens, "close": opens.copy(), PRICES: opens.copy()}
    history = History(fields, bar_stamps(N_BARS))
    out = []
    for t in range(N_BARS):
        history.advance(t + 1)
        ctx = Context(
            t,
            int(bar_stamps(N_BARS)[t]),
            SYMBOLS,
            history,
            np.zeros(2),
            np.zeros(2),
            opens[t],
            1e6,
            1e6,
        )
        out.append(strat.factor(ctx)[:, 0])
    return np.array(out), strat


def test_head_uses_only_realised_labels(fake_news) -> None:
    rng = np.random.default_rng(3)
    opens = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (N_BARS, 2)), axis=0))
    base, strat = run(opens)
    head = strat._head
    assert head is not None and len(head.spans) >= 5
    assert np.isnan(base[:30]).all() and np.isfinite(base[-50:]).all()  # no head, then one
    k = 150
    later = opens.copy()
    later[k + 1 :] *= np.exp(rng.normal(0, 0.05, (N_BARS - k - 1, 2)))
    moved, _ = run(later)
    assert np.array_equal(moved[: k + 1], base[: k + 1], equal_nan=True)
    assert not np.allclose(moved[k + 1 :], base[k + 1 :], equal_nan=True)  # it does learn


def test_a_head_used_before_its_labels_are_realised_is_refused() -> None:
    head = OnlineHead(np.zeros((1, 8), np.float32), np.zeros(1, np.int64), HeadConfig(), 0)
    head.span = TrainingSpan("news head", 0, 10)
    with pytest.raises(InSampleError, match="news head"):
        head.advance(1, 9, np.ones(2))
    head.advance(2, 10, np.ones(2))
