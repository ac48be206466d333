"""Where parallel work runs: local worker processes (default) or a Ray cluster.

Every place that fans out work (the strategies of a multi-strategy backtest, sweep
chunks, walk-forward folds) calls :meth:`Executor.map` with one *shared* object (the data
panel) and a list of small items; see ``docs/scaling.md``."""

from alphapulse.executor.base import Executor, Report, Task, WorkerDied
from alphapulse.executor.config import ExecutorConfig
from alphapulse.executor.factory import get_executor

__all__ = ["Executor", "ExecutorConfig", "Report", "Task", "WorkerDied", "get_executor"]
