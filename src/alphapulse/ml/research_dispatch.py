"""Where ``alphapulse research`` runs its strategies: the ML strategy (its walk-forward
refits, fold after fold, inside one engine run) and each gated baseline are one task
each of the configured executor (``executor:``; see ``docs/scaling.md``). Without one,
the ML strategy runs in this process and the baselines through ``run_backtest``."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from alphapulse.config import BacktestConfig
from alphapulse.data.panel import Panel
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import make_engine, run_backtest, run_strategy
from alphapulse.executor import ExecutorConfig, Report, get_executor
from alphapulse.ml.drift import DriftEvent
from alphapulse.strategies.ml_strategy import MLStrategy, RetrainRecord


class MLRun(NamedTuple):
    """What the report needs of the ML strategy's run (picklable, unlike the engine)."""

    result: RunResult
    predictions: npt.NDArray[np.float64]
    retrains: list[RetrainRecord]
    drift_events: list[DriftEvent]
    seconds: float  # the ML run's wall time


def run_ml(cfg: BacktestConfig, panel: Panel) -> tuple[RunResult, MLStrategy]:
    """The ML strategy (``cfg.strategies[0]``) in this process (its predictions and drift
    events are kept)."""
    feed = PanelFeed(panel, cfg.data.session_tz)
    engine = make_engine(cfg, cfg.strategies[0], panel.symbols, feed.history)
    result = engine.run(feed)
    assert isinstance(engine.strategy, MLStrategy)
    return result, engine.strategy


def _ml_run(cfg: BacktestConfig, panel: Panel) -> MLRun:
    t = time.perf_counter()
    result, s = run_ml(cfg, panel)
    seconds = time.perf_counter() - t
    return MLRun(result, s.predictions, list(s.retrains), list(s.drift_events), seconds)


def _task(panel: Panel, job: tuple[BacktestConfig, bool], report: Report) -> Any:
    cfg, ml = job
    return _ml_run(cfg, panel) if ml else run_strategy(cfg, cfg.strategies[0], panel)


def run_all(
    executor: ExecutorConfig | None, ml: BacktestConfig, baselines: BacktestConfig, panel: Panel
) -> tuple[MLRun, dict[str, RunResult]]:
    """The ML run and the baselines' results by label (config order)."""
    if executor is None:
        return _ml_run(ml, panel), dict(run_backtest(baselines, panel))
    jobs = [(ml, True)] + [
        (baselines.model_copy(update={"strategies": [s]}), False) for s in baselines.strategies
    ]
    out = get_executor(executor).map(_task, jobs, panel)
    labels = [s.label for s in baselines.strategies]
    return out[0], dict(zip(labels, out[1:], strict=True))
