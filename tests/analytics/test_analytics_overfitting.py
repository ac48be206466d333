"""Deflated Sharpe (Bailey and López de Prado 2014 example) and PBO (CSCV)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphapulse.analytics.overfitting import (
    deflated_sharpe,
    expected_max_sharpe,
    pbo,
    probabilistic_sharpe,
)


def test_dsr_paper_example() -> None:
    # Bailey & López de Prado (2014), section 4: N=100 trials, V[SR]=1/2 (annualised),
    # T=1250 daily returns, annualised SR=2.5, skew=-3, kurtosis=10 -> DSR ~ 0.9004.
    var = 0.5 / 250
    assert expected_max_sharpe(100, var) == pytest.approx(0.1132, abs=1e-4)
    dsr = deflated_sharpe(2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, var)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_psr_closed_form_for_normal_returns() -> None:
    # normal returns (skew 0, kurtosis 3): PSR = Phi(SR sqrt(T-1) / sqrt(1 + SR^2 / 2))
    got = probabilistic_sharpe(0.1, 0.0, 101, 0.0, 3.0)
    from scipy.stats import norm

    assert got == pytest.approx(norm.cdf(0.1 * 10 / math.sqrt(1.005)))
    assert expected_max_sharpe(1, 1.0) == 0.0
    assert deflated_sharpe(0.1, 500, 0.0, 3.0, 50, 0.01) < probabilistic_sharpe(
        0.1, 0.0, 500, 0.0, 3.0
    )


def test_pbo_noise_is_about_half() -> None:
    rng = np.random.default_rng(11)
    values = [pbo(rng.normal(0, 0.01, (600, 16)), n_blocks=10)["pbo"] for _ in range(6)]
    assert 0.3 < float(np.mean(values)) < 0.7


def test_pbo_one_truly_better_strategy_is_near_zero() -> None:
    rng = np.random.default_rng(12)
    m = rng.normal(0, 0.01, (1000, 20))
    m[:, 5] += 0.004
    out = pbo(m)
    assert out["pbo"] < 0.05
    assert out["median_logit"] > 1.0
    assert out["n_splits"] == math.comb(16, 8)


def test_pbo_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        pbo(np.zeros((100, 1)))
    with pytest.raises(ValueError):
        pbo(np.zeros((100, 3)), n_blocks=5)


def _cscv_by_hand(m: np.ndarray, n_blocks: int) -> tuple[float, float]:
    """Bailey et al. (2017) CSCV written out split by split: the in-sample best trial's
    out-of-sample rank among all trials (1 = worst), logit of rank / (N + 1)."""
    import itertools

    import pandas as pd

    n = m.shape[1]
    blocks = np.array_split(np.arange(len(m)), n_blocks)
    logits = []
    for chosen in itertools.combinations(range(n_blocks), n_blocks // 2):
        is_rows = np.concatenate([blocks[b] for b in chosen])
        oos_rows = np.concatenate([blocks[b] for b in range(n_blocks) if b not in chosen])
        is_sr = m[is_rows].mean(axis=0) / m[is_rows].std(axis=0, ddof=1)
        oos_sr = m[oos_rows].mean(axis=0) / m[oos_rows].std(axis=0, ddof=1)
        rank = pd.Series(oos_sr).rank(method="min").iloc[int(np.argmax(is_sr))]
        logits.append(math.log(rank / (n + 1 - rank)))
    return float(np.mean(np.array(logits) <= 0.0)), float(np.median(logits))


@pytest.mark.parametrize(("n_trials", "n_blocks", "bars"), [(5, 8, 203), (10, 10, 500)])
def test_pbo_matches_cscv_written_out(n_trials: int, n_blocks: int, bars: int) -> None:
    rng = np.random.default_rng(n_trials)
    m = rng.normal(0.0003, 0.01, (bars, n_trials))
    m[:, 2] += 0.0005  # one mildly better trial
    want_pbo, want_logit = _cscv_by_hand(m, n_blocks)
    got = pbo(m, n_blocks=n_blocks)
    assert 0.0 < want_pbo < 1.0  # not a degenerate case
    assert got["pbo"] == pytest.approx(want_pbo, abs=1e-12)
    assert got["median_logit"] == pytest.approx(want_logit, rel=1e-9)
    assert got["n_splits"] == math.comb(n_blocks, n_blocks // 2)
