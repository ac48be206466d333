"""Adversarial bars from a live feed: whatever the import validator refuses (an
implausible price, a value that is not a number), a second bar for a pending time and a
bar off the bar grid are logged and dropped by the cross-sections, never raised, never
traded on; the polling feed asks again from the grid's next bar."""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from alphapulse.data.raw import RawBars
from alphapulse.data.validation import MAX_PRICE, MAX_VOLUME, validate
from alphapulse.live.bars import CrossSections
from alphapulse.live.polling import PollingSource

from .test_live_feeds import HOUR_NS, MIN_NS, T0, _bar, _quiet_stream, _take

SECOND_NS = 1_000_000_000


def _imported_ok(bar: dict[str, object]) -> bool:
    """Whether the historical import validator accepts ``bar`` as a one-row file."""
    values = {k: [np.nan if v is None else float(v)] for k, v in bar.items()}  # type: ignore[arg-type]
    index = pd.DatetimeIndex([pd.Timestamp(T0, tz="UTC")], name="timestamp")
    part = RawBars("bars.csv", "A", pd.DataFrame(values, index=index), np.array([2]))
    return validate({"A": [part]}).ok


@pytest.mark.parametrize(
    "over",
    [{}, {"close": None}, {"volume": None}, {"high": MAX_PRICE * 10, "close": MAX_PRICE * 10},
     {"volume": MAX_VOLUME * 10}, {"open": 0.0, "low": 0.0}, {"volume": 0.0}],
)  # fmt: skip
def test_live_bars_pass_where_the_import_validator_passes(
    over: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    bar: dict[str, object] = {**_bar(1.0), **over}
    cs = CrossSections(("A",), grace=0.0)
    with caplog.at_level(logging.WARNING):
        accepted = cs.add("A", T0, bar)
    assert accepted == _imported_ok(bar)
    assert cs.invalid == (0 if accepted else 1)
    if not accepted:  # the log names the time and a field at fault
        assert any(f"bar of A at {T0} rejected: {k}" in caplog.text for k in over)


def test_a_value_that_is_not_a_number_is_rejected() -> None:
    cs = CrossSections(("A",), grace=0.0)
    assert not cs.add("A", T0, {**_bar(1.0), "close": "abc"})
    assert not cs.add("A", T0, {**_bar(1.0), "volume": True})
    assert cs.invalid == 2 and cs.ready(flush=True) == []


def test_a_second_bar_for_a_pending_time_is_dropped_like_a_late_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cs = CrossSections(("A", "B"), grace=60.0)
    assert cs.add("A", T0, _bar(1.0))
    with caplog.at_level(logging.WARNING):
        assert not cs.add("A", T0, _bar(5.0))  # the row is still pending
        assert cs.add("B", T0, _bar(2.0))
        (row,) = cs.ready()
        assert not cs.add("A", T0, _bar(7.0))  # the row is released
    assert row.fields["close"].tolist() == [1.0, 2.0]  # the first bar stands both times
    assert (cs.duplicate, cs.late) == (1, 1)
    assert f"bar of A at {T0} dropped: a second bar" in caplog.text
    assert f"bar of A at {T0} dropped: its row was released" in caplog.text


def test_alpaca_stream_drops_a_bar_off_the_minute() -> None:
    t1, t2 = T0, T0 + MIN_NS
    source = _quiet_stream([t2 + MIN_NS + 1])
    for ts in (t1, t1 + 30 * SECOND_NS, t2):
        for sym in source.symbols:
            source._queue.put((sym, ts, _bar(ts / MIN_NS)))
    rows = _take(source.rows(), 2, source.stop)
    assert [r.ts_ns for r in rows] == [t1, t2]
    assert source.sections.invalid == 2 and source.sections.late == 0


class _Bars:
    """A provider of hourly bars at ``stamps`` (any offset), returned in ``[start, end)``."""

    def __init__(self, stamps: list[int]) -> None:
        self.stamps = stamps

    def fetch_bars(self, symbol: str, start: datetime, end: datetime, tf: str) -> pd.DataFrame:
        index = pd.DatetimeIndex(pd.to_datetime(self.stamps, utc=True), name="timestamp")
        index = index[(index >= pd.Timestamp(start)) & (index < pd.Timestamp(end))]
        values = np.arange(1.0, len(index) + 1.0)
        cols = ("open", "high", "low", "close", "volume")
        return pd.DataFrame({k: values for k in cols}, index=index)


def test_polling_drops_a_bar_off_the_grid_and_asks_for_the_next_one() -> None:
    off = T0 + 2 * HOUR_NS + 30 * MIN_NS
    grid = [T0 + i * HOUR_NS for i in range(4)]
    clock = [T0 + 3 * HOUR_NS + 40 * MIN_NS]  # the bar at `off` has closed, 03:00 has not
    source = PollingSource(
        _Bars(sorted([*grid, off])), ("BTC/USDT",), "1h", grace=0.0,
        clock_ns=lambda: clock[0], since_ns=T0,
    )  # fmt: skip
    assert source.poll()
    clock[0] = T0 + 4 * HOUR_NS + 5 * MIN_NS  # 03:00 has closed
    assert source.poll()
    assert [r.ts_ns for r in source.sections.ready()] == grid
    assert source.sections.invalid == 1
