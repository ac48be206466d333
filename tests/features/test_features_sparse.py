"""Sparse 1-minute bars (no bar for a minute without trades): the market features stay
defined and batch equals incremental."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.features import FeatureSetConfig, FeatureState, compute_features
from alphapulse.features.config import default_feature_set
from alphapulse.features.stat_kernels import index_returns_step

OHLCV = ("open", "high", "low", "close", "volume")


@pytest.fixture(scope="module")
def sparse(shared_data: Path) -> Panel:
    return load_panel(
        "intraday_1min_2024", ["TPL", "ERIE", "NVR"], root=shared_data, end="2024-01-10"
    )


def _market(window: int = 63) -> FeatureSetConfig:
    return FeatureSetConfig(
        name="m", features=[{"kind": "market", "window": window}], normalize={"method": "none"}
    )


@pytest.mark.parametrize("benchmark", [None, "NVR"])
def test_beta_and_corr_defined_on_sparse_minutes(sparse: Panel, benchmark: str | None) -> None:
    """Every symbol misses many minutes; after its first 64 bars beta/corr are finite at
    each of its bars (before the fix the NaN index return of a row without two
    consecutive bars spread through every window: zero finite values)."""
    c = sparse.fields["close"]
    assert np.isnan(c).mean() > 0.3  # really sparse
    fm = compute_features(sparse, _market(), benchmark)
    for j, sym in enumerate(sparse.symbols):
        rows = np.flatnonzero(np.isfinite(c[:, j]))[64:]
        if sym == benchmark:
            continue
        assert rows.size > 80, sym
        assert np.isfinite(fm.feature("beta_63")[rows, j]).all(), sym
        assert np.isfinite(fm.feature("corr_63")[rows, j]).all(), sym
        corr = fm.feature("corr_63")[rows, j]
        assert (np.abs(corr) <= 1.0 + 1e-12).all()


@pytest.mark.parametrize("benchmark", [None, "ERIE"])
def test_batch_equals_incremental_on_sparse_minutes(sparse: Panel, benchmark: str | None) -> None:
    cfg = default_feature_set()
    batch = compute_features(sparse, cfg, benchmark).values
    st = FeatureState(cfg, sparse.symbols, benchmark)
    inc = np.stack(
        [
            st.update({k: sparse.fields[k][t] for k in OHLCV}, int(sparse.timestamps[t]))
            for t in range(sparse.n_bars)
        ]
    )
    assert np.array_equal(np.isnan(batch), np.isnan(inc))
    np.testing.assert_allclose(batch, inc, rtol=1e-9, atol=0, equal_nan=True)
    usable = np.isfinite(batch).all(axis=2)
    assert usable.sum() > 300  # the default set leaves training rows on sparse data


def test_index_return_books_a_skipped_symbol_when_it_reappears() -> None:
    """Two symbols that never trade in the same minute: the cross-sectional index is
    each one's own return since its last bar, and 0.0 in a row with no bar at all."""
    nan = np.nan
    close = np.array([[10.0, nan], [nan, 20.0], [11.0, nan], [nan, nan], [nan, 22.0]])
    out = np.empty(5)
    index_returns_step(close, -1, np.full(2, np.nan), out)
    assert np.isnan(out[0]) and out[1] == 0.0 and out[3] == 0.0
    np.testing.assert_allclose(out[[2, 4]], [np.log(1.1), np.log(1.1)], rtol=1e-12)
