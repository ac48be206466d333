"""Risk measures recorded at every step, alongside the equity curve.

From a trailing window of one-period portfolio returns r (equity to equity, as seen by
the risk stage after each bar's marks) and benchmark returns b:

- historical VaR_a = -q_(1-a)(r), CVaR_a = -mean(r | r <= q_(1-a)(r));
- parametric (Gaussian) VaR_a = -(mu + z sigma), CVaR_a = -(mu - sigma phi(z) / (1-a)),
  with z = Phi^-1(1-a);
- beta = cov(r, b) / var(b), b = a benchmark symbol's return or the equal-weight mean
  of the universe's returns;
- gross and net leverage (sum |w|, sum w), concentration: largest |w| and the HHI of
  the gross weights, sum (|w_i| / sum |w|)^2 (1 = one name, 1/n = n equal names).

VaR/CVaR are positive loss fractions of equity for one period; NaN until
``min_periods`` returns exist. The window is a ring buffer with a sorted copy kept by
one insertion a step, so each step costs O(window) without a sort.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from alphapulse.engine.context import Context
from alphapulse.engine.steprows import StepRows
from alphapulse.risk import measures_kernels as mk

FloatArray = npt.NDArray[np.float64]

LEVELS = (0.95, 0.99)
_QS = np.array([1.0 - a for a in LEVELS])
_Z = {0.95: -1.6448536269514722, 0.99: -2.3263478740408408}  # Phi^-1(1 - a)
COLUMNS = (
    "var_hist_95", "cvar_hist_95", "var_hist_99", "cvar_hist_99",
    "var_param_95", "cvar_param_95", "var_param_99", "cvar_param_99",
    "gross_leverage", "net_leverage", "max_weight", "hhi", "beta",
)  # fmt: skip
_GROSS, _BETA = COLUMNS.index("gross_leverage"), COLUMNS.index("beta")


def historical_var_cvar(r: FloatArray, level: float) -> tuple[float, float]:
    """Historical VaR and CVaR (positive losses) of returns ``r`` at ``level``."""
    if len(r) == 0:
        return math.nan, math.nan
    q = float(np.quantile(r, 1.0 - level))
    tail = r[r <= q]
    return -q, -float(tail.mean()) if len(tail) else -q


def gaussian_var_cvar(mu: float, sigma: float, level: float) -> tuple[float, float]:
    """Gaussian VaR and CVaR (positive losses) of a mean ``mu``, std ``sigma``."""
    z = _Z.get(level)
    if z is None:
        from scipy.stats import norm

        z = float(norm.ppf(1.0 - level))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return -(mu + z * sigma), -(mu - sigma * pdf / (1.0 - level))


def concentration(weights: FloatArray) -> tuple[float, float, float, float]:
    """(gross, net, largest |w|, HHI of the gross weights) of signed weights."""
    a = np.abs(weights)
    gross = float(a.sum())
    if gross <= 0:
        return 0.0, 0.0, 0.0, 0.0
    share = a / gross
    return gross, float(weights.sum()), float(a.max()), float((share * share).sum())


class RiskMeasures:
    """Records the measures step by step (one compiled call a step,
    ``measures_kernels.measures_step``); ``columns()`` gives them as arrays."""

    def __init__(self, window: int = 250, min_periods: int = 20, benchmark: int | None = None):
        self.window = window
        self.min_periods = min_periods
        self.benchmark = benchmark  # sid, or None for the equal-weight universe
        # returns, benchmark returns, the returns sorted (the last min(n, window) seen)
        self._ring = np.zeros((3, window))
        self._r, self._b = self._ring[0], self._ring[1]
        self._state = np.zeros(4)  # measures_kernels: PREV_EQUITY, N_RETURNS, ...
        self._state[mk.PREV_EQUITY] = math.nan
        self._params = _params(benchmark, min_periods)
        self._rows = StepRows(width=len(COLUMNS))  # one column per step, COLUMNS order

    @property
    def n_returns(self) -> int:
        """Returns seen so far (the window holds the last ``min(n, window)``)."""
        return int(self._state[mk.N_RETURNS])

    def update(self, ctx: Context) -> None:
        """Add this step's returns and record every measure."""
        rows = self._rows
        n = rows.n
        if n == rows.capacity:
            rows.grow()
        vals = rows.vals
        if mk.measures_step(
            self._state,
            self._ring,
            ctx.prices(2),
            ctx.positions,
            ctx.last_prices,
            ctx.equity,
            vals,
            n,
            self._params,
        ):  # a non-finite return in the window: numpy's NaN/inf semantics
            m = min(self.n_returns, self.window)
            mu, sigma, beta, hist = _window_measures(self._r[:m], self._b[:m])
            for k, level in enumerate(LEVELS):
                vals[2 * k, n], vals[2 * k + 1, n] = hist[k]
                vals[4 + 2 * k, n], vals[5 + 2 * k, n] = gaussian_var_cvar(mu, sigma, level)
            vals[_BETA, n] = beta
        rows.n = n + 1

    def columns(self) -> dict[str, FloatArray]:
        n = self._rows.n
        return {c: self._rows.vals[j, :n].copy() for j, c in enumerate(COLUMNS)}


def _params(benchmark: int | None, min_periods: int) -> FloatArray:
    """``measures_step``'s parameters: benchmark, min_periods, and per level the quantile
    probability, z, phi(z) and 1 - level (as ``gaussian_var_cvar`` computes them)."""
    z = [_Z[a] for a in LEVELS]
    pdf = [math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi) for x in z]
    head = [-1.0 if benchmark is None else float(benchmark), float(min_periods)]
    return np.array([*head, *_QS, *z, *pdf, *(1.0 - a for a in LEVELS)])


def _window_measures(
    r: FloatArray, b: FloatArray
) -> tuple[float, float, float, list[tuple[float, float]]]:
    """(mean, std, beta, [(VaR, CVaR) per level]) of a window of returns: one compiled
    call (bit-identical) for finite returns, the numpy expressions otherwise."""
    st = mk.window_stats(r, b, _QS)
    if len(st):
        hist = []
        for k in range(len(LEVELS)):
            q, tail = float(st[3 + 2 * k]), float(st[4 + 2 * k])
            hist.append((-q, -q if math.isnan(tail) else -tail))
        return float(st[0]), float(st[1]), float(st[2]), hist
    mu, sigma = float(r.mean()), float(r.std(ddof=1))
    var_b = float(b.var(ddof=1))
    beta = math.nan
    if var_b > 0:
        beta = float(((r - mu) * (b - b.mean())).sum() / (len(r) - 1)) / var_b
    return mu, sigma, beta, [historical_var_cvar(r, level) for level in LEVELS]
