"""A restarted network session's source: stored rows, then only live rows after them."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from alphapulse.live.bars import OHLCV, BarRow
from alphapulse.live.recovery import PrefixedSource

MIN = 60_000_000_000


def row(ts: int, close: float) -> BarRow:
    return BarRow(ts, {k: np.array([close]) for k in OHLCV})


class Live:
    """A stream that resumes without knowing the resume point: it sends a late bar for
    the last replayed minute (and one older) before new ones."""

    def __init__(self, rows: list[BarRow]) -> None:
        self._rows = rows
        self.closed = False

    def rows(self) -> Iterator[BarRow]:
        yield from self._rows

    def close(self) -> None:
        self.closed = True


def test_live_rows_at_or_before_the_last_replayed_step_are_dropped() -> None:
    """Before, they went on to the history, which refuses a row that is not after the
    last one (ValueError): the restarted session stopped."""
    live = Live([row(2 * MIN, 99.0), row(1 * MIN, 98.0), row(3 * MIN, 101.0)])
    source = PrefixedSource([row(1 * MIN, 100.0), row(2 * MIN, 100.5)], live)
    got = [(r.ts_ns, float(r.fields["close"][0])) for r in source.rows()]
    assert got == [(1 * MIN, 100.0), (2 * MIN, 100.5), (3 * MIN, 101.0)]
    assert source.stale == 2
    source.close()
    assert live.closed


def test_without_stored_steps_every_live_row_goes_through() -> None:
    live = Live([row(1 * MIN, 1.0), row(2 * MIN, 2.0)])
    assert [r.ts_ns for r in PrefixedSource([], live).rows()] == [1 * MIN, 2 * MIN]
