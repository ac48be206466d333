"""The ``sentiment`` feature kind: the factor as ML features, row by row equals batch."""

from __future__ import annotations

import numpy as np

from alphapulse.data.catalog import load_panel
from alphapulse.features.compute import FeatureState, compute_features
from alphapulse.features.config import FeatureSetConfig, ReturnsSpec, SentimentSpec
from alphapulse.news.config import FactorConfig
from alphapulse.news.loader import load_prepared
from alphapulse.news.pipeline import factor_values


def test_sentiment_features_equal_the_factor_and_stream() -> None:
    panel = load_panel(
        "news_headlines_2021_2022", ["TSLA", "MSFT"], start="2021-06-01", end="2021-10-01"
    )
    cfg = FeatureSetConfig(
        name="news",
        features=[ReturnsSpec(horizons=[1]), SentimentSpec(window=10, min_periods=5)],
        normalize={"method": "none"},
    )
    batch = compute_features(panel, cfg)
    assert batch.names == ("ret_1", "sent_score", "sent_count", "sent_surprise")
    fcfg = FactorConfig(window=10, min_periods=5)
    items = load_prepared("news_headlines_2021_2022", panel.symbols, fcfg)
    want = factor_values(items, panel.symbols, panel.timestamps, fcfg)
    assert np.array_equal(batch.values[:, :, 1:], want, equal_nan=True)
    assert np.nansum(batch.feature("sent_count")) > 500
    state = FeatureState(cfg, panel.symbols)
    rows = [
        state.update(
            {k: panel.fields[k][t] for k in ("open", "high", "low", "close", "volume")},
            int(panel.timestamps[t]),
        )
        for t in range(panel.n_bars)
    ]
    assert np.array_equal(np.array(rows), batch.values, equal_nan=True)
