"""Portfolio construction on real prices: every method's weights (signs, caps, gross,
NaN for no opinion), its defining property (equal risk contributions, maximum
diversification, ex-ante vol at the target, ...) and no look-ahead."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from alphapulse.core.errors import ConfigError
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.context import PRICES, Context, History
from alphapulse.engine.feed import forward_fill
from alphapulse.model.signals import Signals
from alphapulse.portfolio.config import METHODS, PortfolioConfig
from alphapulse.portfolio.construction import ConfidenceWeighted, EqualWeight, cap_weights
from alphapulse.portfolio.estimators import (
    BarsPerYear,
    covariance,
    ledoit_wolf,
    ledoit_wolf_constant_correlation,
    log_returns,
    simple_returns,
)
from alphapulse.portfolio.factory import build_constructor
from alphapulse.portfolio.optimizers import (
    BlackLitterman,
    FractionalKelly,
    MaxDiversification,
    MeanVariance,
    RiskParity,
)
from alphapulse.portfolio.vol_target import InverseVolatility, VolatilityTarget

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "PG", "JNJ", "WMT", "BA", "INTC"]
T = 400
LOOKBACK = 120


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SYMBOLS, end="2015-12-31", root=shared_data)


def ctx_at(panel: Panel, t: int = T, cash: float = 1e6) -> Context:
    fields = dict(panel.fields)
    fields[PRICES] = forward_fill(panel.fields["close"])
    hist = History(fields, panel.timestamps)
    hist.advance(t + 1)
    n = panel.n_symbols
    return Context(t, int(panel.timestamps[t]), panel.symbols, hist, np.zeros(n), np.zeros(n),
                   fields[PRICES][t].copy(), cash, cash)  # fmt: skip


def signals(n: int, short: bool = False) -> Signals:
    d = np.ones(n)
    d[1] = 0.0  # flat
    d[2] = np.nan  # no opinion
    if short:
        d[3] = d[5] = -1.0
    return Signals(d)


def cov_of(panel: Panel, names: np.ndarray, t: int = T, simple: bool = True) -> np.ndarray:
    px = forward_fill(panel["close"])[t - LOOKBACK : t + 1][:, names]
    return covariance(simple_returns(px) if simple else log_returns(px)) * 252


def make(method: str, **kw: Any) -> Any:
    common = {"lookback": LOOKBACK, "periods_per_year": 252.0}
    classes: dict[str, Any] = {
        "equal_weight": EqualWeight,
        "confidence": ConfidenceWeighted,
        "vol_target": VolatilityTarget,
        "inverse_vol": InverseVolatility,
        "erc": RiskParity,
        "kelly": FractionalKelly,
        "mean_variance": MeanVariance,
        "black_litterman": BlackLitterman,
        "max_diversification": MaxDiversification,
    }
    return classes[method](**common, **kw)


OPTIMISED = [m for m in METHODS if m not in ("equal_slot",)]


@pytest.mark.parametrize("method", OPTIMISED)
@pytest.mark.parametrize("short", [False, True])
def test_weights_follow_signals_and_caps(panel: Panel, method: str, short: bool) -> None:
    cons = make(method, max_weight=0.15, max_gross=0.9)
    sig = signals(panel.n_symbols, short)
    w = cons.construct(sig, ctx_at(panel)).weights
    d = sig.direction
    assert np.isnan(w[2]) and w[1] == 0.0  # no opinion kept, flat closed
    act = np.isfinite(d) & (d != 0)
    assert np.all(np.isfinite(w[act]))
    assert np.all(w[act] * d[act] >= -1e-12)  # same sign as the signal
    assert np.nanmax(np.abs(w)) <= 0.15 + 1e-9
    assert np.nansum(np.abs(w)) <= 0.9 + 1e-9
    assert np.nansum(np.abs(w)) > 0.1
    assert getattr(cons, "fallbacks", 0) == 0, getattr(cons, "last_error", "")


@pytest.mark.parametrize("method", OPTIMISED)
def test_no_lookahead(panel: Panel, method: str) -> None:
    """Weights at t are the same whatever the bars after t are."""
    from tests.risk.helpers import perturb_after

    cons_a, cons_b = make(method), make(method)
    sig = signals(panel.n_symbols, short=True)
    a = cons_a.construct(sig, ctx_at(panel)).weights
    b = cons_b.construct(sig, ctx_at(perturb_after(panel, T))).weights
    np.testing.assert_array_equal(a, b)


def test_equal_and_confidence_weights(panel: Panel) -> None:
    n = panel.n_symbols
    d = np.ones(n)
    d[:2] = [np.nan, 0.0]
    w = EqualWeight(gross=0.8).construct(Signals(d), ctx_at(panel)).weights
    assert np.allclose(w[2:], 0.8 / (n - 2))
    conf = np.linspace(0.1, 1.0, n)
    w = ConfidenceWeighted().construct(Signals(d, conf), ctx_at(panel)).weights
    assert np.allclose(w[2:], conf[2:] / conf[2:].sum())


def test_vol_target_hits_the_target_ex_ante(panel: Panel) -> None:
    n = panel.n_symbols
    for target in (0.05, 0.10):
        cons = make("vol_target", target_vol=target, max_gross=3.0)
        w = cons.construct(Signals(np.ones(n)), ctx_at(panel)).weights
        cov = cov_of(panel, np.arange(n), simple=False)
        assert math.sqrt(w @ cov @ w) == pytest.approx(target, rel=1e-3)
        assert cons.last_ex_ante_vol == pytest.approx(target, rel=1e-3)
    # per-name inverse-vol shape: w_i x vol_i is the same for every name
    px = forward_fill(panel["close"])[T - LOOKBACK : T + 1]
    vol = np.std(log_returns(px), axis=0, ddof=1)
    assert np.allclose(w * vol / (w * vol).mean(), 1.0)


def test_vol_target_caps_bind_and_atr_estimator(panel: Panel) -> None:
    n = panel.n_symbols
    capped = make("vol_target", target_vol=0.5, max_weight=0.05)
    w = capped.construct(Signals(np.ones(n)), ctx_at(panel)).weights
    assert np.allclose(w, 0.05)  # every cap binds: ex-ante vol stays below the target
    atr = make("vol_target", target_vol=0.10, estimator="atr", max_gross=3.0)
    w = atr.construct(Signals(np.ones(n)), ctx_at(panel)).weights
    cov = cov_of(panel, np.arange(n), simple=False)
    assert math.sqrt(w @ cov @ w) == pytest.approx(0.10, rel=1e-3)


def test_erc_equalises_risk_contributions(panel: Panel) -> None:
    n = panel.n_symbols
    w = make("erc").construct(Signals(np.ones(n)), ctx_at(panel)).weights
    cov = cov_of(panel, np.arange(n))
    rc = w * (cov @ w)
    assert np.allclose(rc / rc.mean(), 1.0, atol=1e-3)
    assert w.sum() == pytest.approx(1.0)


def _dr(w: np.ndarray, cov: np.ndarray) -> float:
    return float(w @ np.sqrt(np.diag(cov)) / math.sqrt(w @ cov @ w))


def test_max_diversification_beats_other_portfolios(panel: Panel) -> None:
    n = panel.n_symbols
    ctx = ctx_at(panel)
    cov = cov_of(panel, np.arange(n))
    w = make("max_diversification").construct(Signals(np.ones(n)), ctx).weights
    best = _dr(w, cov)
    assert best > _dr(np.full(n, 1 / n), cov)
    assert best >= _dr(make("inverse_vol").construct(Signals(np.ones(n)), ctx).weights, cov)
    assert best >= _dr(make("erc").construct(Signals(np.ones(n)), ctx).weights, cov) - 1e-9


def test_mean_variance_objectives(panel: Panel) -> None:
    n = panel.n_symbols
    ctx = ctx_at(panel)
    cov = cov_of(panel, np.arange(n))
    minvol = make("mean_variance", objective="min_volatility").construct(Signals(np.ones(n)), ctx)
    ew = np.full(n, 1 / n)
    assert minvol.weights @ cov @ minvol.weights <= ew @ cov @ ew
    risk = make("mean_variance", objective="efficient_risk", target_vol=0.16)
    w = risk.construct(Signals(np.ones(n)), ctx).weights
    assert math.sqrt(w @ cov @ w) <= 0.16 + 1e-4
    sharpe = make("mean_variance", objective="max_sharpe", l2_gamma=0.1)
    assert np.isclose(sharpe.construct(Signals(np.ones(n)), ctx).weights.sum(), 1.0)


def test_max_sharpe_without_a_positive_return_falls_back_to_min_vol(panel: Panel) -> None:
    n = panel.n_symbols
    ctx = ctx_at(panel)
    high_rf = make("mean_variance", objective="max_sharpe", risk_free_rate=10.0)
    minvol = make("mean_variance", objective="min_volatility")
    a = high_rf.construct(Signals(np.ones(n)), ctx).weights
    b = minvol.construct(Signals(np.ones(n)), ctx).weights
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_black_litterman_views_move_weights(panel: Panel) -> None:
    n = panel.n_symbols
    ctx = ctx_at(panel)
    base = make("black_litterman").construct(Signals(np.ones(n)), ctx).weights
    bull = make("black_litterman", views={"XOM": 0.5}).construct(Signals(np.ones(n)), ctx)
    xom = panel.symbols.index("XOM")
    assert bull.weights[xom] > base[xom]
    conf = np.full(n, 0.1)
    conf[xom] = 1.0
    sure = make("black_litterman", view_return=0.2)
    w = sure.construct(Signals(np.ones(n), conf), ctx).weights
    assert w[xom] >= np.max(np.delete(w, xom)) - 1e-9


def test_kelly_is_fraction_of_the_growth_optimal_book(panel: Panel) -> None:
    n = panel.n_symbols
    ctx = ctx_at(panel)
    half = make("kelly", fraction=0.5, max_gross=100.0).construct(Signals(np.ones(n)), ctx)
    full = make("kelly", fraction=1.0, max_gross=100.0).construct(Signals(np.ones(n)), ctx)
    np.testing.assert_allclose(half.weights * 2, full.weights)
    capped = make("kelly", fraction=1.0, max_weight=0.1).construct(Signals(np.ones(n)), ctx)
    assert np.max(np.abs(capped.weights)) <= 0.1 + 1e-12
    assert np.all(capped.weights >= 0)


def test_not_enough_history_means_no_target(panel: Panel) -> None:
    n = panel.n_symbols
    w = make("vol_target").construct(Signals(np.ones(n)), ctx_at(panel, t=10)).weights
    assert np.all(np.isnan(w))


def test_cap_weights() -> None:
    w = cap_weights(np.array([0.5, -0.4, np.nan, 0.1]), 0.3, 0.5)
    assert np.isnan(w[2])
    assert np.nansum(np.abs(w)) == pytest.approx(0.5)
    assert np.nanmax(np.abs(w)) <= 0.3


def test_ledoit_wolf_matches_pyportfolioopt_and_sklearn(panel: Panel) -> None:
    """Our numpy estimators are PyPortfolioOpt's CovarianceShrinkage (whose constructor
    alone costs ~50 ms, too slow to call at every bar)."""
    pytest.importorskip("sklearn")
    import pandas as pd
    from pypfopt.risk_models import CovarianceShrinkage

    px = forward_fill(panel["close"])[T - LOOKBACK : T + 1]
    r = simple_returns(px)
    cs = CovarianceShrinkage(pd.DataFrame(r), returns_data=True, frequency=1)
    cc = cs.ledoit_wolf("constant_correlation").to_numpy()
    np.testing.assert_allclose(ledoit_wolf_constant_correlation(r), cc, rtol=1e-9, atol=1e-15)
    ident = cs.ledoit_wolf("constant_variance").to_numpy()
    np.testing.assert_allclose(ledoit_wolf(r), ident, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(covariance(r, "none"), np.cov(r, rowvar=False))


def test_bars_per_year_is_not_fixed_from_the_first_day() -> None:
    """Hourly bars around the clock: 30 bars are not a day, so the estimate is taken
    again at each new date until eight dates (a weekend) are seen; a constructor kept through the
    run then annualises as a fresh one would (it kept the first day's figure)."""
    n = 24 * 10
    ts = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC").as_unit("ns").asi8
    close = np.linspace(100.0, 110.0, n)[:, None]
    hist = History({"close": close, PRICES: close}, np.asarray(ts, np.int64))
    kept = BarsPerYear()

    def ctx_at(t: int) -> Context:
        hist.advance(t + 1)
        return Context(t, int(ts[t]), ("S0",), hist, np.zeros(1), np.zeros(1), close[t], 1e6, 1e6)

    seen = [kept(ctx_at(t)) for t in range(n)]
    assert seen[-1] == BarsPerYear()(ctx_at(n - 1)) == 24 * 365
    assert seen[29] != seen[-1]  # the first day's partial count: an estimate, not kept


@pytest.mark.parametrize("symbol", ["TPL", "ERIE"])
def test_sparse_minutes_are_annualised_on_the_bars_present(shared_data: Path, symbol: str) -> None:
    """Real 1-minute bars of 2024 that exist only for minutes with trades (about 70 a
    day of 390): bars per year is the mean count per whole New York trading day x 252,
    so a name's annualised volatility over the year is close to that of its daily
    closes. The nominal 390 x 252 bars overstated it 2.5x (and vol_target sized the
    book as much too small)."""
    minutes = load_panel("intraday_1min_2024", [symbol], root=shared_data)
    t = len(minutes.timestamps) - 1
    ctx = ctx_at(minutes, t)
    utc = pd.DatetimeIndex(pd.to_datetime(minutes.timestamps, unit="ns", utc=True))
    per_day = utc.tz_convert("America/New_York").normalize().value_counts().sort_index()
    cons = VolatilityTarget(lookback=t)
    ppy = cons.bars_per_year(ctx)
    assert ppy == pytest.approx(per_day.iloc[1:-1].mean() * 252, rel=1e-12)
    act = np.array([0])
    rets, _ = cons.trailing_returns(ctx, act)
    closes = pd.Series(minutes["close"][:, 0], index=utc).resample("1D").last().dropna()
    realised = float(np.std(np.diff(np.log(closes.to_numpy())), ddof=1)) * math.sqrt(252)
    assert cons.vols(ctx, act, rets, ppy)[0] == pytest.approx(realised, rel=0.2)


@pytest.mark.parametrize("method", ["erc", "max_diversification", "mean_variance", "kelly"])
def test_a_name_whose_price_did_not_move_gets_no_weight(panel: Panel, method: str) -> None:
    """A flat price over the lookback (a halted or stale name) has zero variance: no
    target, not the solver's bound (ERC gave it 99.9% of the book)."""
    fields = {k: v.copy() for k, v in panel.fields.items()}
    fields["close"][T - LOOKBACK - 5 :, 4] = 50.0
    flat = Panel(panel.timestamps, panel.symbols, fields)
    w = make(method).construct(Signals(np.ones(panel.n_symbols)), ctx_at(flat)).weights
    assert np.isnan(w[4]) and np.isfinite(np.delete(w, 4)).all()


@pytest.mark.parametrize(
    ("portfolio", "message"),
    [
        ({"method": "equal_slot", "max_weight": 0.1}, "max_weight"),
        ({"method": "erc", "lookback": 60, "min_history": 100}, "min_history 100 > lookback 60"),
        (
            {"method": "erc", "rebalance": {"every": 5, "calendar": "M"}},
            "every or calendar, not both",
        ),
    ],
    ids=["equal_slot_cap", "min_history", "every_and_calendar"],
)
def test_settings_that_would_be_ignored_are_refused(portfolio: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(PortfolioConfig).validate_python(portfolio)


def test_black_litterman_views_name_symbols() -> None:
    cfg = TypeAdapter(PortfolioConfig).validate_python(
        {"method": "black_litterman", "views": {"ZZZZ": 0.2}}
    )
    with pytest.raises(ConfigError, match="views: ZZZZ not among the symbols"):
        build_constructor(cfg, ("AAPL", "MSFT"))


UNSIZABLE_FLAT = ["vol_target", "inverse_vol", "erc", "kelly", "mean_variance",
                  "black_litterman", "max_diversification"]  # fmt: skip


@pytest.mark.parametrize("method", UNSIZABLE_FLAT)
def test_a_held_name_that_cannot_be_sized_uses_the_gross_budget(method: str) -> None:
    """A held name whose price did not move gets no target (it keeps its holding), so
    the holding counts against ``gross`` as a no-opinion one does: the book stays at
    gross 1, not 1 + the holding (the other names got the whole budget)."""
    rng = np.random.default_rng(7)
    n = 200
    close = np.column_stack(
        [
            np.full(n, 40.0),  # halted: flat, held at half the equity
            100 * np.exp(np.cumsum(rng.normal(0.001, 0.01, n))),
            50 * np.exp(np.cumsum(rng.normal(0.002, 0.02, n))),
        ]
    )
    hist = History({"close": close, PRICES: close}, np.arange(n, dtype=np.int64))
    hist.advance(n)
    equity = 1e6
    pos = np.array([0.5 * equity / 40.0, 0.0, 0.0])
    ctx = Context(n - 1, n - 1, ("A", "B", "C"), hist, pos, np.array([40.0, 0.0, 0.0]),
                  close[-1].copy(), 0.5 * equity, equity)  # fmt: skip
    kw = {"target_vol": 1.0} if method == "vol_target" else {}
    w = make(method, **kw).construct(Signals(np.ones(3)), ctx).weights
    assert np.isnan(w[0]) and np.isfinite(w[1:]).all()
    assert 0.5 + np.abs(w[1:]).sum() <= 1.0 + 1e-9
    if method not in ("vol_target", "kelly"):  # these size by risk, not by the budget
        assert np.abs(w[1:]).sum() == pytest.approx(0.5)
