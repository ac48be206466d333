"""A network-fed session whose ``bars`` write fails once: the step's journal waits until
its bars are stored (retried at the next step), so every journaled step's bars are in
the store and a restart replays the session exactly as it ran."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from alphapulse.live.journal import run_id_for
from alphapulse.live.recovery import step_times
from alphapulse.store import Store, open_store

from .helpers import Crash
from .test_live_feeds import HOUR_NS, T0
from .test_paper_network_recovery import (
    CRASH,
    LAST,
    _session,
    assert_resumed_as_reference,
    exchange,
)

__all__ = ["exchange"]  # the fixture
FAILS = T0 + 8 * HOUR_NS  # not stored the first time (replayed as NaN, it changes orders)


def test_a_failed_bar_write_holds_the_journal(
    db_url: str, exchange: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    upsert = Store.upsert_bars
    failed: list[int] = []

    def flaky_upsert(self: Store, df: pd.DataFrame, timeframe: str) -> int:
        if not failed and df["timestamp"].iloc[0].value == FAILS:
            failed.append(FAILS)
            raise OperationalError("upsert bars", {}, Exception("database is down"))
        return upsert(self, df, timeframe)

    monkeypatch.setattr(Store, "upsert_bars", flaky_upsert)
    with pytest.raises(Crash):
        _session("net", db_url, crash_at=CRASH)
    assert failed == [FAILS]
    labels = ("sma_cross", "mean_reversion")
    with open_store(db_url) as store:
        steps = step_times(store, [run_id_for("net", label) for label in labels], LAST)
        assert FAILS in steps and steps[-1] == CRASH
        for symbol in ("BTC/USDT", "ETH/USDT"):  # every journaled step's bars are stored
            stored = {t.value for t in store.read_bars(symbol, "1h").index}
            assert set(steps) <= stored

    resumed = _session("net", db_url)
    reference = _session("reference", db_url)
    with open_store(db_url) as store:
        assert_resumed_as_reference(store, resumed, reference)
