"""StepRows: growable per-step buffers hold exactly the rows written, across growth."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.engine.steprows import CASH, EQUITY, GROSS, NET, StepRows

rows_st = st.lists(
    st.tuples(st.integers(0, 2**62), *[st.floats(-1e9, 1e9, allow_nan=False)] * 4), max_size=40
)


def _write(rows: StepRows, row: tuple) -> None:
    n = rows.n
    if n == rows.capacity:
        rows.grow()
    rows.ts[n] = row[0]
    rows.vals[:, n] = row[1:]
    rows.n = n + 1


@settings(max_examples=60, deadline=None)
@given(rows_st, st.integers(1, 8), st.integers(0, 45))
def test_rows_survive_growth_and_read_back(data: list, capacity: int, start: int) -> None:
    rows = StepRows(capacity)
    for row in data:
        _write(rows, row)
    assert rows.n == len(data) and rows.capacity >= len(data)
    assert rows.since(start) == [tuple(r) for r in data[start:]]
    assert rows.timestamps().tolist() == [r[0] for r in data]
    for k in (EQUITY, CASH, GROSS, NET):
        assert rows.column(k).tolist() == [r[k + 1] for r in data]


def test_exact_fit_hands_out_the_buffer_and_a_later_row_does_not_touch_it() -> None:
    rows = StepRows(2)
    rows.reserve(3)
    assert rows.capacity == 3
    for i in range(3):
        _write(rows, (i, float(i), 1.0, 2.0, 3.0))
    eq = rows.column(EQUITY)
    assert eq.base is rows.vals  # no copy when exactly full
    _write(rows, (3, 9.0, 1.0, 2.0, 3.0))  # grows into a new buffer
    assert eq.tolist() == [0.0, 1.0, 2.0] and rows.column(EQUITY).tolist() == [0, 1, 2, 9]
    part = rows.column(CASH)  # not full: a copy
    part[0] = -1.0
    assert rows.vals[CASH, 0] == 1.0
    rows.reserve(2)  # smaller than now: nothing changes
    assert rows.capacity == 6 and np.array_equal(rows.timestamps(), [0, 1, 2, 3])


def test_other_widths_grow_too() -> None:
    rows = StepRows(1, width=13)  # e.g. the risk measures' columns
    for i in range(5):
        if rows.n == rows.capacity:
            rows.grow()
        rows.vals[:, rows.n] = np.arange(13) + i
        rows.n += 1
    assert rows.vals.shape == (13, 8)
    assert rows.vals[12, :5].tolist() == [12.0, 13.0, 14.0, 15.0, 16.0]
    assert [r[1:3] for r in rows.since(3)] == [(3.0, 4.0), (4.0, 5.0)]
