"""compute_metrics against quantstats (real AAPL data and generated returns) and edge cases."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alphapulse.analytics import (
    METRIC_KEYS,
    compute_metrics,
    open_positions,
    periods_per_year,
    round_trips,
    traded_notional,
)
from alphapulse.analytics.drawdown import drawdown
from alphapulse.model.orders import Fill, Side

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import quantstats as qs

REL = 1e-9
NO_TRADES = pd.DataFrame()
NS_PER_YEAR = 365.25 * 86_400e9


def q(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Call quantstats quietly and return a float."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(*args, **kwargs))


def same(ours: float | int | None, theirs: float) -> None:
    """``ours`` matches quantstats to REL, or is None where quantstats gives NaN/inf."""
    if not math.isfinite(theirs):
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, rel=REL, abs=1e-12)


def calendar_years(equity: pd.Series) -> float:
    index = pd.DatetimeIndex(equity.index)
    return float(index[-1].value - index[0].value) / NS_PER_YEAR


def check_against_quantstats(equity: pd.Series, ppy: float, rf: float) -> dict[str, Any]:
    """Compare every return-based metric with quantstats on the equity's returns."""
    m = compute_metrics(equity, NO_TRADES, periods_per_year=ppy, risk_free=rf)
    rets = equity.pct_change().iloc[1:]
    same(m["total_return"], q(qs.stats.comp, rets))
    same(m["volatility"], q(qs.stats.volatility, rets, periods=ppy))
    same(m["sharpe"], q(qs.stats.sharpe, rets, rf=rf, periods=ppy))
    same(m["sortino"], q(qs.stats.sortino, rets, rf=rf, periods=ppy))
    same(m["max_drawdown"], q(qs.stats.max_drawdown, rets))
    # quantstats counts years as len(returns) / periods; give it the calendar rate instead
    calendar_ppy = len(rets) / calendar_years(equity)
    same(m["cagr"], q(qs.stats.cagr, rets, periods=calendar_ppy))
    if m["max_drawdown"] != 0.0:
        same(m["calmar"], q(qs.stats.calmar, rets, periods=calendar_ppy))
    assert m["final_equity"] == equity.iloc[-1]
    return m


# ---------------------------------------------------------------- real data (AAPL)


def sma_strategy(close: pd.Series) -> tuple[pd.Series, list[Fill], pd.Series]:
    """Long 500 shares while SMA20 > SMA50, filled at the close with a 0.1% fee."""
    signal = (close.rolling(20).mean() > close.rolling(50).mean()).astype(float)
    target = 500.0 * signal
    trade = target.diff().fillna(target.iloc[0])
    fee = 0.001 * (trade.abs() * close)
    cash = 100_000.0 - (trade * close + fee).cumsum()
    equity = cash + target * close
    ts_ns = pd.DatetimeIndex(close.index).tz_localize("UTC").as_unit("ns").asi8
    fills = [
        Fill(i, "AAPL", 0, Side.BUY if trade.iloc[i] > 0 else Side.SELL, abs(trade.iloc[i]),
             float(close.iloc[i]), float(fee.iloc[i]), int(ts_ns[i]), i)
        for i in map(int, np.flatnonzero(trade.to_numpy() != 0))
    ]  # fmt: skip
    return equity, fills, target * close


def test_aapl_strategy_matches_quantstats(aapl_close: pd.Series) -> None:
    equity, fills, exposure = sma_strategy(aapl_close)
    trades = round_trips(fills)
    notional = traded_notional(fills)
    m = compute_metrics(
        equity, trades, turnover_notional=notional, exposure=exposure, risk_free=0.01
    )
    assert m == check_against_quantstats(equity, 252.0, 0.01) | {
        k: m[k] for k in ("n_trades", "win_rate", "avg_win", "avg_loss", "profit_factor",
                          "expectancy", "turnover", "exposure")
    }  # fmt: skip
    assert m["n_trades"] == len(trades) > 10
    pnl = trades["pnl"]
    same(m["win_rate"], q(qs.stats.win_rate, pnl, prepare_returns=False))
    same(m["avg_win"], q(qs.stats.avg_win, pnl, prepare_returns=False))
    same(m["avg_loss"], q(qs.stats.avg_loss, pnl, prepare_returns=False))
    same(m["profit_factor"], q(qs.stats.profit_factor, pnl, prepare_returns=False))
    assert m["expectancy"] == pytest.approx(pnl.mean(), rel=REL)
    # flat at the end, so the realised pnl explains the whole equity change
    assert open_positions(fills).empty
    assert pnl.sum() == pytest.approx(equity.iloc[-1] - equity.iloc[0], rel=1e-9)
    years = calendar_years(equity)
    assert m["turnover"] == pytest.approx(notional / equity.mean() / years, rel=REL)
    assert m["exposure"] == pytest.approx((exposure / equity).mean(), rel=REL)
    assert m["exposure"] is not None and 0.0 < m["exposure"] < 1.0


