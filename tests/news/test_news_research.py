"""IC with bootstrap intervals, and the walk-forward head (out-of-sample only)."""

from __future__ import annotations

import numpy as np

from alphapulse.data.catalog import load_panel
from alphapulse.news.config import FactorConfig
from alphapulse.news.factor import assign_bars, decision_times
from alphapulse.news.loader import load_prepared
from alphapulse.news.research import forward_returns, head_scores, rank_ic


def test_rank_ic_of_a_monotone_pair_and_of_noise() -> None:
    x = np.arange(200.0)
    assert rank_ic(x, x**3, 1).ic == 1.0
    noise = rank_ic(x, np.random.default_rng(1).normal(size=200), 5)
    assert noise.ci_low is not None and noise.ci_high is not None
    assert noise.ci_low < noise.ic < noise.ci_high and noise.ci_low < 0 < noise.ci_high


def test_head_scores_only_out_of_sample_items() -> None:
    panel = load_panel("news_headlines_2021_2022", ["TSLA"], start="2021-01-04", end="2021-12-31")
    cfg = FactorConfig()
    items = load_prepared("news_headlines_2021_2022", panel.symbols, cfg)
    vecs = np.random.default_rng(0).normal(size=(len(items.table), 16)).astype(np.float32)
    scores, first = head_scores(items, vecs, panel, cfg, n_splits=3)
    rows = assign_bars(items.known_ns, decision_times(panel.timestamps), 0)
    assert 0 < first < panel.n_bars
    assert np.isnan(scores[rows < first]).all()
    oos = (rows >= first) & (rows < panel.n_bars) & (items.weights > 0)
    assert np.isfinite(scores[oos]).all() and np.abs(scores[oos]).max() <= 1.0
    fwd = forward_returns(panel, 1)
    o = panel.fields["open"][:, 0]
    assert np.isclose(fwd[10, 0], o[12] / o[11] - 1.0) and np.isnan(fwd[-2:]).all()
