"""Recovery of a network-fed (ccxt polling) session: its live bars are stored in the
``bars`` table as they arrive, so after a crash the restart replays them up to the last
stored step, then polls from the next bar on. The result equals an uninterrupted
session's, table for table."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import alphapulse.live.polling as polling
from alphapulse.api.metrics import Metrics
from alphapulse.config import PaperConfig, parse_config
from alphapulse.engine.bars import BarSlice
from alphapulse.live.journal import RunJournal, run_id_for
from alphapulse.live.session import SessionResult, run_session
from alphapulse.store import Store, open_store

from .helpers import Crash, assert_same_run, stored_table
from .servers import FakeBinance
from .test_live_feeds import HOUR_NS, T0, _binance_provider

TABLES = ("orders", "fills", "positions", "portfolio_cash", "portfolio_snapshots", "risk_events",
          "trades")  # fmt: skip
LAST = T0 + 24 * HOUR_NS  # 25 recorded hourly candles
CRASH = T0 + 12 * HOUR_NS


@pytest.fixture
def exchange(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeBinance, list[Any]]]:
    """The recorded Binance API; polls start at T0 on a fresh start (``since`` asked)."""
    fake = FakeBinance()
    asked: list[Any] = []

    class FromT0(polling.PollingSource):
        def __init__(self, *args: Any, since_ns: int | None = None, **kw: Any) -> None:
            asked.append(since_ns)
            super().__init__(*args, since_ns=T0 if since_ns is None else since_ns, **kw)

    def provider(p: PaperConfig) -> Any:
        return _binance_provider(fake.server.url)

    monkeypatch.setattr(polling, "PollingSource", FromT0)
    monkeypatch.setattr(polling, "provider_for", provider)
    yield fake, asked
    fake.server.stop()


def _cfg(session: str) -> Any:
    return parse_config(
        {"name": "net", "data": {"source": "ccxt", "symbols": ["BTC/USDT", "ETH/USDT"]},
         "execution": {"lot_size": 0.001},
         "strategies": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 5}},
                        {"strategy": "mean_reversion", "params": {"window": 5, "entry_z": 0.5}}],
         "paper": {"feed": "ccxt", "timeframe": "1h", "poll_interval": 0.01, "grace": 0.05,
                   "session": session}}
    )  # fmt: skip


def _session(session: str, db_url: str, crash_at: int | None = None, **kw: Any) -> SessionResult:
    stop = threading.Event()

    def on_step(bar: BarSlice) -> None:
        if bar.ts_ns == crash_at:
            raise Crash
        if bar.ts_ns == LAST:
            stop.set()

    return run_session(_cfg(session), db_url=db_url, stop=stop, on_step=on_step, **kw)


def assert_resumed_as_reference(
    store: Store, resumed: SessionResult, reference: SessionResult
) -> None:
    """Session ``net`` (resumed) ran and stored every step as ``reference`` did."""
    for label, r in reference.results.items():
        assert len(r.timestamps) == 25 and len(r.fills) > 0
        assert_same_run(resumed.results[label], r)  # the engines were rebuilt exactly
        rid, ref = run_id_for("net", label), run_id_for("reference", label)
        for table in TABLES:
            pd.testing.assert_frame_equal(
                stored_table(store, table, rid), stored_table(store, table, ref)
            )


@pytest.mark.parametrize("when", ["after_step", "mid_step"])
def test_network_session_resumes_from_stored_bars(
    db_url: str,
    exchange: tuple[FakeBinance, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    _, asked = exchange
    if when == "after_step":  # step 12 is journaled, then the process dies
        with pytest.raises(Crash):
            _session("net", db_url, crash_at=CRASH)
        resume = CRASH
    else:  # the process dies inside step 12: its bars are stored, the step is not
        commit = RunJournal.commit

        def dying_commit(self: RunJournal, ts_ns: int, messages: Any = ()) -> None:
            if ts_ns == CRASH:
                raise Crash
            commit(self, ts_ns, messages)

        monkeypatch.setattr(RunJournal, "commit", dying_commit)
        with pytest.raises(Crash):
            _session("net", db_url)
        monkeypatch.setattr(RunJournal, "commit", commit)
        resume = CRASH - HOUR_NS
    with open_store(db_url) as store:
        stored = store.read_bars("BTC/USDT", "1h")
        assert stored.index[-1].value == CRASH and len(stored) == 13

    metrics = Metrics()
    resumed = _session("net", db_url, metrics=metrics)
    assert asked[-1] == resume + HOUR_NS  # polls again from the bar after the last step
    reference = _session("reference", db_url)
    with open_store(db_url) as store:
        assert_resumed_as_reference(store, resumed, reference)
        for label in reference.results:
            steps = metrics.registry.get_sample_value(
                "alphapulse_bars_processed_total", {"strategy": label}
            )
            assert steps == (LAST - resume) // HOUR_NS + 1  # replayed steps are not counted
        assert len(store.read_bars("ETH/USDT", "1h")) == 25
    assert (metrics.registry.get_sample_value("alphapulse_feed_lag_seconds") or 0) > 3600
