"""Client dates: ISO strings only, clamped to what pandas holds, ns equal to pandas'."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from alphapulse.api.run_request import RunData
from alphapulse.api.times import FIRST, LAST, When, clamped, to_ns
from alphapulse.data.raw import time_bounds

from .conftest import AUTH, TINY_RUN, wait_finished

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
    assert clamped(date(1, 1, 1)) == FIRST.date() and clamped(date(9999, 1, 1)) == LAST
    assert to_ns(date(1970, 1, 2)) == 86_400 * 10**9 and WHEN.validate_python(None) is None


@pytest.mark.parametrize("bad", ["0.5", "1700000000", 1700000000, "soon", "2015-13-01", True])
def test_numbers_and_non_dates_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        WHEN.validate_python(bad)


@pytest.mark.parametrize("end", ["2262-04-11", "2262-04-11T12:00:00", "9999-12-31"])
def test_a_clamped_end_is_read_by_the_data_layer(end: str, shared_data: Path) -> None:
    """A midnight end stands for its whole day in the data layer: pandas' last day (or
    any later one) must not become a bound past what pandas holds."""
    data = {"source": "sp500_daily_2013_2018", "end": end}
    run = RunData.model_validate(data).model_dump()
    _, hi = time_bounds(None, run["end"])
    assert hi is not None and hi.year == 2262


def test_a_run_until_year_9999_finishes(client: TestClient, shared_data: Path) -> None:
    """Any year 1-9999 is a valid bound (docs/api.md): the run gets the dataset's bars."""
    data = {**TINY_RUN["data"], "start": "2015-12-01", "end": "9999-12-31"}
    body = {**TINY_RUN, "data": data, "strategies": [{"strategy": "buy_and_hold"}]}
    res = client.post("/runs", json=body, headers=AUTH)
    assert res.status_code == 202, res.text
    rid = res.json()["runs"][0]["id"]
    run = f"/runs/{rid}"
    assert wait_finished(client, [rid]) == ["finished"], client.get(run, headers=AUTH).text
    rows = client.get(f"{run}/portfolio?limit=1000", headers=AUTH).json()
    assert rows["total"] > 0 and rows["items"][-1]["ts"].startswith("2018-")
