"""Time-zone names in configs: checked when the config is read, not at the first bar."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Files of the zone database that are not zones of a place: ``localtime`` is whatever the
#: machine is set to, ``posixrules`` a default rule set (the same config must run alike
#: everywhere); ``posix/`` and ``right/`` (leap seconds) are copies under other rules.
_MACHINE_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def time_zone(name: str) -> str:
    """``name`` when it is an IANA time zone (``America/New_York``, ``UTC``), else a
    ``ValueError`` naming it (a pydantic field validator)."""
    if name in _MACHINE_ZONES or name.startswith(("posix/", "right/")):
        raise ValueError(
            f"time zone {name!r} depends on the machine's settings or leap-second tables"
            " (an IANA name such as America/New_York)"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # '', '../x', a folder ('America')
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as America/New_York)"
        ) from None
    return name
