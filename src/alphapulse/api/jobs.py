"""Backtests started through the API: run rows are created up front (status
``running``), the work runs in a worker process (or thread) and is recorded through
``engine.recording`` under those same run ids; failures mark the runs ``failed``."""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from alphapulse.api.metrics import Metrics
from alphapulse.api.security import redact_text
from alphapulse.config import BacktestConfig
from alphapulse.core.errors import validation_text
from alphapulse.core.workers import exit_with_parent
from alphapulse.store import Store
from alphapulse.store.engine import create_store_engine
from alphapulse.store.runs import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunStats:
    """What a finished strategy run reports back to the API process."""

    run_id: str
    bars: int
    orders: int
    fills: int
    rejections: int
    final_equity: float


def run_name(cfg: BacktestConfig, label: str) -> str:
    """The ``runs.name`` that ``engine.recording`` gives strategy ``label``."""
    return f"{cfg.name}/{label}"


def execute(
    db_url: str,
    config: dict[str, Any],
    ids: dict[str, str],
    started_at: datetime,
    workers: int | None,
) -> dict[str, RunStats]:
    """Load the data, run every strategy and record each run (worker-side entry point)."""
    from alphapulse.engine.outputs import summary
    from alphapulse.engine.recording import data_hash, record_run
    from alphapulse.engine.runner import Tables, load_data, run_backtest

    cfg = BacktestConfig.model_validate(config)
    panel = load_data(cfg)
    tables: dict[str, Tables] = {}  # the strategies' extra tables, as `backtest --record`
    results = run_backtest(cfg, panel, workers=workers, tables=tables)
    digest = data_hash(panel)
    store = Store(create_store_engine(db_url))
    stats: dict[str, RunStats] = {}
    try:
        for label, result in results.items():
            rid = record_run(
                store,
                cfg,
                label,
                result,
                summary(result),
                digest,
                run_id=ids.get(label),
                started_at=started_at,
                anomalies=tables.get(label, {}).get("anomalies"),
                regimes=tables.get(label, {}).get("regimes"),
            )
            stats[label] = RunStats(
                run_id=rid,
                bars=len(result.timestamps),
                orders=len(result.orders),
                fills=len(result.fills),
                rejections=sum(1 for o in result.orders if o.status.value == "rejected"),
                final_equity=float(result.equity[-1]) if len(result.equity) else 0.0,
            )
    finally:
        store.close()
    return stats


def warm_up() -> None:
    """Import the engine in a worker ahead of the first job (a few seconds in a fresh
    process)."""
    import alphapulse.engine.recording
    import alphapulse.engine.runner  # noqa: F401


class RunManager:
    """Owns the worker pool; creates run rows, submits jobs and books their outcome."""

    def __init__(
        self, store: Store, db_url: str, metrics: Metrics, *, max_jobs: int, mode: str
    ) -> None:
        self._store = store
        self._db_url = db_url
        self._metrics = metrics
        self._mode = mode
        self._max_jobs = max_jobs
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        if mode == "process":
            self._pool.submit(warm_up)

    def _new_pool(self) -> Executor:
        if self._mode == "process":
            return ProcessPoolExecutor(
                self._max_jobs, mp_context=mp.get_context("spawn"), initializer=exit_with_parent
            )
        return ThreadPoolExecutor(self._max_jobs, thread_name_prefix="alphapulse-backtest")

    def submit(self, cfg: BacktestConfig) -> dict[str, str]:
        """Create one ``running`` run per strategy and start the backtest; returns the
        run ids by strategy label."""
        started = utc_now()
        full = cfg.model_dump(mode="json")
        ids: dict[str, str] = {}
        for scfg in cfg.strategies:
            rid = uuid.uuid4().hex
            config = {**full, "strategies": [scfg.model_dump(mode="json")]}
            self._store.record_run(
                run_name(cfg, scfg.label),
                config,
                run_id=rid,
                status="running",
                initial_cash=cfg.initial_cash,
                started_at=started,
            )
            ids[scfg.label] = rid
        # Threads share this process: run the strategies in-thread (no fork from a
        # threaded server); a worker process may fork its own pool.
        workers = None if self._mode == "process" else 1
        self._metrics.backtest_started()
        args = (self._db_url, full, ids, started, workers)
        try:
            with self._lock:
                try:
                    future = self._pool.submit(execute, *args)
                except BrokenProcessPool:  # a worker died (killed, out of memory): afresh
                    self._pool.shutdown(wait=False)
                    self._pool = self._new_pool()
                    future = self._pool.submit(execute, *args)
        except Exception as exc:  # not started (shutting down): the runs are not running
            self._fail(ids, exc)
            raise
        future.add_done_callback(self._on_done(ids))
        return ids

    def _on_done(self, ids: dict[str, str]) -> Callable[[Future[dict[str, RunStats]]], None]:
        def done(future: Future[dict[str, RunStats]]) -> None:
            if future.cancelled():
                self._fail(ids, None)
                return
            exc = future.exception()
            if exc is not None:
                self._fail(ids, exc)
                return
            stats = future.result()
            for label, s in stats.items():
                m = self._metrics
                m.bar_processed(label, s.bars)
                m.order(label, s.orders)
                m.fill(label, s.fills)
                if s.rejections:
                    m.rejection(label, "rejected", s.rejections)
                m.portfolio_value(label, s.final_equity)
            self._metrics.backtest_ended("finished")

        return done

    def _fail(self, ids: dict[str, str], exc: BaseException | None) -> None:
        """Mark the runs still ``running`` as failed (``exc``) or cancelled (None)."""
        status = "cancelled" if exc is None else "failed"
        message = "cancelled at shutdown" if exc is None else _one_line(exc)
        message = redact_text(message)[:2000]
        log.warning("backtest %s %s: %s", ",".join(ids.values()), status, message)
        self._metrics.backtest_ended(status)
        for rid in ids.values():
            try:
                run = self._store.read_run(rid)
                if run is not None and run["status"] == "running":
                    self._store.finish_run(rid, status=status, metrics={"error": message})
            except Exception as db_exc:  # keep marking the others
                log.warning("could not mark run %s failed: %s", rid, type(db_exc).__name__)

    def shutdown(self) -> None:
        """Stop accepting work; wait for running jobs, drop queued ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _one_line(exc: BaseException) -> str:
    """A run's error for its record: one line, naming fields but never echoing the
    values that failed validation (they may be a server file's content)."""
    text = validation_text(exc) if isinstance(exc, ValidationError) else str(exc)
    return f"{type(exc).__name__}: {' '.join(text.split())}"
