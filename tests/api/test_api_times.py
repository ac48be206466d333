"""Client dates: ISO strings only, clamped to what pandas holds, ns equal to pandas'."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from alphapulse.api.times import FIRST, LAST, When, clamped, to_ns

WHEN = TypeAdapter(When)
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30))])


@given(
    st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(2250, 1, 1), timezones=zones)
)
def test_in_range_ns_equal_pandas(when: datetime) -> None:
    ts = pd.Timestamp(when)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    assert to_ns(when) == ts.value
    assert WHEN.validate_python(when.isoformat()) == when


@given(st.datetimes(timezones=zones))
def test_any_year_is_clamped_into_pandas_range(when: datetime) -> None:
    ns = to_ns(when)
    assert ns is not None and to_ns(FIRST) <= ns <= to_ns(LAST)
    pd.Timestamp(ns, tz="UTC")  # representable


def test_dates_and_bounds() -> None:
    assert WHEN.validate_python("2015-01-02") == datetime(2015, 1, 2)
    assert clamped(date(1, 1, 1)) == FIRST.date() and clamped(date(9999, 1, 1)) == LAST.date()
    assert to_ns(date(1970, 1, 2)) == 86_400 * 10**9 and WHEN.validate_python(None) is None


@pytest.mark.parametrize("bad", ["0.5", "1700000000", 1700000000, "soon", "2015-13-01", True])
def test_numbers_and_non_dates_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        WHEN.validate_python(bad)
