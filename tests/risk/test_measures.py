"""Risk measures: VaR/CVaR (historical and Gaussian), beta, exposure and concentration,
recomputed independently from the run's equity curve and the panel's prices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from alphapulse.data.panel import Panel
from alphapulse.engine.feed import forward_fill
from alphapulse.risk.measures import (
    COLUMNS,
    concentration,
    gaussian_var_cvar,
    historical_var_cvar,
)
from tests.risk.helpers import NO_GUARDS, RANDOM, config, run


def test_historical_var_cvar_on_known_returns() -> None:
    r = np.arange(-50, 50) / 1000.0  # -5% .. +4.9%, 100 returns
    var, cvar = historical_var_cvar(r, 0.95)
    q = np.quantile(r, 0.05)
    assert var == pytest.approx(-q)
    assert cvar == pytest.approx(-r[r <= q].mean())
    assert cvar >= var


def test_gaussian_var_cvar_matches_scipy() -> None:
    for level in (0.95, 0.99):
        var, cvar = gaussian_var_cvar(0.001, 0.02, level)
        assert var == pytest.approx(-norm.ppf(1 - level, 0.001, 0.02))
        assert cvar == pytest.approx(-norm.expect(lambda x: x, loc=0.001, scale=0.02,
                                                  ub=norm.ppf(1 - level, 0.001, 0.02))
                                     / (1 - level), rel=1e-6)  # fmt: skip


def test_concentration() -> None:
    assert concentration(np.array([0.25, 0.25, 0.25, 0.25])) == pytest.approx((1, 1, 0.25, 0.25))
    gross, net, largest, hhi = concentration(np.array([0.5, -0.3, 0.0]))
    assert (gross, net, largest) == pytest.approx((0.8, 0.2, 0.5))
    assert hhi == pytest.approx((0.5 / 0.8) ** 2 + (0.3 / 0.8) ** 2)
    assert concentration(np.zeros(3)) == (0, 0, 0, 0)


@pytest.mark.parametrize("benchmark", [None, "KO"])
def test_measures_in_a_run_match_an_independent_computation(
    sp6: Panel, benchmark: str | None
) -> None:
    window = 60
    cfg = config(
        sp6,
        RANDOM,
        {"seed": 3, "p_trade": 0.3},
        risk={
            "guards": NO_GUARDS,
            "measures": {"window": window, "min_periods": 20, "benchmark": benchmark},
        },
    )
    r = run(sp6, cfg)
    assert set(COLUMNS) <= set(r.extra)
    eq = r.equity
    ret = eq[1:] / eq[:-1] - 1.0
    px = forward_fill(sp6["close"])
    rel = px[1:] / px[:-1] - 1.0
    bench = np.nanmean(rel, axis=1) if benchmark is None else rel[:, sp6.symbols.index(benchmark)]
    for t in (25, 100, 300, len(eq) - 1):
        rr = ret[max(0, t - window) : t]
        bb = bench[max(0, t - window) : t]
        var, cvar = historical_var_cvar(rr, 0.99)
        assert r.extra["var_hist_99"][t] == pytest.approx(var, rel=1e-9)
        assert r.extra["cvar_hist_99"][t] == pytest.approx(cvar, rel=1e-9)
        pv, pc = gaussian_var_cvar(rr.mean(), rr.std(ddof=1), 0.95)
        assert r.extra["var_param_95"][t] == pytest.approx(pv, rel=1e-9)
        assert r.extra["cvar_param_95"][t] == pytest.approx(pc, rel=1e-9)
        beta = np.polyfit(bb, rr, 1)[0]
        assert r.extra["beta"][t] == pytest.approx(beta, rel=1e-6)
        assert r.extra["gross_leverage"][t] == pytest.approx(r.gross_exposure[t] / eq[t])
    assert np.all(np.isnan(r.extra["var_hist_95"][:20]))  # fewer than min_periods returns
