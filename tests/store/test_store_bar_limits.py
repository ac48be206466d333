"""The store refuses the values an import refuses as implausible (a price above
``MAX_PRICE``, a volume above ``MAX_VOLUME``), naming the symbol, time and field, on
every writer; bars stored before the check keep reading back."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from store_helpers import MINUTE, T0, bars_frame

from alphapulse.bus import BarIngestor, BarMsg, Topic
from alphapulse.bus.memory import InProcessBus
from alphapulse.core.errors import DataError
from alphapulse.data.validation import MAX_PRICE, MAX_VOLUME
from alphapulse.store import Store
from alphapulse.store.bars import write_bars
from alphapulse.store.engine import run_tx
from alphapulse.store.validate import bar_batch

#: The time of row 3 of ``bars_frame`` (minute 3 from 2024-01-02 14:30 UTC).
ROW3_TIME = "2024-01-02T14:33:00+00:00"


def two_symbols() -> pd.DataFrame:
    """Five one-minute bars of AAA then five of BBB (rows 0-4 and 5-9)."""
    return bars_frame(["AAA", "BBB"], 5, seed=3)


def test_a_price_above_max_price_is_refused_naming_symbol_time_and_field(store: Store) -> None:
    store.upsert_bars(two_symbols(), "1m")
    before = store.read_bars("BBB", "1m")
    bad = two_symbols()
    bad.loc[8, ["high", "close"]] = [MAX_PRICE * 3, MAX_PRICE * 2]  # BBB, minute 3
    with pytest.raises(DataError) as info:
        store.upsert_bars(bad, "1m")
    assert (info.value.field, info.value.rule, info.value.row) == ("high", "implausible_value", 8)
    assert f"BBB at {ROW3_TIME}" in str(info.value) and "3e+09" in str(info.value)
    pd.testing.assert_frame_equal(store.read_bars("BBB", "1m"), before)


def test_a_volume_above_max_volume_is_refused(store: Store) -> None:
    bad = two_symbols()
    bad.loc[3, "volume"] = MAX_VOLUME * 10  # AAA, minute 3
    with pytest.raises(DataError) as info:
        store.upsert_bars(bad, "1m")
    assert (info.value.field, info.value.rule) == ("volume", "implausible_value")
    assert f"AAA at {ROW3_TIME}" in str(info.value)
    assert store.list_symbols() == []


def test_the_limits_themselves_are_plausible(store: Store) -> None:
    # docs/data.md: an error is a price *above* 1e9 or a volume *above* 1e15, as on import
    edge = bars_frame(["AAA"], 1)
    edge[["open", "high", "low", "close", "volume"]] = [MAX_PRICE, MAX_PRICE, 1.0, 2.0, MAX_VOLUME]
    assert store.upsert_bars(edge, "1m") == 1
    assert store.read_bars("AAA", "1m")["high"].tolist() == [MAX_PRICE]


def test_an_import_batch_with_an_implausible_bar_stores_nothing(store: Store) -> None:
    # `data fetch` and `data import` write through import_bars
    bad = bars_frame(["AAA"], 5, start=5, seed=4)
    bad.loc[2, ["open", "high"]] = [MAX_PRICE * 5, MAX_PRICE * 6]  # a bar, but implausible
    with pytest.raises(DataError, match=r"field 'open'.*implausible price"):
        store.import_bars([bars_frame(["AAA"], 5), bad], "1m", import_id="big", source="t")
    assert store.read_bars("AAA", "1m").empty
    assert store.read_imports().loc[0, "status"] == "failed"


def test_the_bus_ingestor_neither_stores_nor_publishes_it(store: Store) -> None:
    bus = InProcessBus()
    sub = bus.subscribe(Topic.BARS, "g", "c")
    ingest = BarIngestor(store, bus, "1m")
    big = BarMsg("AAPL", "1m", T0, 10.0, MAX_PRICE * 2, 9.5, 10.5, 1.0)
    with pytest.raises(DataError, match=r"AAPL at 2024-01-02T14:30:00\+00:00"):
        ingest.on_bar(big)
    assert sub.poll(timeout=0.05) == []
    assert store.list_symbols() == []


def test_bars_stored_before_the_check_still_read_and_can_be_replaced(store: Store) -> None:
    old = bar_batch(bars_frame(["AAA"], 3), "1m")
    legacy = replace(old, high=old.high * MAX_PRICE)  # as an unchecked older write stored it
    run_tx(store.engine, lambda conn: write_bars(conn, legacy))
    assert (store.read_bars("AAA", "1m")["high"] > MAX_PRICE).all()
    store.upsert_bars(bars_frame(["AAA"], 2, start=3), "1m")  # writes beside them go on
    fixed = bars_frame(["AAA"], 1)
    assert store.upsert_bars(fixed, "1m") == 1  # a refetch replaces the bad bar
    stored = store.read_bars("AAA", "1m")
    assert len(stored) == 5 and stored["high"].iloc[0] == fixed["high"].iloc[0]
    assert stored.index[1] == pd.Timestamp(T0 + MINUTE, unit="ns", tz="UTC")
