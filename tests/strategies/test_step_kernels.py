"""The compiled per-step kernels equal the numpy indicator expressions bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.strategies.indicators import crossed_above, rolling_std, sma
from alphapulse.strategies.step_kernels import mean_reversion_last, sma_cross_last


def _numpy_sma_cross(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    f, s = sma(close, fast), sma(close, slow)
    up, down = crossed_above(f, s), crossed_above(s, f)
    return np.where(up, 1.0, np.where(down, 0.0, np.nan))


@settings(max_examples=300, deadline=None)
@given(
    n_symbols=st.sampled_from([1, 2, 5]),
    fast=st.integers(1, 12),
    extra=st.integers(1, 150),
    rows=st.integers(1, 170),
    decimals=st.sampled_from([1, 2, 9]),
    seed=st.integers(0, 2**32 - 1),
    gaps=st.booleans(),
)
def test_sma_cross_last_equals_numpy(
    n_symbols: int, fast: int, extra: int, rows: int, decimals: int, seed: int, gaps: bool
) -> None:
    slow = fast + extra
    rng = np.random.default_rng(seed)
    walk = 50 + np.cumsum(rng.normal(0, 0.02, (rows, n_symbols)), axis=0)
    x = np.round(walk, decimals)  # coarse ticks: many exact and near ties
    if gaps:
        x[rng.random(x.shape) < 0.05] = np.nan
    view = x[-(slow + 1) :]
    view.flags.writeable = False
    got = sma_cross_last(view, fast, slow)
    want = _numpy_sma_cross(view, fast, slow)
    assert got.shape == (n_symbols,)
    np.testing.assert_array_equal(got, want)


def test_sma_cross_last_sees_a_cross() -> None:
    x = np.array([[3.0], [2.0], [1.0], [1.0], [5.0]])
    assert sma_cross_last(x, 1, 3)[0] == 1.0  # fast 5 > slow 7/3 now, 1 <= 4/3 before
    assert np.isnan(sma_cross_last(x[:2], 1, 3)[0])  # window incomplete


def _numpy_mean_reversion(
    close: np.ndarray, window: int, entry: float, exit_: float, short: bool, pos: np.ndarray
) -> np.ndarray:
    """``MeanReversion.on_bar``'s numpy expressions (no z-score over equal prices)."""
    mean, std = sma(close, window, k=1)[0], rolling_std(close, window)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (close[-1] - mean) / std
    z[~(close.max(axis=0) > close.min(axis=0))] = np.nan
    d = np.full(close.shape[1], np.nan)
    d[(pos == 0) & (z < -entry)] = 1.0
    d[(pos > 0) & (z > -exit_)] = 0.0
    if short:
        d[(pos == 0) & (z > entry)] = -1.0
        d[(pos < 0) & (z < exit_)] = 0.0
    return d


@settings(max_examples=120, deadline=None)
@given(
    n_symbols=st.sampled_from([1, 2, 7]),
    window=st.integers(2, 40),
    rows=st.integers(1, 45),
    entry=st.sampled_from([0.5, 1.0, 2.0]),
    short=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    stale=st.booleans(),
)
def test_mean_reversion_last_equals_numpy(
    n_symbols: int, window: int, rows: int, entry: float, short: bool, seed: int, stale: bool
) -> None:
    rng = np.random.default_rng(seed)
    x = np.round(50 + np.cumsum(rng.normal(0, 0.5, (rows, n_symbols)), axis=0), 1)
    x[rng.random(x.shape) < 0.03] = np.nan
    if stale:  # the first name's last bars carried forward (halted, missing bars)
        x[-window:, 0] = x[-min(window, rows), 0]
    view = x[-window:]
    view.flags.writeable = False
    pos = rng.choice([-1.0, 0.0, 2.0], size=n_symbols)
    got = mean_reversion_last(view, window, entry, 0.0, short, pos)
    np.testing.assert_array_equal(got, _numpy_mean_reversion(view, window, entry, 0.0, short, pos))
