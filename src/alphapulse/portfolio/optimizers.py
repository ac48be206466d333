"""Optimised constructions: equal risk contribution, fractional Kelly, mean-variance,
Black-Litterman and maximum diversification.

All work in *direction space*: the returns of active name i are multiplied by its signal
direction d_i, so every problem is long-only (v >= 0, sum v = 1) and the weights are
``w_i = d_i x budget x v_i``. Inputs are trailing simple returns over ``lookback`` bars:
expected returns = their mean, covariance = Ledoit-Wolf shrinkage (constant-correlation
target by default, ``shrinkage``), both annualised.

PyPortfolioOpt does the optimisation (EfficientFrontier, BlackLittermanModel, and its
custom convex-objective API for ERC and maximum diversification). When a problem is
infeasible or the solver fails, the names get inverse-volatility weights and
``fallbacks`` counts it (``last_error`` says why).
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import numpy.typing as npt
from pypfopt import EfficientFrontier, objective_functions
from pypfopt.base_optimizer import BaseConvexOptimizer
from pypfopt.black_litterman import BlackLittermanModel, market_implied_prior_returns
from pypfopt.exceptions import OptimizationError

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.portfolio.construction import FloatArray, IntArray, SignalWeighting
from alphapulse.portfolio.estimators import covariance, simple_returns

_FAILURES = (OptimizationError, ValueError, ArithmeticError, cp.error.SolverError)
_BIG = 1e3  # upper bound of unnormalised variables (ERC, max diversification)


class _Estimates:
    """Annualised direction-space inputs of the names that have enough history."""

    def __init__(self, good: np.ndarray, mu: FloatArray, cov: FloatArray, ppy: float) -> None:
        self.good = good
        self.mu = mu
        self.cov = cov
        self.ppy = ppy

    @property
    def vol(self) -> FloatArray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))


@dataclass(frozen=True)
class _Problem:
    """One ``weights`` call: the estimates and the call's inputs."""

    est: _Estimates
    ctx: Context
    signals: Signals
    act: IntArray
    sign: FloatArray
    budget: float


def _varies(rets: FloatArray) -> npt.NDArray[np.bool_]:
    """Per column: the finite returns are not all equal (variance above zero)."""
    lo = np.where(np.isfinite(rets), rets, np.inf).min(axis=0, initial=np.inf)
    hi = np.where(np.isfinite(rets), rets, -np.inf).max(axis=0, initial=-np.inf)
    return np.asarray(hi > lo)


class _Optimised(SignalWeighting):
    """Shared frame: estimates, the long-only solve, the fallback."""

    def __init__(self, **common: Any) -> None:
        super().__init__(**common)
        self.fallbacks = 0
        self.last_error = ""

    def estimates(self, ctx: Context, act: IntArray, sign: FloatArray) -> _Estimates:
        prices = ctx.prices(self.lookback + 1)[:, act]
        rets = simple_returns(prices) * sign if prices.shape[0] > 1 else np.empty((0, act.size))
        good = (np.isfinite(rets).sum(axis=0) >= self.min_obs) & np.isfinite(prices[-1])
        good &= _varies(rets)  # a flat price (halted, stale) has no risk to allocate by
        ppy = self.bars_per_year(ctx)
        r = rets[:, good]
        n = np.isfinite(r).sum(axis=0)
        mu = np.where(np.isfinite(r), r, 0.0).sum(axis=0) / np.maximum(n, 1) * ppy
        cov = covariance(r, self.shrinkage) * ppy if r.shape[1] else np.empty((0, 0))
        return _Estimates(good, mu, cov, ppy)

    def upper_bound(self, k: int, budget: float) -> float:
        """Per-name bound on v (sum v = 1) matching ``max_weight``; always feasible."""
        if self.max_weight is None or budget <= 0:
            return 1.0
        return float(min(max(self.max_weight / budget, 1.0 / k), 1.0))

    def weights(
        self, signals: Signals, ctx: Context, act: IntArray, sign: FloatArray, budget: float
    ) -> FloatArray:
        est = self.estimates(ctx, act, sign)
        w = np.full(act.size, np.nan)
        k = int(est.good.sum())
        if k == 0:
            return w
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = self.solve(_Problem(est, ctx, signals, act, sign, budget))
            if not np.all(np.isfinite(v)):
                raise ValueError("non-finite solution")
        except _FAILURES as exc:
            self.fallbacks += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            inv = 1.0 / np.where(est.vol > 0, est.vol, np.nan)
            inv = np.nan_to_num(inv, nan=0.0)
            v = inv / inv.sum() * budget if inv.sum() > 0 else np.zeros(k)
        w[est.good] = sign[est.good] * np.clip(v, 0.0, None)
        return w

    @abstractmethod
    def solve(self, p: _Problem) -> FloatArray:
        """Non-negative direction-space weights of the good names, summing to ``budget``
        (Kelly: any sum; the caps bound it)."""


