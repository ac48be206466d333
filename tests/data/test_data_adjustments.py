"""Back-adjustment for splits and dividends, and protection against adjusting twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.core.errors import DataError
from alphapulse.data.adjustments import back_adjust, dividend_factors, is_adjusted, split_factors
from alphapulse.data.catalog import load_frames


def _frame(close: list[float], split: list[float], dividend: list[float]) -> pd.DataFrame:
    idx = pd.date_range("2024-01-01", periods=len(close), tz="UTC", name="timestamp")
    c = np.asarray(close)
    return pd.DataFrame(
        {"open": c, "high": c, "low": c, "close": c, "volume": 100.0, "dividend": dividend,
         "split": split}, index=idx,
    )  # fmt: skip


def test_factors() -> None:
    assert split_factors(np.array([1.0, 2.0, 1.0, 3.0, np.nan])).tolist() == [6, 3, 3, 1, 1]
    f = dividend_factors(np.array([0.0, 0.0, 1.0, 0.0]), np.array([10.0, 10.0, 9.0, 9.0]))
    assert f.tolist() == pytest.approx([0.9, 0.9, 1.0, 1.0])


def test_split_and_dividend_synthetic() -> None:
    df = _frame([100, 100, 50, 48, 50], [1, 1, 2, 1, 1], [0, 0, 0, 2, 0])
    adj = back_adjust(df)
    # dividend 2 on day 4 with previous close 50 -> factor 0.96 before it; split 2 on day 3
    assert adj["close"].tolist() == pytest.approx([48, 48, 48, 48, 50])
    assert adj["volume"].tolist() == [200, 200, 100, 100, 100]
    assert adj["adj_factor"].tolist() == pytest.approx([0.48, 0.48, 0.96, 1, 1])
    assert df["close"].tolist() == [100, 100, 50, 48, 50]  # input untouched
    assert adj.attrs["adjusted"] and is_adjusted(adj)


def test_never_twice() -> None:
    adj = back_adjust(_frame([100, 50], [1, 2], [0, 0]))
    again = back_adjust(adj)
    pd.testing.assert_frame_equal(again, adj)
    assert "already adjusted" in again.attrs["adjustment_notes"][-1]
    with pytest.raises(DataError, match="already"):
        back_adjust(adj, if_adjusted="raise")


def test_bad_dividend_raises() -> None:
    with pytest.raises(DataError, match="dividend"):
        back_adjust(_frame([1, 1], [1, 1], [0, 5]))


def test_alpha_vantage_matches_adjusted_close(data_root: Path) -> None:
    frames = load_frames(
        "daily_adjusted_with_actions_1999_2020", ["AAPL", "MSFT", "SPY"], root=data_root
    )
    aapl = frames["AAPL"]
    adj = back_adjust(aapl)
    rel = (adj["close"] / aapl["adj_close"] - 1).abs()
    assert rel.max() < 1e-3
    before, after = adj.loc["2020-08-28", "close"], adj.loc["2020-08-31", "close"]
    assert aapl.loc["2020-08-28", "close"] / aapl.loc["2020-08-31", "close"] > 3.5  # raw jump
    file_ratio = aapl.loc["2020-08-28", "adj_close"] / aapl.loc["2020-08-31", "adj_close"]
    assert before / after == pytest.approx(file_ratio, rel=1e-4)
    assert adj.loc["2020-08-28", "volume"] == 4 * aapl.loc["2020-08-28", "volume"]
    for sym in ("MSFT", "SPY"):
        a = back_adjust(frames[sym])
        assert ((a["close"] / frames[sym]["adj_close"] - 1).abs().max()) < 5e-3, sym


def test_zipline_csvdir_not_split_twice(data_root: Path) -> None:
    aapl = load_frames("zipline_samples_with_actions", ["AAPL"], root=data_root)["AAPL"]
    adj = back_adjust(aapl)
    assert (adj["split_factor"] == 1).all()
    assert any("not applied again" in n for n in adj.attrs["adjustment_notes"])
    jump = adj.loc["2014-06-06", "close"] / adj.loc["2014-06-09", "close"]
    assert 0.95 < jump < 1.05  # continuous across the split; no second division by 7
    assert adj["adj_factor"].iloc[0] < 1  # dividends still applied


def test_quandl_unadjusted_sample(data_root: Path) -> None:
    aapl = load_frames("zipline_quandl_sample", ["AAPL"], root=data_root)["AAPL"]
    adj = back_adjust(aapl)
    assert adj.loc["2014-06-06", "close"] == pytest.approx(
        aapl.loc["2014-06-06", "close"] / 7, rel=0.01
    )
    # Quandl's adj_close is adjusted as of a later date: same shape up to a constant factor
    ratio = adj["close"] / aapl["adj_close"]
    assert ratio.std() / ratio.mean() < 1e-3


@pytest.mark.parametrize(("split", "dividend"), [([1, -2], [0, 0]), ([1, 1], [0, -1])])
def test_negative_actions_raise_naming_the_bar(split: list[float], dividend: list[float]) -> None:
    with pytest.raises(DataError, match=r"on 2024-01-02 00:00:00\+00:00 must be finite and >= 0"):
        back_adjust(_frame([10, 10], split, dividend))


@pytest.mark.parametrize(
    ("close", "split", "dividend", "kwargs", "attrs", "factor", "adj_close"),
    [
        # 2:1 split and 1.00 per post-split share on day 2: 1 - 1 / (100 / 2) = 0.98, then
        # / 2 for the split (the pre-split close would give 0.99: 49.5)
        ([100, 50, 51], [1, 2, 1], [0, 1, 0], {}, {}, [0.49, 1, 1], [49, 50, 51]),
        # 1:4 reverse split and 2.00 on day 2: 1 - 2 / (10 / 0.25) = 0.95; / 0.25 -> 3.8
        ([10, 40, 40], [1, 0.25, 1], [0, 2, 0], {}, {}, [3.8, 1, 1], [38, 40, 40]),
        # dividends only: the raw pre-split close is still in the pre-split basis
        ([100, 50, 51], [1, 2, 1], [0, 1, 0], {"splits": False}, {}, [0.98, 1, 1], [98, 50, 51]),
        # prices that already reflect the split (yfinance, zipline csvdir): 1 - 1 / 50
        ([50, 50, 51], [0, 2, 0], [0, 1, 0], {}, {"splits_applied": True}, [0.98, 1, 1],
         [49, 50, 51]),
        # a split on the row before the dividend: no share-basis change at the ex-date
        ([100, 50, 50], [1, 2, 1], [0, 0, 1], {}, {}, [0.49, 0.98, 1], [49, 49, 50]),
    ],
)  # fmt: skip
def test_dividend_on_a_split_day_uses_the_post_split_previous_close(
    close: list[float],
    split: list[float],
    dividend: list[float],
    kwargs: dict[str, bool],
    attrs: dict[str, bool],
    factor: list[float],
    adj_close: list[float],
) -> None:
    frame = _frame(close, split, dividend)
    frame.attrs.update(attrs)
    adj = back_adjust(frame, **kwargs)
    assert adj["adj_factor"].tolist() == pytest.approx(factor, rel=1e-12)
    assert adj["close"].tolist() == pytest.approx(adj_close, rel=1e-12)


def test_dividend_above_the_post_split_previous_close_raises() -> None:
    # 30 < 100 but 1 - 30 / (100 / 4) < 0: the factor would flip earlier prices' sign
    with pytest.raises(DataError, match=r"dividend 30.0 on row 1 .* 25.0 \(100.0 / split 4.0\)"):
        back_adjust(_frame([100, 25], [1, 4], [0, 30]))
