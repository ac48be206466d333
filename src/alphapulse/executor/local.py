"""Local worker processes. One worker or one item: everything runs in this process.
Otherwise a fork pool whose workers receive the shared object once (through the pool
initializer; fork shares it copy-on-write). After numba's parallel (OpenMP) threads
started in this process a fork is unsafe, so the workers start from a fork server and
re-import the package (seconds): that pool is kept per process (created on first use,
reused by every later map of the same width, closed at exit) and the shared object is
pickled once per map into a file each worker reads once per map. A task's error is
raised as the task raised it, at once: the map's tasks not started yet are cancelled
and its running ones killed (tasks are pure; that pool is not reused). A worker that
dies under a task (``os._exit``, a signal, the OOM killer) is :class:`WorkerDied` naming
the items it ran: each task leaves a marker (its worker's pid) in the map's temporary
folder while it runs."""

from __future__ import annotations

import atexit
import itertools
import multiprocessing as mp
import os
import pickle
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from queue import Empty
from typing import Any, TypeVar

from alphapulse.core.workers import exit_with_parent
from alphapulse.executor.base import Report, WorkerDied

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

# Worker-process state, set once per worker by the pool initializer.
_WORKER: dict[str, Any] = {}
# This process's persistent fork-server pools by width, with their progress queues.
_POOLS: dict[int, tuple[ProcessPoolExecutor, Any]] = {}
_POOLS_LOCK = threading.Lock()
_MAP_IDS = itertools.count()


def _init_worker(shared: Any, queue: Any) -> None:
    exit_with_parent()
    _WORKER["shared"] = shared
    _WORKER["queue"] = queue


@contextmanager
def _running(folder: str, index: int) -> Iterator[None]:
    """Marks item ``index`` as running in this worker (the file ``<index>`` holds its
    pid) until it returns or raises: what is left names the items of a dead worker."""
    marker = Path(folder, str(index))
    marker.write_text(str(os.getpid()))
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def _run(fn: Callable[[Any, Any, Report], Any], item: Any, index: int, folder: str) -> Any:
    queue = _WORKER["queue"]

    def report(*args: Any) -> None:
        queue.put(args)

    with _running(folder, index):
        return fn(_WORKER["shared"], item, report if queue is not None else None)


def _run_pooled(
    fn: Callable[[Any, Any, Report], Any],
    item: Any,
    index: int,
    map_id: int,
    folder: str,
    progress: bool,
) -> Any:
    """A task of a persistent pool: the map's shared object is read once per worker;
    progress goes out tagged with the map, then one ``None`` marks the task's end."""
    if _WORKER.get("map_id") != map_id:
        _WORKER["shared"] = pickle.loads(Path(folder, _SHARED).read_bytes())  # our own file
        _WORKER["map_id"] = map_id
    with _running(folder, index):
        if not progress:
            return fn(_WORKER["shared"], item, None)
        queue = _WORKER["queue"]

        def report(*args: Any) -> None:
            queue.put((map_id, args))

        try:
            return fn(_WORKER["shared"], item, report)
        finally:
            queue.put((map_id, None))


class LocalExecutor:
    """``num_cpus`` worker processes (default: one per core)."""

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
        if _start_method() == "forkserver":
            return _map_persistent(n, fn, items, shared, progress)
        ctx = mp.get_context("fork")
        queue = ctx.Queue() if progress is not None else None
        with (
            _map_folder() as folder,
            ProcessPoolExecutor(
                n, mp_context=ctx, initializer=_init_worker, initargs=(shared, queue)
            ) as pool,
        ):
            futures = [pool.submit(_run, fn, item, i, folder) for i, item in enumerate(items)]
            try:
                out = _collect(futures, lambda: _drain(queue, progress))
            except BrokenProcessPool:  # a worker died under a task: say which
                died = _worker_died(pool, folder)
                _abandon(pool)
                raise died from None
            except BaseException:  # a failed task: the rest of the map never runs
                _abandon(pool)
                raise
        _drain(queue, progress)  # after the workers exited: their queue feeders flushed
        return out


def _map_persistent(
    n: int,
    fn: Callable[[S, T, Report], R],
    items: Sequence[T],
    shared: S,
    progress: Callable[..., None] | None,
) -> list[R]:
    pool, queue = _pool(n)
    map_id = next(_MAP_IDS)
    relay = _Relay(queue, map_id, progress)
    with _map_folder(shared, pickled=True) as folder, _POOLS_LOCK:
        futures = [
            pool.submit(_run_pooled, fn, item, i, map_id, folder, progress is not None)
            for i, item in enumerate(items)
        ]
        try:
            out = _collect(futures, relay.drain)
            relay.finish(len(items))
        except BrokenProcessPool:  # a worker died under a task: say which
            died = _worker_died(pool, folder)
            _close(n)
            raise died from None
        except BaseException:  # before the shared file goes: no worker reads it after
            _close(n)  # a broken or interrupted pool is not reused
            raise
    return out


