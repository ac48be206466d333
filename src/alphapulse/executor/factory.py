"""``get_executor``: the executor a configuration names."""

from __future__ import annotations

from alphapulse.executor.base import Executor
from alphapulse.executor.config import ExecutorConfig
from alphapulse.executor.local import LocalExecutor


def get_executor(cfg: ExecutorConfig | None = None, workers: int | None = None) -> Executor:
    """Local processes by default; ``workers`` overrides ``cfg.num_cpus`` for local runs."""
    cfg = cfg or ExecutorConfig()
    if cfg.kind == "ray":
        from alphapulse.executor.ray_executor import RayExecutor

        return RayExecutor(cfg)
    return LocalExecutor(workers or cfg.num_cpus)
