"""Stationary bootstrap: index structure and CIs against closed forms."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from alphapulse.analytics import bootstrap as bs


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 200),
    block=st.floats(1.0, 50.0),
    seed=st.integers(0, 2**31),
)
def test_indices_are_in_range_and_mostly_consecutive(n: int, block: float, seed: int) -> None:
    idx = bs.stationary_indices(n, 20, block, np.random.default_rng(seed))
    assert idx.shape == (20, n)
    assert idx.min() >= 0 and idx.max() < n
    if n > 1 and block > 1.0:
        step = (np.diff(idx, axis=1) % n) == 1
        # a block continues with probability 1 - 1/block, and a fresh start lands on the
        # next index by chance (1/n): the share of +1 steps is that within 5 std devs
        p = (1.0 - 1.0 / block) + 1.0 / (block * n)
        sd = math.sqrt(p * (1.0 - p) / step.size)
        assert abs(step.mean() - p) <= 5.0 * sd + 1e-12


def test_mean_block_length_matches_parameter() -> None:
    idx = bs.stationary_indices(5000, 4, 10.0, np.random.default_rng(1))
    breaks = (np.diff(idx, axis=1) % 5000) != 1
    assert math.isclose(1.0 / breaks.mean(), 10.0, rel_tol=0.1)


def test_iid_bootstrap_ci_of_mean_matches_closed_form() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0.3, 2.0, 400)
    sample = bs.resample(x, 4000, mean_block=1.0, seed=3)
    lo, hi = bs.percentile_ci(sample.mean(axis=1), 0.95)
    half = norm.ppf(0.975) * x.std(ddof=1) / math.sqrt(len(x))
    assert lo is not None and hi is not None
    assert abs(lo - (x.mean() - half)) < 0.1 * half
    assert abs(hi - (x.mean() + half)) < 0.1 * half


def test_row_statistics_match_direct_formulas() -> None:
    r = np.array([[0.01, -0.02, 0.03, -0.01], [0.0, 0.0, 0.0, 0.0]])
    sr = bs.sharpe_rows(r, 252.0)
    assert math.isclose(sr[0], r[0].mean() / r[0].std(ddof=1) * math.sqrt(252))
    assert math.isnan(sr[1])
    wealth = np.cumprod(1 + r[0])
    assert math.isclose(
        bs.max_drawdown_rows(r)[0], (wealth / np.maximum.accumulate(wealth) - 1).min()
    )
    assert math.isclose(bs.cagr_rows(r, 4.0)[0], wealth[-1] - 1.0)
    assert bs.percentile_ci(np.array([np.nan])) == (None, None)


@settings(max_examples=25, deadline=None)
@given(
    r=st.lists(st.floats(-0.2, 0.2), min_size=3, max_size=80),
    seed=st.integers(0, 1000),
)
def test_resampled_statistics_are_bounded_and_ordered(r: list[float], seed: int) -> None:
    sample = bs.resample(np.array(r), 50, seed=seed)
    assert set(np.unique(sample)) <= set(r)  # resamples only reuse observed returns
    dd = bs.max_drawdown_rows(sample)
    assert np.all((dd <= 0.0) & (dd >= -1.0))
    lo, hi = bs.percentile_ci(dd)
    assert lo is not None and hi is not None and lo <= hi
