"""Properties of back-adjustment, and the store import that must not mix price bases.

Back-adjustment needs later actions by construction: the factor of a bar is the product of
every split and dividend after it. What stays causal is the shape: adjusting only the bars
up to T gives the same bars up to T times one constant, so returns before T never depend on
actions after T. Storing adjusted bars in pieces would break that, so the import refuses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.core.errors import DataError
from alphapulse.data.adjustments import back_adjust
from alphapulse.data.importer import import_source
from alphapulse.store import Store, open_store
from alphapulse.store.conflicts import OnConflict

RATIOS = [0.0, 1.0, np.nan, 2.0, 0.5, 3.0, 0.25, 7.00000700001, 1.5]


@st.composite
def action_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Daily bars with random splits and dividends below a tenth of the close."""
    n = draw(st.integers(2, 40))
    close = np.array(draw(st.lists(st.floats(1, 1000), min_size=n, max_size=n)))
    split = np.array(draw(st.lists(st.sampled_from(RATIOS), min_size=n, max_size=n)))
    share = draw(
        st.lists(st.one_of(st.just(0.0), st.just(np.nan), st.floats(0.001, 0.1)), min_size=n,
                 max_size=n)
    )  # fmt: skip
    idx = pd.date_range("2024-01-01", periods=n, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
         "volume": 100.0, "dividend": np.asarray(share) * close, "split": split},
        index=idx,
    )  # fmt: skip


def _ratio(split: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(split) | (split == 0), 1.0, split)


@settings(max_examples=150, deadline=None)
@given(action_frames())
def test_adjusted_returns_are_raw_returns_with_the_action_of_the_day(df: pd.DataFrame) -> None:
    try:
        adj = back_adjust(df)
    except DataError as exc:  # a dividend above the post-split previous close
        assert exc.field == "dividend"
        return
    c, r = df["close"].to_numpy(), _ratio(df["split"].to_numpy())
    d = np.nan_to_num(df["dividend"].to_numpy())  # per post-split share: d * r before it
    expected = r[1:] * c[1:] / (c[:-1] - d[1:] * r[1:])
    got = adj["close"].to_numpy()[1:] / adj["close"].to_numpy()[:-1]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert (adj["low"] <= adj["close"]).all() and (adj["close"] <= adj["high"]).all()


@settings(max_examples=150, deadline=None)
@given(action_frames(), st.floats(0.0, 1.0))
def test_adjusting_a_prefix_differs_only_by_one_constant(df: pd.DataFrame, cut: float) -> None:
    t = 1 + int(cut * (len(df) - 1))
    try:
        whole = back_adjust(df)
    except DataError:
        return
    prefix = back_adjust(df.iloc[:t])
    assert prefix["adj_factor"].iloc[-1] == 1.0  # the newest bar keeps its price
    for col in ("close", "volume"):
        k = whole[col].to_numpy()[:t] / prefix[col].to_numpy()
        np.testing.assert_allclose(k, k[-1], rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(3, 30), st.sampled_from([2.0, 3.0, 7.0, 1.5, 7.00000700001, 0.1]), st.data())
def test_a_split_and_its_reverse_leave_earlier_bars_as_traded(
    n: int, ratio: float, data: st.DataObject
) -> None:
    i = data.draw(st.integers(1, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    split = np.ones(n)
    split[i], split[j] = ratio, 1 / ratio
    close = np.linspace(10, 20, n) * np.where(np.arange(n) >= i, 1 / ratio, 1.0)
    close[j:] *= ratio
    idx = pd.date_range("2024-01-01", periods=n, tz="UTC", name="timestamp")
    df = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 100.0,
         "split": split}, index=idx,
    )  # fmt: skip
    adj = back_adjust(df)
    assert (adj["close"].iloc[:i] == df["close"].iloc[:i]).all()
    assert (adj["volume"].iloc[:i] == 100.0).all()
    np.testing.assert_allclose(adj["close"], np.linspace(10, 20, n), rtol=1e-12)  # one basis


AV = "daily_adjusted_with_actions_1999_2020"


@pytest.fixture
def store(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("ALPHAPULSE_DATA", str(data_root))
    with open_store(f"sqlite:///{tmp_path / 'a.sqlite'}") as st:
        yield st


def _adjusted(store: Store, start: str, end: str, on_conflict: OnConflict = "reject") -> None:
    """``data import --adjust`` of AAPL's Alpha Vantage bars from ``start`` to ``end``."""
    import_source(store, AV, ["AAPL"], adjust=True, start=start, end=end, on_conflict=on_conflict)


def test_an_adjusted_import_does_not_store_a_split_as_a_price_drop(store: Store) -> None:
    # AAPL split 4:1 on 2020-08-31. Two --adjust imports around it used to store the
    # bars before it as traded (~500) and the bars after it as traded (~130): a 74%
    # "drop" in a series the import summary called adjusted
    _adjusted(store, "2020-08-20", "2020-08-28")
    with pytest.raises(DataError) as err:
        _adjusted(store, "2020-08-31", "2020-09-04")
    assert (err.value.field, err.value.rule) == ("split", "adjust_partial_history")
    assert "split 4 on 2020-08-31" in str(err.value)
    assert "7 stored 1d bars (2020-08-20 .. 2020-08-28)" in str(err.value)
    assert len(store.read_bars("AAPL", "1d")) == 7  # nothing of the refused import
    _adjusted(store, "2020-08-20", "2020-09-04", "replace")  # the remedy the message names
    close = store.read_bars("AAPL", "1d")["close"]
    assert 0.9 < close.loc["2020-08-31"] / close.loc["2020-08-28"] < 1.1


def test_an_adjusted_import_without_actions_appends(store: Store) -> None:
    _adjusted(store, "2020-09-01", "2020-09-04")
    _adjusted(store, "2020-09-08", "2020-09-11")
    assert len(store.read_bars("AAPL", "1d")) == 8