def _normalise(v: FloatArray, budget: float) -> FloatArray:
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, None)
    total = float(v.sum())
    if not total > 0:
        raise ValueError("all weights are zero")
    return v / total * budget


def _convex(
    objective: Callable[..., Any],
    cov: FloatArray,
    budget: float,
    constraints: Sequence[Callable[[Any], Any]] = (),
) -> FloatArray:
    """Minimises ``objective(y, s=cov)`` over 0 <= y <= _BIG (sum free) under
    ``constraints`` with PyPortfolioOpt's custom convex API; y rescaled to sum ``budget``."""
    opt = BaseConvexOptimizer(len(cov), weight_bounds=(0.0, _BIG))
    for constraint in constraints:
        opt.add_constraint(constraint)
    y = opt.convex_objective(objective, weights_sum_to_one=False, s=cov)
    return _normalise(np.array(list(y.values()), dtype=np.float64), budget)


class RiskParity(_Optimised):
    """Equal risk contribution: w_i (Sigma w)_i equal for all i. Solved as the convex
    problem min 1/2 y'Sigma y - (1/n) sum log y_i (Spinu 2013), then w = y / sum y."""

    def solve(self, p: _Problem) -> FloatArray:
        est = p.est
        k = len(est.mu)
        cov = est.cov / float(np.mean(np.diag(est.cov)))  # scale-free, well-conditioned
        return _convex(
            lambda y, s: 0.5 * cp.quad_form(y, cp.psd_wrap(s)) - cp.sum(cp.log(y)) / k,
            cov,
            p.budget,
        )


class MaxDiversification(_Optimised):
    """Maximises the diversification ratio DR = w'sigma / sqrt(w'Sigma w) (Choueifaty
    2008) as the QP min y'Sigma y s.t. sigma'y = 1, y >= 0, y_i <= cap x sum y; w = y/sum y."""

    def solve(self, p: _Problem) -> FloatArray:
        vol = p.est.vol
        scale = float(vol.mean())
        sig = vol / scale
        cov = p.est.cov / scale**2
        ub = self.upper_bound(len(p.est.mu), p.budget)
        constraints: list[Callable[[Any], Any]] = [lambda y: sig @ y == 1]
        if ub < 1.0:
            constraints.append(lambda y: y <= ub * cp.sum(y))
        return _convex(lambda y, s: cp.quad_form(y, cp.psd_wrap(s)), cov, p.budget, constraints)


class FractionalKelly(_Optimised):
    """w = fraction x Sigma^-1 mu (growth-optimal leverage, scaled down); names whose Kelly
    weight disagrees with the signal get 0; ``max_weight``/``max_gross`` cap the result."""

    def __init__(self, fraction: float = 0.5, **common: Any) -> None:
        super().__init__(**common)
        self.fraction = fraction

    def solve(self, p: _Problem) -> FloatArray:
        v = self.fraction * np.linalg.solve(p.est.cov, p.est.mu)
        return np.clip(v, 0.0, None)


