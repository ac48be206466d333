"""Time-zone names in configs: checked when the config is read, not at the first bar."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def time_zone(name: str) -> str:
    """``name`` when it is an IANA time zone (``America/New_York``, ``UTC``), else a
    ``ValueError`` naming it (a pydantic field validator)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # '', '../x', a folder ('America')
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as America/New_York)"
        ) from None
    return name
