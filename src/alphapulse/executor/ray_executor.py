"""Ray tasks. The shared object goes into the object store once (``ray.put``); every
task receives the reference and Ray hands it the stored value (numpy arrays zero-copy
on the worker's node), so the panel crosses the wire once per node, not once per task."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from alphapulse.core.errors import ConfigError
from alphapulse.executor.base import Report, WorkerDied
from alphapulse.executor.config import ExecutorConfig

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


def _call(fn: Callable[[Any, Any, Report], Any], shared: Any, item: Any) -> Any:
    return fn(shared, item, None)


def connect(cfg: ExecutorConfig) -> Any:
    """The ``ray`` module, connected as ``cfg`` says (an existing connection is kept)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "executor.kind: ray needs the ray package: pip install 'alphapulse[ray]'"
        ) from None
    if ray.is_initialized():
        return ray
    opts: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    try:
        if cfg.address.startswith("ray://"):
            ray.init(address=cfg.address, log_to_driver=False)
        elif cfg.address == "auto" and os.environ.get("RAY_ADDRESS"):
            ray.init(address="auto", log_to_driver=False)
        else:  # start a local head (address "local", or "auto" with no cluster named)
            ray.init(num_cpus=cfg.num_cpus, **opts)
    except Exception as exc:  # unreachable cluster, missing client extra, bad address
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"executor.address {cfg.address}: Ray did not start: {why}") from None
    return ray


class RayExecutor:
    """Runs each item as one Ray task (``num_cpus=1``). A task's exception is raised as
    the task raised it (its one-line message, not Ray's wrapper with the remote
    traceback in its text); a task whose worker Ray lost (after its retries) is
    :class:`WorkerDied` naming the item."""

    def __init__(self, cfg: ExecutorConfig) -> None:
        self._ray = connect(cfg)
        self._remote = self._ray.remote(num_cpus=1, max_retries=2)(_call)

    @property
    def workers(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map(
        self,
        fn: Callable[[S, T, Report], R],
        items: Sequence[T],
        shared: S,
        progress: Callable[..., None] | None = None,
    ) -> list[R]:
        if not items:
            return []
        ref = self._ray.put(shared)  # once, however many tasks
        refs = [self._remote.remote(fn, ref, item) for item in items]
        errors = self._ray.exceptions
        for i, task in enumerate(refs):
            try:
                self._ray.get(task)  # (first error in item order; the results stay put)
            except errors.RayTaskError as exc:
                if isinstance(exc.cause, Exception):  # the task's own error, as a local run
                    raise exc.cause from None  # raises it (not Ray's remote traceback text)
                raise
            except errors.RayError as exc:  # its worker (or node) died: not the task's error
                why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise WorkerDied(f"was lost by Ray: {why}", (i,)) from None
        return list(self._ray.get(refs))
