"""Pool workers that end with the process that started them.

A ``ProcessPoolExecutor`` worker waits on its call queue, whose pipe it holds both ends
of: when its parent dies without shutting the pool down (SIGKILL, the OOM killer, a
``docker kill``), the worker waits forever and keeps its memory. Used as (part of) a
pool's initializer, :func:`exit_with_parent` starts a daemon thread that waits on the
parent's sentinel and ends the worker as soon as the parent is gone.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import threading


def exit_with_parent() -> None:
    """In a multiprocessing child: exit (code 1) when the parent process dies."""
    parent = mp.parent_process()
    if parent is None:  # not a multiprocessing child
        return
    sentinel = parent.sentinel

    def watch() -> None:
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="alphapulse-parent-watch", daemon=True).start()