class _Relay:
    """Forwards one map's progress from a persistent pool's queue (earlier maps' late
    messages are dropped) and counts its finished tasks."""

    def __init__(self, queue: Any, map_id: int, progress: Callable[..., None] | None) -> None:
        self.queue, self.map_id, self.progress, self.done = queue, map_id, progress, 0

    def _take(self, msg: tuple[int, tuple[Any, ...] | None]) -> None:
        if msg[0] != self.map_id or self.progress is None:
            return
        if msg[1] is None:
            self.done += 1
        else:
            self.progress(*msg[1])

    def drain(self) -> None:
        if self.progress is None:
            return
        while True:
            try:
                self._take(self.queue.get_nowait())
            except Empty:
                return

    def finish(self, n_tasks: int) -> None:
        """Wait for every task's end marker: all of its progress came before it."""
        while self.progress is not None and self.done < n_tasks:
            self._take(self.queue.get(timeout=30))


def _pool(n: int) -> tuple[ProcessPoolExecutor, Any]:
    """This process's fork-server pool of ``n`` workers (created on first use)."""
    with _POOLS_LOCK:
        if n in _POOLS and _POOLS[n][0]._broken:  # a worker died between maps: afresh
            _close(n)
        if n not in _POOLS:
            ctx = mp.get_context("forkserver")
            queue = ctx.Queue()
            pool = ProcessPoolExecutor(
                n, mp_context=ctx, initializer=_init_worker, initargs=(None, queue)
            )
            _POOLS[n] = (pool, queue)
        return _POOLS[n]


def _close(n: int) -> None:
    entry = _POOLS.pop(n, None)
    if entry is not None:
        _abandon(entry[0])


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Stop a failed map's pool now: its tasks not started are cancelled and its workers
    killed, so no task of the map runs on (nor holds up this process's exit)."""
    workers = list(pool._processes.values())  # (no public way before Python 3.14)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.kill()
        process.join()


@atexit.register
def close_pools() -> None:
    """Shut down this process's persistent pools (also run at exit)."""
    for n in list(_POOLS):
        pool, _ = _POOLS.pop(n)
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_died(pool: ProcessPoolExecutor, folder: str) -> WorkerDied:
    """Which items a broken pool's dead worker ran, and how it died. The pool's own
    thread terminates (SIGTERM) the other workers: waited for, so every exit code is
    known; a worker that ended otherwise died by itself (else: every item still marked)."""
    thread: threading.Thread | None = getattr(pool, "_executor_manager_thread", None)
    if thread is not None:
        thread.join(timeout=10)
    codes = {pid: p.exitcode for pid, p in (pool._processes or {}).items()}
    dead = {pid: c for pid, c in codes.items() if c is not None and c != -signal.SIGTERM}
    marked: dict[int, list[int]] = {}
    for marker in Path(folder).iterdir():
        if marker.name.isdigit():
            pid = int(marker.read_text() or 0)
            marked.setdefault(pid, []).append(int(marker.name))
    items = [i for pid in dead for i in marked.get(pid, [])] or [
        i for found in marked.values() for i in found
    ]
    code = next(iter(dead.values()), None)
    if code is None:
        why = "died"
    elif code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        why = f"was killed by {name}" + (" (out of memory?)" if code == -signal.SIGKILL else "")
    else:
        why = f"exited with code {code}"
    return WorkerDied(why, tuple(sorted(items)))


_SHARED = "shared.pkl"


@contextmanager
def _map_folder(shared: Any = None, pickled: bool = False) -> Iterator[str]:
    """A map's temporary folder (removed on every path): the tasks' running markers and,
    if ``pickled``, the shared object as ``shared.pkl``."""
    folder = tempfile.mkdtemp(prefix="alphapulse-map-")
    try:
        if pickled:
            with open(os.path.join(folder, _SHARED), "wb") as f:
                pickle.dump(shared, f, protocol=pickle.HIGHEST_PROTOCOL)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _collect(futures: list[Future[Any]], drain: Callable[[], None]) -> list[Any]:
    """The futures' results in order, calling ``drain`` (progress) while they run."""
    index = {f: i for i, f in enumerate(futures)}
    results: dict[int, Any] = {}
    pending: set[Future[Any]] = set(futures)
    while pending:
        done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
        drain()
        for f in done:
            results[index[f]] = f.result()
    return [results[i] for i in range(len(futures))]


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
