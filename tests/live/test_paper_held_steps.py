"""Held steps at the end of a network-fed session and under a bar write that keeps
failing: the run either journals them (the failed bars store on the last try) or stops
with one ``UnjournaledError`` line naming them, leaving only journaled steps (and their
bars) in the store, so a restart runs them again and matches an uninterrupted session."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from alphapulse.config import BacktestConfig
from alphapulse.live.bars import BarRow
from alphapulse.live.feed import BarSource
from alphapulse.live.journal import run_id_for
from alphapulse.live.recovery import step_times
from alphapulse.live.runtime import MAX_BAR_FAILURES, UnjournaledError
from alphapulse.live.session import SessionResult, run_session
from alphapulse.live.sources import build_source
from alphapulse.store import Store, open_store

from .test_live_feeds import HOUR_NS, T0
from .test_paper_network_recovery import LAST, _cfg, _session, assert_resumed_as_reference, exchange

__all__ = ["exchange"]  # the fixture: the recorded Binance API (25 hourly candles)
LABELS = ("sma_cross", "mean_reversion")
DOWN = "database is down"


class EndsAtLast:
    """The polled rows up to ``LAST``, then the end of the feed (none when the session
    resumes at ``LAST``: it has them all)."""

    def __init__(self, source: BarSource, resume: int | None) -> None:
        self.source = source
        self.resume = resume

    def rows(self) -> Iterator[BarRow]:
        if self.resume is not None and self.resume >= LAST:
            return
        for row in self.source.rows():
            yield row
            if row.ts_ns >= LAST:
                return

    def close(self) -> None:
        self.source.close()


def _ending(
    cfg: BacktestConfig, stop: threading.Event, resume: int | None
) -> tuple[BarSource, tuple[str, ...], tuple[str, ...]]:
    source, symbols, fields = build_source(cfg, stop, resume)
    return EndsAtLast(source, resume), symbols, fields


def _run(db_url: str, end: str) -> SessionResult:
    """Session ``net`` until its feed ends after ``LAST`` or a stop at ``LAST``."""
    if end == "feed_end":
        return run_session(_cfg("net"), db_url=db_url, source=_ending)
    return _session("net", db_url)


def _failing_bars(m: pytest.MonkeyPatch, fails: Callable[[int, int], bool]) -> list[int]:
    """``Store.upsert_bars`` raises for the bars at time t on their n-th try when
    ``fails(t, n)``; the times tried, in order."""
    upsert = Store.upsert_bars
    tried: list[int] = []

    def flaky(self: Store, df: pd.DataFrame, timeframe: str) -> int:
        ts = df["timestamp"].iloc[0].value
        tried.append(ts)
        if fails(ts, tried.count(ts)):
            raise OperationalError("upsert bars", {}, Exception(DOWN))
        return upsert(self, df, timeframe)

    m.setattr(Store, "upsert_bars", flaky)
    return tried


def _journaled(store: Store) -> list[int]:
    """The steps journaled by both strategies of ``net`` (each with its bars stored)."""
    per_run = [step_times(store, [run_id_for("net", label)], LAST) for label in LABELS]
    assert per_run[0] == per_run[1]
    for symbol in ("BTC/USDT", "ETH/USDT"):
        stored = {t.value for t in store.read_bars(symbol, "1h").index}
        assert set(per_run[0]) <= stored
    return per_run[0]


@pytest.mark.parametrize("end", ["feed_end", "stop"])
def test_a_step_held_at_the_end_is_journaled_when_its_bars_store_on_the_last_try(
    db_url: str, exchange: Any, monkeypatch: pytest.MonkeyPatch, end: str
) -> None:
    with monkeypatch.context() as m:
        tried = _failing_bars(m, lambda ts, n: ts == LAST and n == 1)
        first = _run(db_url, end)
    with open_store(db_url) as store:
        assert _journaled(store)[-1] == LAST
    assert tried.count(LAST) == 2  # failed in its step, stored at the end
    reference = _session("reference", db_url)
    with open_store(db_url) as store:
        assert_resumed_as_reference(store, first, reference)

    again = run_session(_cfg("net"), db_url=db_url, source=_ending)
    assert all(j.resume_ts == LAST and j.writes == 0 for j in again.runtime.journals.values())
    with open_store(db_url) as store:
        assert_resumed_as_reference(store, again, reference)


@pytest.mark.parametrize("end", ["feed_end", "stop"])
def test_steps_held_at_the_end_whose_bars_still_fail_stop_with_one_line(
    db_url: str, exchange: Any, monkeypatch: pytest.MonkeyPatch, end: str
) -> None:
    with monkeypatch.context() as m:
        _failing_bars(m, lambda ts, n: ts >= LAST - HOUR_NS)  # the last two steps, always
        with pytest.raises(UnjournaledError) as err:
            _run(db_url, end)
    line = str(err.value)
    assert "\n" not in line and f"OperationalError: {DOWN}" in line and "restart" in line
    assert "not journaled: 2 steps from 2024-01-01T23:00:00+00:00 to 2024-01-02T00:00:00" in line
    with open_store(db_url) as store:
        assert _journaled(store)[-1] == LAST - 2 * HOUR_NS

    resumed = run_session(_cfg("net"), db_url=db_url, source=_ending)
    reference = _session("reference", db_url)
    with open_store(db_url) as store:
        assert_resumed_as_reference(store, resumed, reference)


def test_a_bar_write_failing_every_time_stops_the_run(
    db_url: str, exchange: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fails_from = T0 + 8 * HOUR_NS
    with monkeypatch.context() as m:
        tried = _failing_bars(m, lambda ts, n: ts >= fails_from)
        with pytest.raises(UnjournaledError) as err:
            _session("net", db_url)
    assert MAX_BAR_FAILURES == 5  # the default bound: 08:00 to 12:00 fail, then it stops
    assert tried[-5:] == [fails_from] * 5  # each step tries the oldest unstored bars first
    line = str(err.value)
    assert (
        "\n" not in line and f"5 steps in a row failed to store (OperationalError: {DOWN})" in line
    )
    assert "not journaled: 5 steps from 2024-01-01T08:00:00+00:00 to 2024-01-01T12:00:00" in line
    with open_store(db_url) as store:
        assert _journaled(store)[-1] == fails_from - HOUR_NS
        assert store.read_bars("BTC/USDT", "1h").index[-1].value == fails_from - HOUR_NS
        for label in LABELS:  # not left "running": failed, with the line
            run = store.read_run(run_id_for("net", label))
            assert run is not None and run["status"] == "failed"
            assert run["metrics"] == {"error": f"UnjournaledError: {line}"}
            assert run["finished_at"] is not None

    resumed = _session("net", db_url)
    reference = _session("reference", db_url)
    with open_store(db_url) as store:
        assert_resumed_as_reference(store, resumed, reference)
        for label in LABELS:  # the restart ran it again: its own end, not the old error
            run = store.read_run(run_id_for("net", label))
            assert run is not None and run["status"] == "cancelled"
            assert "error" not in run["metrics"] and "final_equity" in run["metrics"]
