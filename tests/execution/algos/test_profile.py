"""The local minute of day the VWAP profile and the session window read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphapulse.execution.algos.profile import LocalMinute

MIN = 60_000_000_000


@pytest.mark.parametrize(
    ("tz", "start", "end"),
    [
        ("America/New_York", "2024-03-09 20:00", "2024-03-11 06:00"),  # DST starts 07:00 UTC
        ("America/New_York", "2024-11-02 20:00", "2024-11-04 06:00"),  # DST ends 06:00 UTC
        ("Asia/Kathmandu", "2024-01-01 00:00", "2024-01-02 00:00"),  # +05:45
        ("UTC", "2024-01-01 00:00", "2024-01-01 12:00"),
    ],
)
def test_local_minute_round_the_clock(tz: str, start: str, end: str) -> None:
    """Minute bars through a DST switch (24h data: a local session spans it): every bar
    is at the local clock's minute, called bar by bar or for an array."""
    ts = np.arange(pd.Timestamp(start, tz="UTC").value, pd.Timestamp(end, tz="UTC").value, MIN)
    local = pd.DatetimeIndex(pd.to_datetime(ts, utc=True)).tz_convert(tz)
    want = np.asarray(local.hour * 60 + local.minute)
    minute_of = LocalMinute(tz)
    assert [minute_of(int(t)) for t in ts] == want.tolist()
    assert LocalMinute(tz).minutes(ts).tolist() == want.tolist()
