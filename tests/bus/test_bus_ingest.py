"""``BarIngestor``: bars are stored (idempotently) before they are published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.bus import BarIngestor, BarMsg, Bus, CrossSectionMsg, Topic
from alphapulse.core.errors import DataError
from alphapulse.store import Store, open_store

T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC
MINUTE = 60_000_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'bus.sqlite'}") as s:
        yield s


def test_bar_is_stored_then_published(store: Store, any_bus: Bus) -> None:
    sub = any_bus.subscribe(Topic.BARS, "strategies", "c")
    ingest = BarIngestor(store, any_bus, "1min")
    bar = BarMsg("AAPL", "1m", T0, 10.0, 11.0, 9.5, 10.5, 1200.0)
    ingest.on_bar(bar)
    ingest.ingest(bar)  # a replayed bar: stored once, published again
    got: list[object] = []
    for _ in range(5):
        got += [d.message for d in sub.poll(timeout=0.5)]
    assert got == [bar, bar]
    stored = store.read_bars("AAPL", "1m")
    assert len(stored) == 1
    assert stored.index[0] == pd.Timestamp(T0, unit="ns", tz="UTC")
    assert stored.iloc[0][["open", "high", "low", "close", "volume"]].tolist() == [
        10.0,
        11.0,
        9.5,
        10.5,
        1200.0,
    ]


def test_cross_section_stores_present_bars(store: Store, any_bus: Bus) -> None:
    sub = any_bus.subscribe(Topic.CROSS_SECTIONS, "g", "c")
    ingest = BarIngestor(store, any_bus, "1m")
    nan = np.nan
    cs = CrossSectionMsg(
        T0 + MINUTE,
        "1m",
        ("AAPL", "MSFT", "SPY"),
        np.array([1.0, nan, 3.0]),
        np.array([2.0, nan, 4.0]),
        np.array([0.5, nan, 2.5]),
        np.array([1.5, nan, 3.5]),
        np.array([10.0, nan, 30.0]),
    )
    ingest.ingest(cs)
    assert [d.message for d in sub.poll(timeout=1)] == [cs]
    assert store.list_symbols("1m") == ["AAPL", "SPY"]
    assert store.read_bars("SPY", "1m")["close"].tolist() == [3.5]
    empty = CrossSectionMsg(T0, "1m", ("AAPL",), *(np.array([nan]),) * 5)
    ingest.on_cross_section(empty)  # nothing to store, still published
    assert [d.message for d in sub.poll(timeout=1)] == [empty]


def test_bad_bar_is_neither_stored_nor_published(store: Store, any_bus: Bus) -> None:
    sub = any_bus.subscribe(Topic.BARS, "g", "c")
    ingest = BarIngestor(store, any_bus, "1m")
    with pytest.raises(DataError, match="low is above high"):
        ingest.on_bar(BarMsg("AAPL", "1m", T0, 10.0, 9.0, 9.5, 9.2, 1.0))
    with pytest.raises(ValueError, match="timeframe"):
        ingest.on_bar(BarMsg("AAPL", "1h", T0, 10.0, 11.0, 9.5, 10.5, 1.0))
    assert sub.poll(timeout=0.05) == []
    assert store.list_symbols() == []
