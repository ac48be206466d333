"""Time-zone names in configs: an IANA zone passes; anything else is a one-line error
naming the field, never a traceback."""

from __future__ import annotations

import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.core.timezones import time_zone

BASE = {
    "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL"]},
    "strategies": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}],
}


@pytest.mark.parametrize("name", ["America/New_York", "EST5EDT", "UTC", "Asia/Kathmandu"])
def test_iana_zones_pass(name: str) -> None:
    assert time_zone(name) == name


# 'America' and 'Etc' are folders of the zone database, not zones (they were read as files)
@pytest.mark.parametrize("name", ["Mars/Olympus", "America", "Etc", "America/", ""])
def test_other_names_are_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        time_zone(name)


@pytest.mark.parametrize("name", ["Mars/Olympus", "America", "Europe"])
def test_bad_session_tz_names_the_field(name: str) -> None:
    cfg = {**BASE, "data": {**BASE["data"], "session_tz": name}}
    with pytest.raises(ConfigError) as exc:
        parse_config(cfg, "run.yaml")
    assert f"data.session_tz: Value error, unknown time zone {name!r}" in str(exc.value)


@pytest.mark.parametrize("name", ["localtime", "posixrules", "posix/Europe/Paris", "right/UTC"])
def test_machine_dependent_names_are_refused(name: str) -> None:
    """``localtime`` is the machine's own zone (and ``right/`` counts leap seconds): the
    same config would run differently on another machine."""
    with pytest.raises(ValueError, match="depends on the machine"):
        time_zone(name)
