"""Light executor tasks: a fork-server worker imports only this module to run them."""

from __future__ import annotations

import os

from alphapulse.executor import Report


def pid_plus(shared: int, item: int, report: Report) -> tuple[int, int]:
    """``(shared + item, worker pid)``; reports ``("item", item)``."""
    if report is not None:
        report("item", item)
    return shared + item, os.getpid()
