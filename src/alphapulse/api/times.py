"""Dates and times a client sends (``?start=``, ``data.start``): ISO 8601 strings only
(a date or a date-time, naive = UTC), as the OpenAPI schema says; not the numbers that
pydantic would read as Unix times. Any year 1-9999 is valid: bounds beyond what pandas
holds (``data.raw.DATE_RANGE``) are clamped, since they cover all data anyway. A midnight
end stands for its whole day (``data.raw.time_bounds``), so from pandas' last day on a
bound is clamped to its last whole second (a midnight there would end past it)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST, LAST = datetime(1677, 9, 22, tzinfo=UTC), datetime(2262, 4, 11, 23, 47, 16, tzinfo=UTC)
_LAST_DAY = datetime(2262, 4, 11, tzinfo=UTC)


def _iso_only(value: Any) -> Any:
    if value is not None and not (isinstance(value, str) and _ISO.match(value)):
        raise ValueError("not an ISO 8601 date or time (YYYY-MM-DD[THH:MM[:SS][zone]])")
    return value


When = Annotated[
    datetime | date | None,
    BeforeValidator(_iso_only),
    Field(description="ISO 8601 date or date-time (naive = UTC)"),
]


def clamped(when: date | datetime | None) -> date | datetime | None:
    """``when`` moved into [FIRST, LAST] (a bound before all data means all data)."""
    if when is None:
        return None
    if isinstance(when, datetime):
        aware = when if when.tzinfo else when.replace(tzinfo=UTC)
        return FIRST if aware < FIRST else LAST if aware >= _LAST_DAY else when
    return FIRST.date() if when < FIRST.date() else LAST if when >= _LAST_DAY.date() else when


def to_ns(when: date | datetime | None) -> int | None:
    """``when`` (naive = UTC, a date = its midnight) in ns since the epoch, clamped."""
    found = clamped(when)
    if found is None:
        return None
    if not isinstance(found, datetime):
        found = datetime(found.year, found.month, found.day)
    delta = (found if found.tzinfo else found.replace(tzinfo=UTC)) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000
