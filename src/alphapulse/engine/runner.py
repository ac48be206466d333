"""Backtest runner: one shared data feed, one independent engine (ledger, venue, risk)
per strategy, strategies run in parallel through the configured executor (local
worker processes by default, or Ray: ``alphapulse.executor``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd

from alphapulse.config import BacktestConfig, StrategyConfig
from alphapulse.core.clock import Clock
from alphapulse.core.errors import AlphaPulseError
from alphapulse.data.panel import Panel
from alphapulse.engine.context import History
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import Engine, RunResult, Venue
from alphapulse.engine.planner import OrderPlanner
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.executor import Executor, WorkerDied, get_executor
from alphapulse.executor.local import LocalExecutor
from alphapulse.portfolio.factory import build_constructor
from alphapulse.risk import build_risk
from alphapulse.strategies.base import Strategy
from alphapulse.strategies.registry import load_strategy

ProgressFn = Callable[[str, int, int], None]  # (strategy label, bars done, bars total)
Tables = dict[str, pd.DataFrame]  # a strategy's extra outputs: file stem -> frame


class StrategyError(AlphaPulseError):
    """A strategy failed in its run (its own error, or its worker process died); the
    message names it: ``strategy 'sma' failed: ZeroDivisionError: division by zero``."""


def read_only(panel: Panel) -> Panel:
    """``panel`` with read-only views of its arrays (no copy): what a strategy receives,
    so that one writing into its data fails instead of changing the others' data."""
    frozen = {k: _frozen(v) for k, v in panel.fields.items()}
    return Panel(_frozen(panel.timestamps), panel.symbols, frozen)


def _frozen(arr: Any) -> Any:
    view = arr.view()
    view.flags.writeable = False
    return view


def strategy_tables(strategy: object) -> Tables:
    """The strategy's extra output tables (``Strategy.strategy_outputs``)."""
    return dict(strategy.strategy_outputs()) if isinstance(strategy, Strategy) else {}


def load_data(cfg: BacktestConfig) -> Panel:
    """Load the configured bars (dataset name or path) through the data catalog, as the
    engine trades them (back-adjusted where they hold unapplied splits or dividends)."""
    from pathlib import Path

    from alphapulse.data.catalog import load_panel

    d = cfg.data
    if d.source == "store":
        return load_store_panel(cfg)
    root = Path(d.root) if d.root else None
    policy = d.on_bad or "report"  # unset: bad rows are kept, with one warning line
    return load_panel(
        d.source, d.symbols, start=d.start, end=d.end, root=root, policy=policy, adjust=True
    )


def load_store_panel(cfg: BacktestConfig) -> Panel:
    """Bars of the configured symbols from the database."""
    from alphapulse.core.errors import ConfigError, DataError
    from alphapulse.store import open_store

    d = cfg.data
    if not d.symbols:
        raise ConfigError("data.symbols: required when data.source is 'store'")
    with open_store(d.db_url) as store:
        frames = {s: store.read_bars(s, d.timeframe, d.start, d.end) for s in d.symbols}
    empty = [s for s, f in frames.items() if f.empty]
    if empty:
        raise DataError(f"no {d.timeframe} bars in the store for: {', '.join(empty)}")
    return Panel.from_frames(frames)


def build_engine(cfg: BacktestConfig, scfg: StrategyConfig, feed: PanelFeed) -> Engine:
    """One engine; portfolio construction and the risk stage come from ``cfg.portfolio``
    and ``cfg.risk`` (absent: EqualSlot and the pass-through risk stage)."""
    return make_engine(cfg, scfg, feed.panel.symbols, feed.history)


def make_engine(
    cfg: BacktestConfig,
    scfg: StrategyConfig,
    symbols: tuple[str, ...],
    history: History,
    *,
    venue: Venue | None = None,
    clock: Clock | None = None,
) -> Engine:
    """An engine reading ``history`` (a backtest's or a live feed's); the venue defaults
    to the simulated one of ``cfg.execution``, the clock to the simulated clock."""
    lot = cfg.execution.lot_size
    constructor = planner = None
    if cfg.portfolio is not None:
        constructor = build_constructor(cfg.portfolio, symbols, cfg.data.session_tz)
        rb = cfg.portfolio.rebalance
        if rb is not None:
            planner = OrderPlanner(len(symbols), lot, rb.min_trade_value, mode="always")
    strategy = load_strategy(scfg.strategy, scfg.params)
    algo = None
    if scfg.execution is not None:
        from alphapulse.execution.algos.stage import build_stage

        algo = build_stage(
            scfg.execution, cfg.execution, symbols, cfg.data.session_tz, strategy, cfg.fill_at
        )
    return Engine(
        strategy=strategy,
        symbols=symbols,
        history=history,
        venue=venue if venue is not None else SimulatedVenue(cfg.execution, symbols),
        initial_cash=cfg.initial_cash,
        constructor=constructor,
        risk=_risk(cfg, symbols),
        fill_at=cfg.fill_at,
        lot_size=lot,
        clock=clock,
        name=scfg.label,
        planner=planner,
        algo=algo,
    )


