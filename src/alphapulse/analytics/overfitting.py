"""Selection-bias checks: the deflated Sharpe ratio and the probability of backtest
overfitting.

* ``deflated_sharpe`` (Bailey and López de Prado 2014): the probability that the true
  Sharpe ratio exceeds the best one expected from ``n_trials`` unskilled trials,
  ``PSR(SR0)`` with ``SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))``
  (``g`` the Euler-Mascheroni constant, ``V`` the variance of the trials' Sharpe ratios)
  and ``PSR(SR0) = Z((SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2))``,
  all on per-bar (not annualised) Sharpe ratios, ``kurt`` the plain (not excess) kurtosis.
* ``pbo`` (Bailey, Borwein, López de Prado and Zhu 2017, CSCV): the returns of N trials
  are cut into S blocks; for every half of the blocks taken as in-sample the best trial
  in sample is ranked out of sample; PBO is the share of splits where it ranks at or
  below the median (logit <= 0).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

FloatArray = npt.NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(n_trials: int, var_sharpe: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` zero-skill trials (0 for one trial)."""
    if n_trials < 1:
        raise ValueError("n_trials must be >= 1")
    if n_trials == 1:
        return 0.0
    z1 = norm.ppf(1.0 - 1.0 / n_trials)
    z2 = norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(var_sharpe) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def probabilistic_sharpe(
    sharpe: float, benchmark: float, n_obs: int, skew: float, kurtosis: float
) -> float:
    """P(true per-bar Sharpe > ``benchmark``) given the observed per-bar ``sharpe``."""
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if n_obs < 2 or not denom > 0:
        return math.nan
    return float(norm.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def deflated_sharpe(
    sharpe: float,
    n_obs: int,
    skew: float,
    kurtosis: float,
    n_trials: int,
    var_sharpe: float,
) -> float:
    """Deflated Sharpe ratio: ``PSR(expected_max_sharpe(n_trials, var_sharpe))``."""
    sr0 = expected_max_sharpe(n_trials, var_sharpe)
    return probabilistic_sharpe(sharpe, sr0, n_obs, skew, kurtosis)


def pbo(returns: FloatArray, n_blocks: int = 16) -> dict[str, float]:
    """Probability of backtest overfitting of a ``[T, N]`` matrix of per-bar returns.

    Trials are ranked by mean return over standard deviation (Sharpe) in each part.
    Returns ``pbo``, the median logit and the number of splits.
    """
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("pbo needs a [T, N] matrix with N >= 2 trials")
    if n_blocks < 2 or n_blocks % 2 or m.shape[0] < n_blocks:
        raise ValueError("n_blocks must be even, >= 2 and at most the number of bars")
    blocks = np.array_split(np.nan_to_num(m), n_blocks)
    count = np.array([len(b) for b in blocks], dtype=np.float64)
    s1 = np.stack([b.sum(axis=0) for b in blocks])
    s2 = np.stack([np.square(b).sum(axis=0) for b in blocks])
    combos = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)))
    is_mask = np.zeros((len(combos), n_blocks))
    np.put_along_axis(is_mask, combos, 1.0, axis=1)
    is_sr = _block_sharpe(is_mask, count, s1, s2)
    oos_sr = _block_sharpe(1.0 - is_mask, count, s1, s2)
    best = np.argmax(is_sr, axis=1)
    chosen = oos_sr[np.arange(len(best)), best]
    n = m.shape[1]
    rank = (oos_sr < chosen[:, None]).sum(axis=1) + 1.0  # 1 = worst, N = best
    w = rank / (n + 1.0)
    logit = np.log(w / (1.0 - w))
    return {
        "pbo": float(np.mean(logit <= 0.0)),
        "median_logit": float(np.median(logit)),
        "n_splits": float(len(combos)),
    }


def _block_sharpe(
    mask: FloatArray, count: FloatArray, s1: FloatArray, s2: FloatArray
) -> FloatArray:
    """Sharpe of each trial over the blocks selected by each row of ``mask``."""
    n = mask @ count
    total = mask @ s1
    mean = total / n[:, None]
    var = (mask @ s2 - n[:, None] * mean**2) / np.maximum(n[:, None] - 1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(var > 0, mean / np.sqrt(np.maximum(var, 0.0)), 0.0)
    return out
