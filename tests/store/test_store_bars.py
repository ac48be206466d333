"""Bars: round trips, idempotent upserts, range queries and the block cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect, text
from store_helpers import MINUTE, T0, bars_frame

from alphapulse.store import Store
from alphapulse.store.bars import COPY_MIN_ROWS

OHLCV = ["open", "high", "low", "close", "volume"]


def stored_rows(store: Store, symbol: str, timeframe: str = "1m") -> pd.DataFrame:
    """The rows of ``bars`` straight from SQL (no cache), as read_bars shapes them."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ts, open, high, low, close, volume FROM bars"
                " WHERE symbol = :s AND timeframe = :tf ORDER BY ts"
            ),
            {"s": symbol, "tf": timeframe},
        ).all()
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(ts, unit="ns", utc=True), name="timestamp")
    return pd.DataFrame([r[1:] for r in rows], columns=OHLCV, index=index, dtype=float)


def count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM bars")).scalar_one())


def test_round_trip_is_exact(store: Store) -> None:
    df = bars_frame(["AAA", "BBB"], 300, seed=1)
    assert store.upsert_bars(df, "1m") == 600
    got = store.read_bars("AAA", "1m")
    want = df[df.symbol == "AAA"].set_index("timestamp")[OHLCV]
    assert got.index.tz is not None and str(got.index.tz) == "UTC"
    assert got.index.name == "timestamp"
    assert list(got.columns) == OHLCV
    pd.testing.assert_frame_equal(
        got, want, check_exact=True, check_freq=False, check_index_type=False
    )
    assert store.list_symbols() == ["AAA", "BBB"]
    assert store.list_symbols("1m") == ["AAA", "BBB"]
    assert store.list_symbols("1d") == []


def test_upsert_is_idempotent_and_last_write_wins(store: Store) -> None:
    df = bars_frame(["AAA"], 200, seed=2)
    assert store.upsert_bars(df, "1m") == 200
    assert store.upsert_bars(df, "1m") == 0  # identical rows are not rewritten
    assert store.upsert_bars(df.sample(frac=1.0, random_state=0), "1min") == 0
    assert count(store) == 200
    changed = df.copy()
    changed.loc[10:19, "close"] += 0.01
    assert store.upsert_bars(changed, "1m") == 10
    got = store.read_bars("AAA", "1m")
    assert got["close"].to_numpy().tolist() == changed["close"].tolist()
    assert count(store) == 200


def test_overlapping_batches_merge(store: Store) -> None:
    store.upsert_bars(bars_frame(["AAA"], 100, start=0, seed=3), "1m")
    store.upsert_bars(bars_frame(["AAA"], 100, start=50, seed=4), "1m")
    got = store.read_bars("AAA", "1m")
    assert len(got) == 150
    assert got.index.is_monotonic_increasing and got.index.is_unique
    pd.testing.assert_frame_equal(
        got, stored_rows(store, "AAA"), check_exact=True, check_freq=False
    )


