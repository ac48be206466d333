"""Local worker processes: a fork pool whose workers receive the shared object once
(through the pool initializer; fork shares it copy-on-write). One worker or one item:
everything runs in this process. After numba's parallel (OpenMP) threads started in this
process a fork is unsafe, so the pool starts from a fork server instead (the shared
object is then pickled once per worker)."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from queue import Empty
from typing import Any, TypeVar

from alphapulse.executor.base import Report

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

# Worker-process state, set once per worker by the pool initializer.
_WORKER: dict[str, Any] = {}


def _init_worker(shared: Any, queue: Any) -> None:
    _WORKER["shared"] = shared
    _WORKER["queue"] = queue


def _run(fn: Callable[[Any, Any, Report], Any], item: Any) -> Any:
    queue = _WORKER["queue"]

    def report(*args: Any) -> None:
        queue.put(args)

    return fn(_WORKER["shared"], item, report if queue is not None else None)


class LocalExecutor:
    """``num_cpus`` forked worker processes (default: one per core)."""

    def __init__(self, num_cpus: int | None = None) -> None:
        self._n = num_cpus or os.cpu_count() or 1

    @property
    def workers(self) -> int:
        return self._n

    def map(
        self,
        fn: Callable[[S, T, Report], R],
        items: Sequence[T],
        shared: S,
        progress: Callable[..., None] | None = None,
    ) -> list[R]:
        n = min(self._n, len(items))
        if n <= 1:
            return [fn(shared, item, progress) for item in items]
        results: dict[int, R] = {}
        ctx = mp.get_context(_start_method())
        queue = ctx.Queue() if progress is not None else None
        with ProcessPoolExecutor(
            n, mp_context=ctx, initializer=_init_worker, initargs=(shared, queue)
        ) as pool:
            futures = {pool.submit(_run, fn, item): i for i, item in enumerate(items)}
            pending: set[Future[Any]] = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                _drain(queue, progress)
                for f in done:
                    results[futures[f]] = f.result()
        _drain(queue, progress)  # after the workers exited: their queue feeders flushed
        return [results[i] for i in range(len(items))]


def _start_method() -> str:
    """``fork``, or ``forkserver`` once numba's threading layer is running here."""
    try:
        from numba.np.ufunc import parallel
    except ImportError:  # pragma: no cover - numba is a dependency
        return "fork"
    return "forkserver" if getattr(parallel, "_is_initialized", False) else "fork"


def _drain(queue: Any, progress: Callable[..., None] | None) -> None:
    if queue is None or progress is None:
        return
    while True:
        try:
            args = queue.get_nowait()
        except Empty:
            return
        progress(*args)