class MeanVariance(_Optimised):
    """PyPortfolioOpt ``EfficientFrontier``: max Sharpe, min volatility, efficient risk
    (target vol) or max quadratic utility. Max Sharpe with no name expected to beat the
    risk-free rate, or an unreachable target vol, falls back to min volatility."""

    def __init__(
        self,
        objective: str = "max_sharpe",
        *,
        risk_free_rate: float = 0.0,
        risk_aversion: float = 1.0,
        target_vol: float = 0.10,
        l2_gamma: float = 0.0,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.objective = objective
        self.risk_free_rate = risk_free_rate
        self.risk_aversion = risk_aversion
        self.target_vol = target_vol
        self.l2_gamma = l2_gamma

    def frontier(self, mu: FloatArray, cov: FloatArray, ub: float) -> EfficientFrontier:
        ef = EfficientFrontier(mu, cov, weight_bounds=(0.0, ub))
        if self.l2_gamma > 0:
            ef.add_objective(objective_functions.L2_reg, gamma=self.l2_gamma)
        return ef

    def optimise(self, mu: FloatArray, cov: FloatArray, ub: float) -> FloatArray:
        ef = self.frontier(mu, cov, ub)
        obj = self.objective
        if obj == "max_sharpe" and float(np.max(mu)) > self.risk_free_rate:
            ef.max_sharpe(risk_free_rate=self.risk_free_rate)
        elif obj == "max_quadratic_utility":
            ef.max_quadratic_utility(risk_aversion=self.risk_aversion)
        elif obj == "efficient_risk":
            try:
                ef.efficient_risk(self.target_vol)
            except (ValueError, OptimizationError):
                ef = self.frontier(mu, cov, ub)
                ef.min_volatility()
        else:
            ef.min_volatility()
        return np.asarray(ef.weights, dtype=np.float64)

    def solve(self, p: _Problem) -> FloatArray:
        ub = self.upper_bound(len(p.est.mu), p.budget)
        return _normalise(self.optimise(p.est.mu, p.est.cov, ub), p.budget)


class BlackLitterman(MeanVariance):
    """Black-Litterman: prior pi = delta x Sigma x w_eq (an equal-weight market of the
    active names), one absolute view per name (prior + ``view_return`` in the signal's
    direction, or ``views[symbol]``), view confidences from the signals (Idzorek's
    method), then the EfficientFrontier objective on the posterior."""

    def __init__(
        self,
        objective: str = "max_quadratic_utility",
        *,
        risk_aversion: float = 2.5,
        tau: float = 0.05,
        view_return: float = 0.05,
        views: dict[str, float] | None = None,
        default_confidence: float = 0.5,
        risk_free_rate: float = 0.0,
        **common: Any,
    ) -> None:
        super().__init__(
            objective, risk_free_rate=risk_free_rate, risk_aversion=risk_aversion, **common
        )
        self.tau = tau
        self.view_return = view_return
        self.views = dict(views or {})
        self.default_confidence = default_confidence

    def solve(self, p: _Problem) -> FloatArray:
        est = p.est
        k = len(est.mu)
        names = p.act[est.good]
        d = p.sign[est.good]
        prior = np.asarray(
            market_implied_prior_returns(np.ones(k), self.risk_aversion, est.cov), dtype=float
        )
        q = prior + self.view_return
        if self.views:
            for j, sid in enumerate(names):
                view = self.views.get(p.ctx.symbols[int(sid)])
                if view is not None:
                    q[j] = d[j] * view  # an absolute view, in direction space
        conf = np.full(k, self.default_confidence)
        if p.signals.confidence is not None:
            c = np.asarray(p.signals.confidence, dtype=np.float64)[names]
            conf = np.where(np.isfinite(c), np.clip(c, 0.01, 1.0), conf)
        bl = BlackLittermanModel(
            est.cov,
            pi=prior,
            absolute_views={j: float(q[j]) for j in range(k)},
            omega="idzorek",
            view_confidences=conf,
            tau=self.tau,
            risk_aversion=self.risk_aversion,
        )
        mu = np.asarray(bl.bl_returns(), dtype=np.float64)
        cov = np.asarray(bl.bl_cov(), dtype=np.float64)
        cov = (cov + cov.T) / 2.0
        ub = self.upper_bound(k, p.budget)
        return _normalise(self.optimise(mu, cov, ub), p.budget)