def _risk(cfg: BacktestConfig, symbols: tuple[str, ...]) -> Any:
    """The configured risk stage (None: pass-through); ``anomalies.reaction`` lives in it."""
    if cfg.risk is None:
        if cfg.anomalies is not None and cfg.anomalies.reaction is not None:
            from alphapulse.core.errors import ConfigError

            raise ConfigError("anomalies.reaction: needs a risk: block (risk: {} for defaults)")
        return None
    return build_risk(cfg.risk, symbols, cfg.execution, cfg.anomalies)


def run_strategy(
    cfg: BacktestConfig,
    scfg: StrategyConfig,
    panel: Panel,
    progress: ProgressFn | None = None,
    tables: Tables | None = None,
) -> RunResult:
    """Run one strategy over the panel in this process; ``tables`` (if given) receives
    the strategy's extra outputs (``strategy_tables``)."""
    feed = PanelFeed(read_only(panel), cfg.data.session_tz)
    engine = build_engine(cfg, scfg, feed)
    total = panel.n_bars
    step = max(total // 100, 1)
    tick = None
    if progress is not None:
        label = scfg.label

        shown = [0]  # bars reported so far (a driver may skip bars: engine.sparse)

        def tick(t: int) -> None:
            if t + 1 - shown[0] >= step or t + 1 == total:
                shown[0] = t + 1
                progress(label, t + 1, total)

    result = engine.run(feed, tick)
    if tables is not None:
        tables.update(strategy_tables(engine.strategy))
    return result


def _strategy_task(
    panel: Panel, job: tuple[BacktestConfig, StrategyConfig], report: ProgressFn | None
) -> tuple[RunResult, Tables]:
    """One strategy on the shared panel (an executor task); its error names the strategy
    (``strategy 'sma': ...``), whichever executor ran it: a platform error as itself, any
    other as a StrategyError with its type and first line."""
    tables: Tables = {}
    try:
        return run_strategy(job[0], job[1], panel, report, tables), tables
    except AlphaPulseError as exc:
        if exc.args and isinstance(exc.args[0], str):
            exc.args = (f"strategy {job[1].label!r}: {exc.args[0]}", *exc.args[1:])
        raise
    except Exception as exc:
        text = (str(exc).strip().splitlines() or [""])[0]
        what = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        raise StrategyError(f"strategy {job[1].label!r} failed: {what}") from exc


def run_backtest(
    cfg: BacktestConfig,
    panel: Panel | None = None,
    *,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    tables: dict[str, Tables] | None = None,
) -> dict[str, RunResult]:
    """Run every configured strategy; results keyed by strategy label, in config order.
    ``tables`` (if given) receives each strategy's extra outputs by label (for
    ``write_outputs``)."""
    panel = panel if panel is not None else load_data(cfg)
    n = workers or cfg.workers or min(len(cfg.strategies), os.cpu_count() or 1)
    extra: dict[str, Tables] = {s.label: {} for s in cfg.strategies}
    executor: Executor
    if cfg.executor is None or cfg.executor.kind == "local":
        executor = LocalExecutor(n if len(cfg.strategies) > 1 else 1)
    else:
        executor = get_executor(cfg.executor)
    jobs = [(cfg, s) for s in cfg.strategies]
    try:
        outs = executor.map(_strategy_task, jobs, panel, progress)
    except WorkerDied as exc:  # (the executor knows items, not strategies)
        labels = ", ".join(repr(jobs[i][1].label) for i in exc.items) or "(unknown)"
        raise StrategyError(f"strategy {labels}: its worker process {exc.why}") from None
    results: dict[str, RunResult] = {}
    for scfg, (result, more) in zip(cfg.strategies, outs, strict=True):
        results[scfg.label], extra[scfg.label] = result, more
    if tables is not None:
        tables.update(extra)
        add_anomaly_tables(cfg, panel, tables)
    return {s.label: results[s.label] for s in cfg.strategies}


def add_anomaly_tables(cfg: BacktestConfig, panel: Panel, tables: dict[str, Tables]) -> None:
    """``anomalies.csv`` of every strategy (with an ``anomalies:`` block): one batch
    scan of the shared data, whichever engine ran the strategies."""
    if cfg.anomalies is None:
        return
    from alphapulse.anomaly.detector import scan_panel

    found = scan_panel(panel, cfg.anomalies)
    for s in cfg.strategies:
        tables.setdefault(s.label, {})["anomalies"] = found
