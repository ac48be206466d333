"""The normal form of news items."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from alphapulse.core.errors import DataError
from alphapulse.news import items


def test_a_published_at_without_a_time_zone_is_an_error_naming_its_row() -> None:
    # before: 14:30 of unknown zone was taken as 14:30 UTC (known 5 hours early if New York)
    aware = pd.Timestamp("2022-01-03 14:30", tz="America/New_York")
    rows = pd.DataFrame(
        {"symbol": "TSLA", "headline": ["a", "b"], "published_at": [aware, datetime(2022, 1, 3)]}
    )
    with pytest.raises(DataError, match="row 1, field 'published_at': time without a time zone"):
        items.normalize(rows)
    table = items.normalize(rows.iloc[:1])
    assert table["known_at"].tolist() == [pd.Timestamp("2022-01-03 19:30", tz="UTC")]