@pytest.mark.parametrize(("leverage", "rf"), [(1.0, 0.0), (0.6, 0.02), (-0.5, 0.0)])
def test_aapl_equity_matches_quantstats(aapl_close: pd.Series, leverage: float, rf: float) -> None:
    returns = aapl_close.pct_change().fillna(0.0) * leverage
    equity = 1e5 * (1.0 + returns).cumprod()
    m = check_against_quantstats(equity, 252.0, rf)
    # inferred frequency is 252 for daily equities
    assert compute_metrics(equity, NO_TRADES, risk_free=rf) == m
    # quantstats' own CAGR (years = 1258 bars / 252) is close to the calendar one
    rets = equity.pct_change().iloc[1:]
    assert m["cagr"] == pytest.approx(q(qs.stats.cagr, rets, periods=252), rel=2e-3)


def test_aapl_drawdown_matches_quantstats(aapl_close: pd.Series) -> None:
    equity = 1e5 * aapl_close / aapl_close.iloc[0]
    rets = equity.pct_change().iloc[1:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = qs.stats.to_drawdown_series(rets)
        details = qs.stats.drawdown_details(series)
    ours = drawdown(equity.to_numpy())
    np.testing.assert_allclose(ours[1:], series.to_numpy(), rtol=REL, atol=1e-12)
    # quantstats: first day under water .. last day under water, +1; ours: peak .. recovery
    index = pd.DatetimeIndex(equity.index)
    start = index.get_indexer(pd.to_datetime(details["start"])) - 1
    end = np.minimum(index.get_indexer(pd.to_datetime(details["end"])) + 1, len(index) - 1)
    m = compute_metrics(equity, NO_TRADES)
    assert m["max_drawdown_duration_bars"] == int((end - start).max())
    assert m["max_drawdown_duration_days"] == float((index[end] - index[start]).days.max())


# ---------------------------------------------------------------- generated returns

# returns are 0 or at least 1e-6 in size: below floating-point noise (1e-14) we report
# None where quantstats divides by the noise (see test_noise_level_downside_is_zero)
returns_lists = st.lists(
    st.one_of(st.just(0.0), st.floats(1e-6, 0.3), st.floats(-0.3, -1e-6)),
    min_size=3,
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(
    returns_lists,
    st.sampled_from([252.0, 365.0, 8760.0, 98280.0, 12.0]),
    st.sampled_from([0.0, 0.03]),
)
def test_generated_returns_match_quantstats(returns: list[float], ppy: float, rf: float) -> None:
    r = np.asarray(returns)
    assume(np.std(r) > 1e-9)
    index = pd.bdate_range("2015-01-01", periods=len(r) + 1)
    equity = pd.Series(1e4 * np.cumprod(np.concatenate(([1.0], 1.0 + r))), index=index)
    check_against_quantstats(equity, ppy, rf)


pnl_lists = st.lists(
    st.one_of(st.just(0.0), st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(pnl_lists)
def test_generated_trade_stats_match_quantstats(pnl_values: list[float]) -> None:
    pnl = pd.Series(pnl_values, index=pd.bdate_range("2020-01-01", periods=len(pnl_values)))
    equity = pd.Series([1.0, 1.0], index=pd.bdate_range("2020-01-01", periods=2))
    m = compute_metrics(equity, pd.DataFrame({"pnl": pnl.to_numpy()}))
    assert m["n_trades"] == len(pnl)
    decided = bool((pnl != 0).any())
    if decided:
        same(m["win_rate"], q(qs.stats.win_rate, pnl, prepare_returns=False))
    else:
        assert m["win_rate"] is None
    same(m["avg_win"], q(qs.stats.avg_win, pnl, prepare_returns=False))
    same(m["avg_loss"], q(qs.stats.avg_loss, pnl, prepare_returns=False))
    if (pnl < 0).any():
        same(m["profit_factor"], q(qs.stats.profit_factor, pnl, prepare_returns=False))
    else:
        assert m["profit_factor"] is None
    assert m["expectancy"] == pytest.approx(pnl.mean(), rel=REL, abs=1e-9)


def test_trade_stats_count_positions_not_their_fragments() -> None:
    """Rows of one position (``trades.position``) count as one trade: a position won
    +10 over two rows (+12, -2) and another lost -5: one win, one loss."""
    trades = pd.DataFrame(
        {"symbol": ["A", "A", "A"], "position": [1, 1, 2], "pnl": [12.0, -2.0, -5.0]}
    )
    equity = pd.Series([1.0, 1.0], index=pd.bdate_range("2020-01-01", periods=2))
    m = compute_metrics(equity, trades)
    assert (m["n_trades"], m["win_rate"]) == (2, 0.5)
    assert (m["avg_win"], m["avg_loss"], m["expectancy"]) == (10.0, -5.0, 2.5)
    assert m["profit_factor"] == 2.0


# ---------------------------------------------------------------- edge cases


def daily(values: list[float], start: str = "2024-01-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"))


def assert_json_clean(m: dict[str, float | int | None]) -> None:
    assert tuple(m) == METRIC_KEYS
    assert all(v is None or type(v) in (int, float) for v in m.values())
    assert all(v is None or math.isfinite(v) for v in m.values())
    json.dumps(m, allow_nan=False)


def test_flat_equity() -> None:
    m = compute_metrics(daily([100.0] * 30), NO_TRADES)
    assert_json_clean(m)
    assert m["sharpe"] is None and m["sortino"] is None and m["calmar"] is None
    assert m["volatility"] == 0.0 and m["max_drawdown"] == 0.0
    assert m["total_return"] == 0.0 and m["cagr"] == 0.0
    assert m["n_trades"] == 0 and m["win_rate"] is None and m["expectancy"] is None
    assert m["exposure"] is None and m["turnover"] == 0.0


def test_constant_growth_has_no_sharpe() -> None:
    m = compute_metrics(daily(list(100.0 * 1.001 ** np.arange(50.0))), NO_TRADES)
    assert m["sharpe"] is None and m["sortino"] is None  # zero spread up to rounding
    assert m["volatility"] == pytest.approx(0.0, abs=1e-12)


def test_noise_level_downside_is_zero() -> None:
    equity = daily(list(1e4 * np.cumprod([1.0, 1.0, 1.25, 1.0 - 2.220446049250313e-16])))
    rets = equity.pct_change().iloc[1:]
    assert q(qs.stats.sortino, rets) > 1e15  # quantstats divides by rounding noise
    assert compute_metrics(equity, NO_TRADES)["sortino"] is None


def test_single_bar() -> None:
    m = compute_metrics(daily([250.0]), NO_TRADES)
    assert_json_clean(m)
    assert m["total_return"] == 0.0 and m["final_equity"] == 250.0
    assert m["cagr"] is None and m["volatility"] is None and m["sharpe"] is None
    assert m["max_drawdown"] == 0.0 and m["max_drawdown_duration_bars"] == 0


def test_trade_statistics_by_hand() -> None:
    trades = pd.DataFrame({"pnl": [10.0, -5.0, 0.0, 20.0, -15.0]})
    m = compute_metrics(daily([1.0, 1.1, 1.0]), trades)
    assert m["n_trades"] == 5 and m["win_rate"] == 0.5  # the breakeven trade is left out
    assert m["avg_win"] == 15.0 and m["avg_loss"] == -10.0
    assert m["profit_factor"] == 1.5 and m["expectancy"] == 2.0
    winners = compute_metrics(daily([1.0, 1.1]), pd.DataFrame({"pnl": [1.0, 2.0]}))
    assert winners["profit_factor"] is None and winners["avg_loss"] is None
    assert winners["win_rate"] == 1.0
    assert_json_clean(winners)


def test_turnover_and_exposure_by_hand() -> None:
    equity = pd.Series(
        [100.0, 200.0, 100.0],
        index=pd.DatetimeIndex(["2020-01-01", "2020-07-01", "2021-01-01"], tz="UTC"),
    )
    exposure = pd.Series(
        [50.0, -100.0], index=pd.DatetimeIndex(["2020-01-01", "2020-06-01"])
    )  # naive = UTC; at 2020-07-01 the last value is -100, at 2021-01-01 too
    m = compute_metrics(equity, NO_TRADES, turnover_notional=800.0, exposure=exposure)
    years = 366 / 365.25
    assert m["turnover"] == pytest.approx(800.0 / (400.0 / 3) / years, rel=REL)
    assert m["exposure"] == pytest.approx((0.5 + 0.5 + 1.0) / 3, rel=REL)
    assert m["cagr"] == pytest.approx(0.0, abs=1e-15)
    late = pd.Series([10.0], index=pd.DatetimeIndex(["2020-03-01"], tz="UTC"))
    m = compute_metrics(equity, NO_TRADES, exposure=late)  # flat before its first value
    assert m["exposure"] == pytest.approx((0.0 + 0.05 + 0.1) / 3, rel=REL)


def test_timezone_does_not_matter_and_frequency_is_inferred() -> None:
    naive = daily([100.0, 101.0, 99.0, 103.0, 102.0, 104.0, 103.5] * 3)
    aware = naive.tz_localize("UTC").tz_convert("Asia/Tokyo")
    assert compute_metrics(naive, NO_TRADES) == compute_metrics(aware, NO_TRADES)
    ppy = periods_per_year(pd.DatetimeIndex(naive.index))
    assert ppy == 365.0
    assert compute_metrics(naive, NO_TRADES) == compute_metrics(
        naive, NO_TRADES, periods_per_year=365.0
    )


def test_invalid_input() -> None:
    with pytest.raises(ValueError):
        compute_metrics(daily([1.0, float("nan"), 2.0]), NO_TRADES)
    with pytest.raises(ValueError):
        compute_metrics(daily([]), NO_TRADES)
    with pytest.raises(TypeError):
        compute_metrics(pd.Series([1.0, 2.0]), NO_TRADES)
    with pytest.raises(ValueError):
        compute_metrics(daily([1.0, 2.0]).iloc[::-1], NO_TRADES)
    with pytest.raises(ValueError):
        compute_metrics(daily([1.0, 2.0]), NO_TRADES, periods_per_year=0.0)
