"""``make_bus``: a bus from a URL."""

from __future__ import annotations

from typing import Any

from alphapulse.bus.base import Bus
from alphapulse.bus.memory import InProcessBus
from alphapulse.bus.redis_streams import RedisStreamsBus

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def make_bus(url: str | None = None, **options: Any) -> Bus:
    """``None``, ``"memory"`` or ``"memory://"``: an ``InProcessBus``; ``redis://...``
    (or ``rediss://``, ``unix://``): a ``RedisStreamsBus``. ``options`` go to the
    constructor (e.g. ``maxlen``, ``prefix``)."""
    if url is None or url in ("memory", "memory://"):
        return InProcessBus(**options)
    if url.startswith(_REDIS_SCHEMES):
        return RedisStreamsBus(url, **options)
    raise ValueError(f"unsupported bus URL {url!r}: use 'memory' or 'redis://host:port/db'")
