"""The compiled risk-measure arithmetic equals the numpy expressions bit for bit."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.risk import measures_kernels as mk
from alphapulse.risk.measures import LEVELS, concentration, historical_var_cvar

_QS = np.array([1.0 - a for a in LEVELS])


@settings(max_examples=200, deadline=None)
@given(m=st.integers(2, 300), seed=st.integers(0, 2**32 - 1), ties=st.booleans())
def test_window_stats_equal_numpy(m: int, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.01, m)
    b = rng.normal(0.0, 0.01, m)
    if ties:
        r = np.round(r, 3)  # repeated values: quantiles on ties
    got = mk.window_stats(r, b, _QS)
    mu = float(r.mean())
    assert got[0] == mu and got[1] == float(r.std(ddof=1))
    var_b = float(b.var(ddof=1))
    assert got[2] == float(((r - mu) * (b - b.mean())).sum() / (m - 1)) / var_b
    for k, level in enumerate(LEVELS):
        assert (-got[3 + 2 * k], -got[4 + 2 * k]) == historical_var_cvar(r, level)


def test_window_stats_refuses_non_finite() -> None:
    assert len(mk.window_stats(np.array([0.1, math.nan]), np.zeros(2), _QS)) == 0


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1), equity=st.floats(-1e6, 1e7))
def test_concentration_and_mean_return_equal_numpy(n: int, seed: int, equity: float) -> None:
    rng = np.random.default_rng(seed)
    pos = np.where(rng.random(n) < 0.4, 0.0, rng.integers(-500, 500, n).astype(float))
    last = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(1.0, 300.0, n))
    mv = np.where(np.isnan(last), 0.0, pos * last)
    with np.errstate(all="ignore"):  # a tiny equity overflows: inf and NaN must match too
        w = mv / equity if equity > 0 else np.zeros_like(mv)
        want = concentration(w)
    np.testing.assert_array_equal(mk.concentration_of(pos, last, equity), want)
    prev = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(1.0, 300.0, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = last / prev - 1.0
    ok = np.isfinite(r)
    mean = float(r[ok].mean()) if ok.any() else math.nan
    np.testing.assert_array_equal(mk.mean_return(prev, last), mean)
