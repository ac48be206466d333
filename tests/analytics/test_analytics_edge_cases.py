"""Numerical edge cases of the analytics: equity at or below zero in the tearsheet
tables, and capacity inputs from symbols with fewer than two bars."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphapulse.analytics.capacity import symbol_volatility
from alphapulse.analytics.metrics import simple_returns
from alphapulse.analytics.report import stats

# a short squeeze: the book loses more than its capital and keeps losing
SQUEEZE = pd.Series(
    [100.0, 50.0, -50.0, -100.0, -150.0],
    index=pd.DatetimeIndex(
        ["2020-01-15", "2020-01-31", "2020-02-28", "2020-03-31", "2020-04-30"], tz="UTC"
    ),
)


def test_returns_after_non_positive_equity_are_left_out() -> None:
    r = stats.returns(SQUEEZE)
    # 100 -> 50 -> -50 are returns; -50 -> -100 (a further loss) is not a +100% return
    assert r.tolist() == pytest.approx([-0.5, -2.0])
    assert r.tolist() == pytest.approx(simple_returns(SQUEEZE.to_numpy()).tolist())


def test_period_returns_from_non_positive_equity_are_undefined() -> None:
    monthly = stats.period_returns(SQUEEZE, "ME")
    assert monthly.iloc[:2].tolist() == pytest.approx([-0.5, -2.0])
    assert monthly.iloc[2:].isna().all()  # deeper losses never show as gains
    assert (stats.period_returns(SQUEEZE, "YE").dropna() <= 0).all()


def test_monthly_turnover_without_positive_equity_is_undefined() -> None:
    fills = pd.DataFrame(
        {"quantity": [2.0, 1.0], "price": [25.0, 10.0], "timestamp": SQUEEZE.index[[0, 3]]}
    )
    turnover = stats.monthly_turnover(fills, SQUEEZE)
    assert turnover.iloc[0] == pytest.approx(50.0 / 75.0)  # January: mean equity 75
    assert np.isnan(turnover.iloc[-1])  # March: mean equity -100, not -0.1


def test_symbol_volatility_of_short_columns_is_nan_without_warning() -> None:
    close = np.array([[10.0, np.nan, 5.0], [11.0, np.nan, np.nan], [12.1, 7.0, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vol = symbol_volatility(close)
    assert vol[0] == pytest.approx(0.0, abs=1e-15)  # two returns of 10%: no spread
    assert np.isnan(vol[1]) and np.isnan(vol[2])  # no return, one return
    two_bars = symbol_volatility(np.array([[100.0], [101.0]]))
    assert np.isnan(two_bars[0])
