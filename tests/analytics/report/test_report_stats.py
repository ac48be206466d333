"""Tearsheet tables: drawdown periods, period returns, streaks, excursions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.analytics.report import stats

IDX = pd.date_range("2020-01-01", periods=8, freq="D", tz="UTC")


def test_worst_drawdowns_table() -> None:
    eq = pd.Series([100, 90, 100, 120, 60, 80, 130, 125.0], index=IDX)
    dd = stats.worst_drawdowns(eq, 2)
    assert dd["depth"].tolist() == pytest.approx([-0.5, -0.1])
    first = dd.iloc[0]
    assert (first["peak"], first["trough"], first["recovery"]) == (IDX[3], IDX[4], IDX[6])
    assert first["days"] == 3.0
    assert stats.worst_drawdowns(eq, 5)["recovery"].isna().sum() == 1  # 130 -> 125 open


def test_streaks_and_period_returns() -> None:
    assert stats.streaks(pd.Series([1.0, 2, -1, -1, -1, 0, 3, 4, 5, 6])) == (4, 3)
    eq = pd.Series(
        [100.0, 110, 121],
        index=pd.DatetimeIndex(["2020-01-31", "2020-02-29", "2020-03-31"], tz="UTC"),
    )
    assert stats.period_returns(eq, "ME").tolist() == pytest.approx([0.0, 0.1, 0.1])
    table = stats.monthly_table(eq)
    assert table.loc[2020, 3] == pytest.approx(0.1) and np.isnan(table.loc[2020, 4])


def _naive(trades: pd.DataFrame, prices: dict[str, pd.DataFrame]) -> list[tuple[float, float]]:
    out = []
    for t in trades.to_dict("records"):
        w = prices[t["symbol"]].loc[t["entry_time"] : t["exit_time"]]
        s = 1.0 if t["side"] == "long" else -1.0
        lo, hi = w["low"].min(), w["high"].max()
        worst, best = (lo, hi) if s > 0 else (hi, lo)
        out.append((s * (worst / t["entry_price"] - 1), s * (best / t["entry_price"] - 1)))
    return out


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 39), st.integers(0, 10), st.booleans()), min_size=1, max_size=30
    )
)
def test_excursions_match_a_direct_loop(spans: list[tuple[int, int, bool]]) -> None:
    idx = pd.date_range("2021-01-01", periods=50, freq="D", tz="UTC")
    rng = np.random.default_rng(len(spans))
    close = 100 * np.cumprod(1 + rng.normal(0, 0.02, 50))
    bars = pd.DataFrame({"low": close * 0.98, "high": close * 1.02}, index=idx)
    trades = pd.DataFrame(
        [
            {"symbol": "A", "side": "long" if up else "short", "entry_time": idx[a],
             "exit_time": idx[a + n], "entry_price": close[a], "pnl": 1.0}
            for a, n, up in spans
        ]
    )  # fmt: skip
    got = stats.excursions(trades, {"A": bars})
    assert np.allclose(got[["mae", "mfe"]].to_numpy(), np.array(_naive(trades, {"A": bars})))
    assert (got["mae"] <= 0.03).all() and (got["mfe"] >= -0.03).all()


def test_monthly_costs_sum_fees_and_slippage_per_month() -> None:
    ts = pd.to_datetime(["2020-01-05", "2020-01-20", "2020-02-03"], utc=True)
    fills = pd.DataFrame({"timestamp": ts, "fee": [1.0, 2.0, 4.0], "slippage": [0.5, 0.25, 3.0]})
    costs = stats.monthly_costs(fills)
    assert costs["fees"].tolist() == [3.0, 4.0]
    assert costs["slippage"].tolist() == [0.75, 3.0]  # not lost to index alignment
    assert stats.monthly_costs(fills.drop(columns="slippage"))["slippage"].tolist() == [0.0, 0.0]
