"""Robustness block: bootstrap intervals, trade-order Monte Carlo, DSR, capacity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphapulse.analytics.bootstrap import sharpe_rows
from alphapulse.analytics.capacity import capacity_estimate, fill_inputs, impact_cost
from alphapulse.analytics.metrics import compute_metrics, simple_returns
from alphapulse.analytics.robustness import return_shape, robustness, trade_order_drawdowns


def _block(seed: int = 0, **kw: object) -> dict:
    r = np.random.default_rng(seed).normal(0.0006, 0.01, 1000)
    pnl = np.random.default_rng(seed + 1).normal(50.0, 500.0, 300)
    return robustness(r, 252.0, trade_pnl=pnl, initial_cash=1e6, **kw)  # type: ignore[arg-type]


def test_intervals_bracket_estimates_and_kill_switch_is_a_tail() -> None:
    out = _block()
    boot = out["bootstrap"]
    for key in ("sharpe", "cagr", "max_drawdown"):
        b = boot[key]
        assert b["ci_low"] < b["estimate"] < b["ci_high"], key
    assert out["kill_switch"]["max_drawdown"] < boot["max_drawdown"]["ci_low"]
    assert out["trade_order"]["p99"] <= out["trade_order"]["p95"] <= out["trade_order"]["median"]
    assert out == _block()  # seeded: reproducible


def test_sharpe_interval_width_matches_asymptotic_standard_error() -> None:
    boot = _block(3)["bootstrap"]["sharpe"]
    # iid normal: se(SR_annual) ~ sqrt((1 + SR_bar^2 / 2) / T) * sqrt(252)
    se = math.sqrt(252 / 1000)
    assert boot["ci_high"] - boot["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.25)


def test_more_trials_deflate_more() -> None:
    one = _block(n_trials=1)["deflated_sharpe"]["value"]
    many = _block(n_trials=200)["deflated_sharpe"]["value"]
    given = _block(n_trials=200, trial_sharpes=np.linspace(-0.05, 0.05, 200))["deflated_sharpe"]
    assert many < one
    assert given["trial_sharpe_var"] == pytest.approx(np.var(np.linspace(-0.05, 0.05, 200), ddof=1))


def test_trade_order_drawdowns() -> None:
    assert np.all(trade_order_drawdowns(np.array([1.0, 2.0, 3.0]), 100.0, 50) == 0.0)
    dd = trade_order_drawdowns(np.array([10.0, -20.0, 5.0]), 100.0, 200, seed=1)
    # worst order: the loss first, from the starting capital: 100 -> 80
    assert dd.min() == pytest.approx(80 / 100 - 1)
    assert dd.max() == pytest.approx(95 / 115 - 1)  # best: both gains first
    assert dd.max() <= 0.0


def test_return_shape_and_short_series() -> None:
    r = np.array([0.01, -0.02, 0.03, -0.01, 0.02, -0.05, 0.04])
    shape = return_shape(r)
    p5, p95 = np.percentile(r, [5, 95])
    assert shape["tail_ratio"] == pytest.approx(p95 / -p5)
    assert return_shape(np.zeros(5))["skew"] is None
    short = robustness(np.array([0.01]), 252.0, trade_pnl=np.empty(0), initial_cash=1.0)
    assert short["bootstrap"] is None and short["kill_switch"] is None


def test_capacity_is_where_impact_is_half_the_edge() -> None:
    notional, part, sigma = np.array([1e6]), np.array([0.01]), np.array([0.02])
    out = capacity_estimate(
        capital=1e6, gross_edge=1e4, notional=notional, participation=part, sigma=sigma
    )
    k = out["capacity"] / 1e6
    impact = impact_cost(notional * k, part * k, sigma)
    assert impact == pytest.approx(0.5 * 1e4 * k)
    assert out["median_participation"] == 0.01
    none = capacity_estimate(
        capital=1e6, gross_edge=-5.0, notional=notional, participation=part, sigma=sigma
    )
    assert none["capacity"] is None


def test_fill_inputs_from_panel() -> None:
    close = np.array([[10.0, 20.0], [11.0, 20.0], [10.0, 22.0]])
    volume = np.array([[100.0, 0.0], [200.0, 50.0], [100.0, 10.0]])
    notional, part, sigma = fill_inputs(
        np.array([10.0, 5.0]),
        np.array([11.0, 22.0]),
        np.array([0, 1]),
        np.array([1, 0]),
        volume,
        close,
    )
    assert notional.tolist() == [110.0, 110.0]
    assert part[0] == pytest.approx(0.05) and math.isnan(part[1])
    assert sigma[0] == pytest.approx(np.std([0.1, 10 / 11 - 1], ddof=1))


def test_sweep_inputs_carry_trials_and_pbo() -> None:
    from alphapulse.analytics.run_robustness import sweep_inputs

    rng = np.random.default_rng(5)
    equities = [1e6 * np.cumprod(1 + rng.normal(0, 0.01, 400)) for _ in range(6)]
    inp = sweep_inputs(equities, None, None)
    assert inp.n_trials == 6 and inp.trial_sharpes is not None and len(inp.trial_sharpes) == 6
    assert inp.pbo is not None and 0.0 <= inp.pbo["pbo"] <= 1.0
    assert sweep_inputs(equities[:1], None, None).pbo is None


def test_a_spread_of_rounding_noise_has_no_sharpe_as_in_the_metrics() -> None:
    # constant growth: the returns differ only by float rounding (std ~1e-16), so the
    # Sharpe ratio is undefined; compute_metrics says so (None) and the robustness block
    # of the same summary must too, not report a Sharpe of ~1e14 and a DSR of 1.0
    equity = 1e6 * 1.001 ** np.arange(300)
    r = simple_returns(equity)
    assert 0.0 < float(np.std(r, ddof=1)) < 1e-14
    index = pd.date_range("2020-01-01", periods=300, freq="B")
    assert compute_metrics(pd.Series(equity, index=index), pd.DataFrame())["sharpe"] is None
    out = robustness(r, 252.0, trade_pnl=np.array([]), initial_cash=1e6, n_resamples=50)
    assert out["bootstrap"]["sharpe"] == {"estimate": None, "ci_low": None, "ci_high": None}
    assert out["deflated_sharpe"]["value"] is None
    assert out["deflated_sharpe"]["sharpe_per_bar"] is None
    # a tiny but real spread keeps its Sharpe ratio
    tiny = np.tile([3e-9, -1e-9], 50)
    expected = tiny.mean() / tiny.std(ddof=1) * math.sqrt(252.0)
    assert sharpe_rows(tiny[None, :], 252.0)[0] == pytest.approx(expected)
    assert np.isnan(sharpe_rows(r[None, :], 252.0)[0])


def test_deflated_sharpe_block_matches_the_paper_formula_on_real_returns(
    aapl_close: pd.Series,
) -> None:
    """The summary's DSR of AAPL's daily returns 2013-2018 written out from Bailey and
    López de Prado (2014) with moments by hand: SR0 = sqrt(V) ((1 - g) Z^-1(1 - 1/N) +
    g Z^-1(1 - 1/(N e))), DSR = Z((SR - SR0) sqrt(T - 1) / sqrt(1 - skew SR + (kurt -
    1) / 4 SR^2)), per-bar Sharpe ratios, kurt not in excess; V the trials' Sharpe
    variance, else the estimator's own variance."""
    from scipy.stats import norm

    r = aapl_close.pct_change().dropna().to_numpy()
    n, big_t = 20, len(r)
    sr = r.mean() / r.std(ddof=1)
    dev = r - r.mean()
    m2 = np.mean(dev**2)
    g3, g4 = np.mean(dev**3) / m2**1.5, np.mean(dev**4) / m2**2
    spread = 1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr**2
    trials = np.random.default_rng(0).normal(0.0, 0.03, n)
    for given, var in ((trials, trials.var(ddof=1)), (None, spread / (big_t - 1))):
        sr0 = math.sqrt(var) * (
            (1 - np.euler_gamma) * norm.ppf(1 - 1 / n)
            + np.euler_gamma * norm.ppf(1 - 1 / (n * math.e))
        )
        want = norm.cdf((sr - sr0) * math.sqrt(big_t - 1) / math.sqrt(spread))
        out = robustness(
            r, 252.0, trade_pnl=np.empty(0), initial_cash=1e6, n_trials=n,
            trial_sharpes=given, n_resamples=10,
        )["deflated_sharpe"]  # fmt: skip
        assert 0.05 < want < 0.95  # a case where the deflation matters
        assert out["value"] == pytest.approx(want, rel=1e-9)
        assert out["expected_max_sharpe_per_bar"] == pytest.approx(sr0, rel=1e-9)
        assert out["sharpe_per_bar"] == pytest.approx(sr, rel=1e-12)
