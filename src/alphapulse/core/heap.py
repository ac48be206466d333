"""Keep CPython's cycle collector off the objects that exist before a long run.

A backtest allocates many long-lived container objects (orders, fills, parents). Each
time those grow by a quarter of the heap, CPython runs a full collection that walks
every tracked object: mostly the imported libraries' (numba, pandas), hundreds of
thousands that the run never touches. ``frozen_heap`` moves them to the permanent
generation (``gc.freeze``) for the run and back afterwards (``gc.unfreeze``): cycles
made during the run are still collected; garbage among the older objects waits until
the run ends. A heap that is already frozen (a pre-fork server's own ``gc.freeze``, or
another run in this process) is left as it is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
