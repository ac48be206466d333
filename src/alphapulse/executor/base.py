"""The executor interface: ``map(fn, items, shared)`` runs ``fn(shared, item, report)``
for every item, in parallel, and returns the results in item order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from alphapulse.core.errors import AlphaPulseError

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

#: Progress callback handed to a task (None where the executor cannot forward it).
Report = Callable[..., None] | None
#: A task: ``(shared, item, report) -> result``; a module-level function (it is pickled).
Task = Callable[[Any, Any, Report], Any]


class WorkerDied(AlphaPulseError):
    """A worker process died under a task (``os._exit``, a signal, the OOM killer) or
    Ray lost it: ``why`` says how, ``items`` are the positions of the items it was
    running (empty where that is not known)."""

    def __init__(self, why: str, items: tuple[int, ...] = ()) -> None:
        where = f" running item {', '.join(map(str, items))}" if items else ""
        super().__init__(f"a worker process{where} {why}")
        self.why, self.items = why, items

    def __reduce__(self) -> tuple[type[WorkerDied], tuple[str, tuple[int, ...]]]:
        return type(self), (self.why, self.items)


class Executor(Protocol):
    """Runs tasks over items; the shared object is shipped to each worker once."""

    @property
    def workers(self) -> int:
        """How many tasks can run at the same time."""
        ...

    def map(
        self,
        fn: Callable[[S, T, Report], R],
        items: Sequence[T],
        shared: S,
        progress: Callable[..., None] | None = None,
    ) -> list[R]:
        """``[fn(shared, item, report) for item in items]``, computed in parallel;
        ``report(*args)`` calls ``progress(*args)`` in this process where supported."""
        ...
