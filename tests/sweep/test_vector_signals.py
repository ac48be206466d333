"""Vectorised signals are causal (the look-ahead canary: changing rows after T leaves
every direction up to T unchanged) and validate their shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.data.catalog import load_panel
from alphapulse.engine.feed import forward_fill
from alphapulse.strategies.registry import load_strategy
from alphapulse.sweep.signals import VectorSignals, sma_cross_directions

BUILTINS: list[tuple[str, dict[str, Any]]] = [
    ("sma_cross", {"fast": 5, "slow": 20}),
    ("mean_reversion", {"window": 10, "entry_z": 1.0, "exit_z": 0.0, "short": True}),
    ("momentum", {"lookback": 20, "rebalance_every": 3, "short": True}),
    ("buy_and_hold", {}),
]


@pytest.fixture(scope="module")
def prices(shared_data: Path) -> np.ndarray:
    panel = load_panel(
        "sp500_daily_2013_2018", ["AAPL", "FTV", "XOM"], root=shared_data, end="2017-01-01"
    )
    return forward_fill(panel.fields["close"])


def _all(sig: VectorSignals) -> np.ndarray:
    parts = [sig.flat, sig.long, sig.short]
    return np.stack([sig.flat if p is None else p for p in parts])


@settings(max_examples=15, deadline=None)
@given(
    which=st.integers(0, len(BUILTINS) - 1),
    cut=st.integers(30, 900),
    seed=st.integers(0, 2**16),
    one=st.booleans(),
)
def test_lookahead_canary(prices: np.ndarray, which: int, cut: int, seed: int, one: bool) -> None:
    """Rows after ``cut`` replaced by a different walk (and NaN gaps): directions at rows
    <= cut are identical (NaN in the same places)."""
    name, params = BUILTINS[which]
    strat = load_strategy(name, params)
    x = np.ascontiguousarray(prices[:, :1] if one else prices)
    rng = np.random.default_rng(seed)
    y = x.copy()
    y[cut + 1 :] *= np.exp(rng.normal(0, 0.2, y[cut + 1 :].shape))
    before, after = _all(strat.vectorized_signals(x, {})), _all(strat.vectorized_signals(y, {}))
    np.testing.assert_array_equal(before[:, : cut + 1], after[:, : cut + 1])
    assert not np.array_equal(before, after) or name == "buy_and_hold"


def test_signals_have_views(prices: np.ndarray) -> None:
    """Each built-in declares some entries and exits on real prices."""
    for name, params in BUILTINS:
        d = _all(load_strategy(name, params).vectorized_signals(prices, {}))
        assert d.shape == (3, *prices.shape)
        assert (d == 1.0).sum() >= 3, name
        if name != "buy_and_hold":
            assert (d <= 0.0).sum() >= 3, name  # exits (or shorts)


def test_sma_cross_ties_and_nan_prefix() -> None:
    """Flat stretches give exact ties (no cross on a tie); NaN before the first price."""
    x = np.array([np.nan, np.nan, 1, 1, 1, 2, 2, 1, 1, 1, 1, 3], dtype=float)[:, None]
    d = sma_cross_directions(x, 1, 3)[:, 0]
    assert np.isnan(d[:5]).all()
    assert d[5] == 1.0  # 2 > mean(1, 1, 2)
    assert d[7] == 0.0  # 1 < mean(2, 2, 1)
    assert np.isnan(d[8]) and np.isnan(d[10])  # below, then a tie at 1: no cross
    assert d[11] == 1.0


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match=r"VectorSignals.long: shape \(2, 1\)"):
        VectorSignals(np.zeros((3, 1)), long=np.zeros((2, 1)))
