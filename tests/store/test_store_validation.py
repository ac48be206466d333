"""Bad inputs raise DataError naming the field, and leave stored data untouched."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from store_helpers import bars_frame

from alphapulse.core.errors import DataError
from alphapulse.store import Store


def _drop_close(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["close"])


def _nan_open(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[7, "open"] = np.nan
    return df


def _none_volume(df: pd.DataFrame) -> pd.DataFrame:
    df["volume"] = df["volume"].astype(object)
    df.loc[3, "volume"] = None
    return df


def _inf_high(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[2, "high"] = np.inf
    return df


def _text_low(df: pd.DataFrame) -> pd.DataFrame:
    df["low"] = df["low"].astype(object)
    df.loc[4, "low"] = "abc"
    return df


def _bad_symbol(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[5, "symbol"] = "BAD SYM;"
    return df


def _missing_symbol(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[6, "symbol"] = None
    return df


def _naive_ts(df: pd.DataFrame) -> pd.DataFrame:
    df["timestamp"] = df["timestamp"].dt.tz_localize(None)
    return df


def _nat_ts(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[8, "timestamp"] = pd.NaT
    return df


def _duplicate_key(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[9, "timestamp"] = df.loc[8, "timestamp"]
    return df


def _low_above_high(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[1, "low"] = df.loc[1, "high"] + 1
    return df


def _zero_close(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[3, "close"] = 0.0
    return df


def _high_below_close(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[5, "high"] = (max(df.loc[5, "open"], df.loc[5, "close"]) + df.loc[5, "low"]) / 2
    return df


def _low_above_open(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[6, "low"] = (min(df.loc[6, "open"], df.loc[6, "close"]) + df.loc[6, "high"]) / 2
    return df


def _negative_volume(df: pd.DataFrame) -> pd.DataFrame:
    df.loc[1, "volume"] = -5.0
    return df


CASES: list[tuple[Callable[[pd.DataFrame], pd.DataFrame], str, int | None]] = [
    (_drop_close, "close", None),
    (_nan_open, "open", 7),
    (_none_volume, "volume", 3),
    (_inf_high, "high", 2),
    (_text_low, "low", 4),
    (_bad_symbol, "symbol", 5),
    (_missing_symbol, "symbol", 6),
    (_naive_ts, "timestamp", None),
    (_nat_ts, "timestamp", 8),
    (_duplicate_key, "timestamp", 9),
    (_low_above_high, "low", 1),
    (_zero_close, "close", 3),
    (_high_below_close, "high", 5),
    (_low_above_open, "low", 6),
    (_negative_volume, "volume", 1),
]


@pytest.mark.parametrize(("corrupt", "field", "row"), CASES, ids=[c[0].__name__[1:] for c in CASES])
def test_bad_bars_name_the_field_and_change_nothing(
    store: Store, corrupt: Callable[[pd.DataFrame], pd.DataFrame], field: str, row: int | None
) -> None:
    good = bars_frame(["AAA"], 20, seed=1)
    store.upsert_bars(good, "1m")
    before = store.read_bars("AAA", "1m")
    bad = corrupt(bars_frame(["AAA"], 20, seed=2))  # would overwrite every stored row
    with pytest.raises(DataError) as info:
        store.upsert_bars(bad, "1m")
    assert info.value.field == field
    assert repr(field) in str(info.value)
    if row is not None:
        assert info.value.row == row
    pd.testing.assert_frame_equal(store.read_bars("AAA", "1m"), before)


@pytest.mark.parametrize("timeframe", ["", "1M", "0m", "m1", "5 min", "1y", None])
def test_bad_timeframe(store: Store, timeframe: object) -> None:
    with pytest.raises(DataError) as info:
        store.upsert_bars(bars_frame(["AAA"], 3), timeframe)  # type: ignore[arg-type]
    assert info.value.field == "timeframe"


@pytest.mark.parametrize("symbol", ["", "A B", "A;DROP TABLE bars", "X" * 40, "ä"])
def test_bad_symbol_in_queries(store: Store, symbol: str) -> None:
    with pytest.raises(DataError) as info:
        store.read_bars(symbol, "1m")
    assert info.value.field == "symbol"


def test_not_a_frame(store: Store) -> None:
    with pytest.raises(DataError):
        store.upsert_bars([{"symbol": "AAA"}], "1m")  # type: ignore[arg-type]


def test_symbols_are_normalised(store: Store) -> None:
    df = bars_frame(["AAA"], 3)
    df["symbol"] = [" aaa", "Aaa", "AAA"]
    store.upsert_bars(df, "1m")
    assert store.list_symbols() == ["AAA"]
    assert len(store.read_bars("aaa", "1m")) == 3


def test_failed_multi_batch_import_stores_nothing(store: Store) -> None:
    good = [bars_frame(["AAA"], 10, start=10 * i, seed=i) for i in range(3)]
    bad = _nan_open(bars_frame(["AAA"], 10, start=30, seed=9))
    with pytest.raises(DataError) as info:
        store.import_bars([*good, bad], "1m", import_id="bad-import")
    assert info.value.field == "open"
    assert store.read_bars("AAA", "1m").empty
    assert store.list_symbols() == []
    imports = store.read_imports()
    assert imports.loc[0, "status"] == "failed" and "open" in imports.loc[0, "error"]


def test_run_output_validation(store: Store) -> None:
    run_id = store.record_run("v", initial_cash=1_000.0)
    fills = pd.DataFrame(
        {
            "order_id": [1],
            "timestamp": [pd.Timestamp("2024-01-02 15:00", tz="UTC")],
            "symbol": ["AAA"],
            "side": ["hold"],
            "quantity": [1.0],
            "price": [10.0],
        }
    )
    with pytest.raises(DataError) as info:
        store.write_run_outputs(run_id, None, fills, None, None)
    assert info.value.field == "side"
    with pytest.raises(DataError) as info:
        store.write_run_outputs(
            run_id, None, fills.assign(side="buy").drop(columns=["price"]), None, None
        )
    assert info.value.field == "price"
    with pytest.raises(DataError) as info:
        store.write_run_outputs("no-such-run", None, None, None, None)
    assert info.value.field == "run_id"
    assert store.read_table("fills", run_id).empty
    assert store.read_cash(run_id) == {
        "run_id": run_id, "initial_cash": 1_000.0, "cash": 1_000.0, "fees": 0.0,
        "n_fills": 0, "last_fill_ts": None,
    }  # fmt: skip
