"""The risk stage's per-step fast paths: the compiled measures (a sorted window kept by
insertion) equal the sort-every-step computation bit for bit, through window
wrap-around, ties and non-finite returns (which fall back to numpy); targets without
any opinion pass through untouched."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.data.panel import Panel
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import PRICES, Context, History
from alphapulse.model.signals import Targets
from alphapulse.risk import measures_kernels as mk
from alphapulse.risk.config import RiskConfig
from alphapulse.risk.manager import StandardRiskManager
from alphapulse.risk.measures import (
    _BETA,
    _GROSS,
    COLUMNS,
    LEVELS,
    RiskMeasures,
    _window_measures,
    gaussian_var_cvar,
)
from tests.risk.helpers import context_at


def _reference(
    equity: np.ndarray, prices: np.ndarray, pos: np.ndarray, window: int, mp: int, bench: int | None
) -> np.ndarray:
    """The measures as the risk stage computed them before (a full sort every step)."""
    r, b = np.zeros(window), np.zeros(window)
    n, prev = 0, math.nan
    out = np.empty((len(COLUMNS), len(equity)))
    for t, eq in enumerate(equity):
        if math.isfinite(prev) and prev > 0 and t >= 1:
            with np.errstate(invalid="ignore", divide="ignore"):
                if bench is None:
                    br = float(mk.mean_return(prices[t - 1], prices[t]))
                else:
                    br = float(prices[t, bench] / prices[t - 1, bench] - 1.0)
            r[n % window] = eq / prev - 1.0
            b[n % window] = br if math.isfinite(br) else 0.0
            n += 1
        prev = eq
        out[_GROSS : _GROSS + 4, t] = mk.concentration_of(pos[t], prices[t], eq)
        m = min(n, window)
        if m < mp:
            out[:_GROSS, t] = math.nan
            out[_BETA, t] = math.nan
            continue
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            mu, sigma, beta, hist = _window_measures(r[:m], b[:m])
            for k, level in enumerate(LEVELS):
                out[2 * k, t], out[2 * k + 1, t] = hist[k]
                out[4 + 2 * k, t], out[5 + 2 * k, t] = gaussian_var_cvar(mu, sigma, level)
        out[_BETA, t] = beta
    return out


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    window=st.integers(2, 40),
    bench=st.sampled_from([None, 0, 2]),
    bad=st.sampled_from([0.0, 0.02]),
)
def test_steps_equal_a_full_sort_every_step(
    seed: int, window: int, bench: int | None, bad: float
) -> None:
    rng = np.random.default_rng(seed)
    t_len, n_sym = 160, 3
    prices = rng.uniform(50.0, 150.0, (t_len, n_sym))
    prices[rng.random(prices.shape) < 0.05] = np.nan
    equity = 1e6 * np.cumprod(1.0 + np.round(rng.normal(0.0, 0.01, t_len), 3))  # ties
    equity[rng.random(t_len) < 0.2] = equity[0]  # repeated values: zero returns
    hit = rng.random(t_len) < bad  # non-finite and non-positive equity
    equity[hit] = rng.choice([math.nan, math.inf, 0.0, -5.0], int(hit.sum()))
    pos = rng.integers(-100, 100, (t_len, n_sym)).astype(float)
    mp = min(5, window)
    hist = History({PRICES: prices}, np.arange(t_len, dtype=np.int64))
    rm = RiskMeasures(window, mp, bench)
    p_buf, l_buf = np.zeros(n_sym), np.zeros(n_sym)
    ctx = Context(0, 0, ("A", "B", "C"), hist, p_buf, np.zeros(n_sym), l_buf, 0.0, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for t in range(t_len):
            hist.advance(t + 1)
            p_buf[:], l_buf[:] = pos[t], prices[t]
            ctx._refresh(t, t, 0.0, float(equity[t]))
            rm.update(ctx)
    got = np.array([rm.columns()[c] for c in COLUMNS])
    want = _reference(equity, prices, pos, window, mp, bench)
    assert got.tobytes() == want.tobytes()


@settings(max_examples=200, deadline=None)
@given(data=st.lists(st.integers(-5, 5), min_size=2, max_size=60), window=st.integers(1, 12))
def test_slide_sorted_keeps_the_window_sorted(data: list[int], window: int) -> None:
    x = np.array(data, dtype=float) / 4.0
    ring, s = np.zeros(window), np.zeros(window)
    for k, v in enumerate(x):
        full = k >= window
        old = ring[k % window]
        ring[k % window] = v
        m = min(k + 1, window)
        mk._slide_sorted(s, m, old, v, full)
        assert s[:m].tobytes() == np.sort(ring[:m]).tobytes()


def test_no_opinion_targets_pass_through_unchanged(sp6: Panel) -> None:
    """``passes_no_opinion``: all-NaN targets come back as they are, with no event."""
    rm = StandardRiskManager(RiskConfig(), sp6.symbols)
    assert rm.passes_no_opinion
    ctx = context_at(sp6, 30, positions=np.full(sp6.n_symbols, 10.0))
    f = [sp6.fields[k][30] for k in ("open", "high", "low", "close", "volume")]
    rm.on_bar(BarSlice(30, int(sp6.timestamps[30]), 30, *f), ctx)
    before = len(rm.events())
    targets = Targets(np.full(sp6.n_symbols, np.nan))
    assert rm.adjust_targets(targets, ctx) is targets
    assert len(rm.events()) == before