@pytest.mark.parametrize("n", [COPY_MIN_ROWS - 1, COPY_MIN_ROWS + 500])
def test_bulk_paths_fresh_and_overlapping(store: Store, n: int) -> None:
    """Both PostgreSQL paths (executemany, COPY) and both COPY branches (plain insert into
    an empty range, upsert into a populated one) store the same thing."""
    first = bars_frame(["AAA", "BBB"], n, start=0, seed=5)
    assert store.upsert_bars(first, "1m") == 2 * n
    second = bars_frame(["AAA", "BBB"], n, start=n // 2, seed=6)
    written = store.upsert_bars(second, "1m")
    assert written == 2 * n  # every row is new or has new values
    assert count(store) == 2 * (n + n // 2)
    for symbol in ("AAA", "BBB"):
        want = pd.concat([first, second]).drop_duplicates(["symbol", "timestamp"], keep="last")
        want = want[want.symbol == symbol].set_index("timestamp")[OHLCV].sort_index()
        got = store.read_bars(symbol, "1m")
        pd.testing.assert_frame_equal(
            got, want, check_exact=True, check_freq=False, check_index_type=False
        )


def test_optional_columns(store: Store) -> None:
    df = bars_frame(["AAA"], 50, seed=7)
    df["vwap"] = df["close"] + 0.01
    df.loc[3, "vwap"] = np.nan
    df["trade_count"] = np.arange(50, dtype=float)
    store.upsert_bars(df, "1m")
    got = store.read_bars("AAA", "1m")
    assert list(got.columns) == [*OHLCV, "vwap", "trade_count"]
    np.testing.assert_array_equal(got["vwap"].to_numpy(), df["vwap"].to_numpy())
    np.testing.assert_array_equal(got["trade_count"].to_numpy(), np.arange(50.0))
    # a later batch without the optional columns keeps the stored values
    newer = df.drop(columns=["vwap", "trade_count"]).assign(close=df.close + 1, high=df.high + 1)
    store.upsert_bars(newer, "1m")
    again = store.read_bars("AAA", "1m")
    np.testing.assert_array_equal(again["vwap"].to_numpy(), df["vwap"].to_numpy())
    np.testing.assert_array_equal(again["close"].to_numpy(), (df.close + 1).to_numpy())


def test_range_queries(store: Store) -> None:
    store.upsert_bars(bars_frame(["AAA", "BBB"], 1_000, seed=8), "1m")
    full = store.read_bars("AAA", "1m")
    ts = full.index
    # [start, end): start inclusive, end exclusive, any time type
    got = store.read_bars("AAA", "1m", ts[100], ts[200])
    pd.testing.assert_frame_equal(got, full.iloc[100:200])
    got = store.read_bars("AAA", "1m", int(ts[100].value), int(ts[200].value))
    pd.testing.assert_frame_equal(got, full.iloc[100:200])
    naive = ts[100].tz_localize(None).isoformat()
    assert store.read_bars("AAA", "1m", naive, None).index[0] == ts[100]
    assert store.read_bars("AAA", "1m", ts[100].to_pydatetime()).index[0] == ts[100]
    assert len(store.read_bars("AAA", "1m", None, ts[10])) == 10
    # between bars, before and after the data, empty ranges, unknown series
    assert len(store.read_bars("AAA", "1m", ts[5] + pd.Timedelta(seconds=1), ts[7])) == 1
    assert store.read_bars("AAA", "1m", ts[-1] + pd.Timedelta(days=1)).empty
    assert store.read_bars("AAA", "1m", None, ts[0]).empty
    assert store.read_bars("AAA", "1m", ts[50], ts[50]).empty
    empty = store.read_bars("ZZZ", "1m")
    assert empty.empty and list(empty.columns) == OHLCV and str(empty.index.tz) == "UTC"
    assert store.read_bars("aaa", "1min").equals(full)


def test_block_cache_is_invalidated_by_writes(store: Store) -> None:
    """Reads served from cached blocks see every later write, within and across blocks."""
    store.upsert_bars(bars_frame(["AAA"], 5_000, seed=9), "1m")
    first = store.read_bars("AAA", "1m")  # builds the cache
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM bar_blocks")).scalar_one() >= 1
    assert store.read_bars("AAA", "1m").equals(first)
    patch = bars_frame(["AAA"], 10, start=2_500, seed=10)
    store.upsert_bars(patch, "1m")
    after = store.read_bars("AAA", "1m")
    np.testing.assert_array_equal(after["close"].to_numpy()[2_500:2_510], patch["close"].to_numpy())
    pd.testing.assert_frame_equal(
        after, stored_rows(store, "AAA"), check_exact=True, check_freq=False
    )
    # appending far in the future creates a new block; earlier blocks stay valid
    far = bars_frame(["AAA"], 5, start=200_000, seed=11)
    store.upsert_bars(far, "1m")
    got = store.read_bars("AAA", "1m")
    assert len(got) == 5_005
    pd.testing.assert_frame_equal(
        got, stored_rows(store, "AAA"), check_exact=True, check_freq=False
    )
    assert store.clear_bar_cache("AAA") >= 1
    pd.testing.assert_frame_equal(store.read_bars("AAA", "1m"), got)


def test_timeframes_are_separate_series(store: Store) -> None:
    minute = bars_frame(["AAA"], 10, seed=12)
    daily = bars_frame(["AAA"], 3, seed=13)
    daily["timestamp"] = pd.to_datetime(T0 + np.arange(3) * 86_400 * 10**9, unit="ns", utc=True)
    store.upsert_bars(minute, "1m")
    store.upsert_bars(daily, "1D")
    assert len(store.read_bars("AAA", "1m")) == 10
    assert len(store.read_bars("AAA", "1d")) == 3
    assert store.list_symbols("1d") == ["AAA"]


def test_timestamps_are_utc_ns(store: Store) -> None:
    df = bars_frame(["AAA"], 3, seed=14)
    df["timestamp"] = df["timestamp"].dt.tz_convert("America/New_York")
    store.upsert_bars(df, "1m")
    with store.engine.connect() as conn:
        ts = conn.execute(text("SELECT ts FROM bars ORDER BY ts")).scalars().all()
    assert ts == [T0, T0 + MINUTE, T0 + 2 * MINUTE]


def test_primary_key_serves_range_queries(store: Store) -> None:
    pk = inspect(store.engine).get_pk_constraint("bars")
    assert pk["constrained_columns"] == ["symbol", "timeframe", "ts"]


@pytest.mark.postgres
def test_direct_copy_falls_back_to_merge(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the straight COPY into ``bars`` meets a stored row (written past the series
    lock), the batch is merged with the upsert instead: no error, no duplicate."""
    from alphapulse.store import bars, open_store

    with open_store(pg_url) as store:
        first = bars_frame(["AAA"], COPY_MIN_ROWS, seed=15)
        store.upsert_bars(first, "1m")
        monkeypatch.setattr(bars, "_no_stored_bars", lambda cur, batch: True)
        merges: list[int] = []
        stage_insert = bars._stage_insert
        monkeypatch.setattr(
            bars, "_stage_insert", lambda b: merges.append(len(b)) or stage_insert(b)
        )
        second = bars_frame(["AAA"], COPY_MIN_ROWS, start=COPY_MIN_ROWS // 2, seed=16)
        assert store.upsert_bars(second, "1m") == COPY_MIN_ROWS
        assert merges == [COPY_MIN_ROWS]  # the COPY failed and the merge ran
        assert count(store) == COPY_MIN_ROWS + COPY_MIN_ROWS // 2
        got = store.read_bars("AAA", "1m")
        np.testing.assert_array_equal(
            got["close"].to_numpy()[COPY_MIN_ROWS // 2 :], second["close"]
        )


@pytest.mark.parametrize("timeframe", ["1d", "1w", "1mo"])
def test_coarse_bars_before_1970(store: Store, timeframe: str) -> None:
    """Negative timestamps and coarse timeframes (large cache blocks) round-trip."""
    days = {"1d": 1, "1w": 7, "1mo": 31}[timeframe]
    df = bars_frame(["OLD"], 400, seed=17)
    df["timestamp"] = pd.Timestamp("1962-01-02", tz="UTC") + pd.to_timedelta(
        np.arange(400) * days, unit="D"
    )
    store.upsert_bars(df, timeframe)
    for _ in range(2):  # cold (rows) and warm (cache)
        got = store.read_bars("OLD", timeframe)
        want = df.set_index("timestamp")[OHLCV]
        pd.testing.assert_frame_equal(
            got, want, check_exact=True, check_freq=False, check_index_type=False
        )
    lo, hi = df.timestamp[100] - pd.Timedelta(hours=1), df.timestamp[300]
    window = store.read_bars("OLD", timeframe, lo.isoformat(), hi)
    assert window.index[0] == df.timestamp[100] and len(window) == 200
