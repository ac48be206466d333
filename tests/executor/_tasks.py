"""Light executor tasks: a fork-server worker imports only this module to run them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from alphapulse.core.errors import ConfigError
from alphapulse.executor import Report


def pid_plus(shared: int, item: int, report: Report) -> tuple[int, int]:
    """``(shared + item, worker pid)``; reports ``("item", item)``."""
    if report is not None:
        report("item", item)
    return shared + item, os.getpid()


def fails_on_two(shared: int, item: int, report: Report) -> int:
    """``shared + item``; item 2 raises a ConfigError (a user error: one line)."""
    if item == 2:
        raise ConfigError(f"item {item}: bad value")
    return shared + item


def fail_first(shared: str, item: int, report: Report) -> int:
    """Item 0 raises at once; every other item leaves a file named after it in the
    folder ``shared`` (it started), takes 30 seconds (longer than item 0 takes to fail on
    a loaded machine), then leaves ``<item>.done``."""
    if item == 0:
        raise ValueError("item 0 failed")
    (Path(shared) / str(item)).touch()
    time.sleep(30.0)
    (Path(shared) / f"{item}.done").touch()
    return item


def exits_on_one(shared: int, item: int, report: Report) -> int:
    """``shared + item``; item 1 ends its worker process (``os._exit``) instead."""
    if item == 1:
        os._exit(3)
    return shared + item
