"""A paper session from a run configuration: the feed, one engine per strategy, the
journals (resuming from the database where a run already has steps), the bus, metrics
and API switches (``live.outlets``) and the end-of-run outputs. ``run_session`` is what
``alphapulse paper`` calls.

A persisted session is locked to one process (``live.lock``), keeps the config it was
started with (``live.identity``: a restart with another one is refused) and publishes
through its outbox (``live.outbox``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphapulse.analytics.run_robustness import RobustnessInputs, sweep_inputs
from alphapulse.bus import BarIngestor, Bus, make_bus
from alphapulse.config import BacktestConfig, PaperConfig
from alphapulse.core.clock import WallClock
from alphapulse.engine.context import History
from alphapulse.engine.loop import Engine, RunResult, Venue
from alphapulse.engine.outputs import summary, trades_frame, write_outputs
from alphapulse.engine.runner import make_engine, strategy_tables
from alphapulse.live.feed import BarSource, LiveFeed
from alphapulse.live.identity import check_session_config
from alphapulse.live.journal import AnomalyJournal, RunJournal, run_id_for
from alphapulse.live.lock import SessionLock
from alphapulse.live.outbox import OutboxBus, OutboxPublisher
from alphapulse.live.outlets import Outlets, StrategyControl
from alphapulse.live.polling import TIMEFRAME_NS
from alphapulse.live.recovery import (
    PrefixedSource,
    step_times,
    stored_rows,
    unjournaled_times,
)
from alphapulse.live.runtime import PaperRuntime, StepHook
from alphapulse.live.sources import build_source
from alphapulse.store import Store, open_store

if TYPE_CHECKING:
    from alphapulse.anomaly.monitor import AnomalyMonitor
    from alphapulse.api.metrics import Metrics

log = logging.getLogger(__name__)
#: ``(cfg, stop, resume_ts) -> (source, symbols, fields)``, like ``live.sources.build_source``.
SourceFactory = Callable[
    [BacktestConfig, threading.Event, int | None],
    tuple[BarSource, tuple[str, ...], tuple[str, ...]],
]


@dataclass
class SessionResult:
    results: dict[str, RunResult]
    run_ids: dict[str, str]
    runtime: PaperRuntime


def paper_settings(cfg: BacktestConfig) -> PaperConfig:
    return cfg.paper if cfg.paper is not None else PaperConfig()


def open_run(store: Store, cfg: BacktestConfig, label: str, run_id: str) -> None:
    """Create the strategy's run, or mark an existing one running again (a restart)."""
    prior = store.read_run(run_id)
    config = cfg.model_dump(mode="json")
    config["strategies"] = [
        s for s in config["strategies"] if (s.get("name") or s["strategy"]) == label
    ]
    store.record_run(
        f"{cfg.name}/{label}",
        config,
        run_id=run_id,
        initial_cash=cfg.initial_cash,
        started_at=prior["started_at"] if prior else None,
    )


def build_venue(cfg: BacktestConfig, symbols: tuple[str, ...], run_id: str) -> Venue | None:
    """The configured venue (None: the engine's simulated venue)."""
    p = paper_settings(cfg)
    if p.venue == "alpaca":
        from alphapulse.live.alpaca_venue import AlpacaPaperVenue

        return AlpacaPaperVenue(symbols, client_prefix=run_id, base_url=p.venue_url)
    return None


def run_session(
    cfg: BacktestConfig,
    *,
    stop: threading.Event | None = None,
    out: Path | None = None,
    db_url: str | None = None,
    persist: bool | None = None,
    bus: Bus | None = None,
    metrics: Metrics | None = None,
    metrics_port: int | None = None,
    on_step: StepHook | None = None,
    source: SourceFactory | None = None,
) -> SessionResult:
    """Run every strategy of ``cfg`` on one live feed until it ends or ``stop`` is set.

    ``bus``: publish there (default: ``make_bus(paper.bus)``, closed at the end);
    ``metrics``/``metrics_port``: update these metrics (created when only a port is
    given) and serve them on ``127.0.0.1:<metrics_port>`` while the session runs;
    ``source``: where rows come from instead of ``paper.feed`` (a network feed, e.g. the
    bus in ``alphapulse trade``: ``services.bus_source``)."""
    p = paper_settings(cfg)
    stop = stop or threading.Event()
    persist = p.persist if persist is None else persist
    session = p.session or cfg.name
    labels = [s.label for s in cfg.strategies]
    run_ids = {label: run_id_for(session, label) for label in labels}
    live = p.feed != "replay" or source is not None
    store = open_store(db_url or p.db_url) if persist else None
    own_bus = bus is None
    server = None
    lock = SessionLock(store, session) if store is not None else None
    publisher: OutboxPublisher | None = None
    monitor: AnomalyMonitor | None = None
    opened: list[str] = []  # this call's runs: marked failed if it raises
    try:
        if store is not None and lock is not None:
            lock.acquire()
            check_session_config(store, session, cfg)
        resume = _resume_point(store, run_ids) if store is not None else None
        source_, symbols, fields = (source or build_source)(cfg, stop, resume)
        if live and store is not None and resume is not None:  # replay the stored bars
            times = step_times(store, list(run_ids.values()), resume)
            times += unjournaled_times(store, symbols, p.timeframe, resume)
            source_ = PrefixedSource(stored_rows(store, symbols, p.timeframe, times), source_)
        feed = LiveFeed(source_, symbols, fields=fields, session_tz=cfg.data.session_tz)
        engines: dict[str, Engine] = {}
        journals: dict[str, RunJournal] = {}
        for scfg in cfg.strategies:
            rid = run_ids[scfg.label]
            venue = build_venue(cfg, symbols, rid)
            engines[scfg.label] = make_engine(
                cfg, scfg, symbols, feed.history, venue=venue, clock=WallClock()
            )
            paper_mode = getattr(engines[scfg.label].strategy, "paper_mode", None)
            if callable(paper_mode):  # e.g. the hybrid's HMM refits off the decision path
                paper_mode()
            if store is not None:
                open_run(store, cfg, scfg.label, rid)
                opened.append(rid)
                journals[scfg.label] = RunJournal(
                    store, rid, engines[scfg.label], label=scfg.label, outbox=session
                )
        for label, j in journals.items():
            if j.resume_ts is not None:
                log.info("%s: resuming after the stored step at %d", label, j.resume_ts)
        if bus is None:
            bus = make_bus(p.bus)
        if metrics is None and metrics_port is not None:
            from alphapulse.api.metrics import Metrics

            metrics = Metrics()
        if metrics is not None and metrics_port is not None:
            from prometheus_client import start_http_server

            server, _ = start_http_server(metrics_port, "127.0.0.1", metrics.registry)
            log.info("metrics on http://127.0.0.1:%d/metrics", server.server_port)
        timeframe = p.timeframe if live else cfg.data.timeframe
        sink: Bus = bus
        if store is not None:  # the journal is the source of truth: publish from it
            sink = OutboxBus(store, session, bus)
            publisher = OutboxPublisher(store, session, bus)
        outlets = Outlets(
            symbols, engines, timeframe, bus=sink, metrics=metrics, quiet_until=resume,
            ingestor=BarIngestor(store, sink, timeframe) if live and store is not None else None,
            bar_ns=TIMEFRAME_NS[p.timeframe] if live else None, publisher=publisher,
        )  # fmt: skip
        control = None if store is None else StrategyControl(store, labels, p.control_interval)
        if cfg.anomalies is not None:  # real-time anomalies (docs/anomalies.md)
            from alphapulse.anomaly.monitor import AnomalyMonitor

            reg = metrics.registry if metrics is not None else None
            monitor = AnomalyMonitor(
                cfg.anomalies, symbols, bus=bus, registry=reg, run=session, quiet_until=resume
            )  # a restart's replay of journaled steps was routed by the first run
            if store is not None:  # stored under every strategy's run, as a backtest does
                on_step = AnomalyJournal(store, list(run_ids.values()), monitor.found, on_step)
            on_step = monitor.chain(on_step)
        runtime = PaperRuntime(
            feed, engines, journals=journals, stop=stop, on_step=on_step, outlets=outlets,
            control=control,
        )  # fmt: skip
        results = runtime.run()
        _last_flush(publisher)
        robust = _robustness(results, feed.history)
        if store is not None:
            _finish(store, run_ids, results, runtime.completed, robust)
        if out is not None:
            for label, r in results.items():
                if len(r.timestamps):
                    tables = strategy_tables(engines[label].strategy)
                    tables.update(monitor.tables() if monitor else {})
                    write_outputs(r, out / label, tables, robust)
        return SessionResult(results, run_ids, runtime)
    except Exception as exc:
        if store is not None:
            _fail_runs(store, opened, exc)
        raise
    finally:
        if monitor is not None:
            monitor.close()
        if server is not None:
            server.shutdown()
            server.server_close()
        if own_bus and bus is not None:
            bus.close()
        if lock is not None:
            lock.release()
        if store is not None:
            store.close()


def _fail_runs(store: Store, run_ids: list[str], exc: Exception) -> None:
    """Mark the runs this session opened failed, with the error (a restart marks them
    running again and resumes from the last journaled step)."""
    from alphapulse.api.security import redact_text

    message = redact_text(f"{type(exc).__name__}: {' '.join(str(exc).split())}")[:2000]
    for rid in run_ids:
        try:
            store.finish_run(rid, status="failed", metrics={"error": message})
        except Exception as db_exc:  # the store may be what failed: keep the others
            log.error("could not mark run %s failed: %s", rid, type(db_exc).__name__)


def _last_flush(publisher: OutboxPublisher | None) -> None:
    """One more try to send the outbox at the end (what stays is sent on the next start)."""
    if publisher is None:
        return
    try:
        publisher.flush(force=True)
    except Exception as exc:
        log.error("bus_error at the end: %s; the outbox keeps the rest for the next start", exc)


def _resume_point(store: Store, run_ids: dict[str, str]) -> int | None:
    """The earliest last-stored step over the strategies (None: a fresh session)."""
    from alphapulse.live.journal import last_step_ts

    points = [last_step_ts(store, rid) for rid in run_ids.values()]
    if any(p is None for p in points):
        return None
    return min(p for p in points if p is not None)


def _robustness(results: dict[str, RunResult], history: History) -> RobustnessInputs:
    """The backtest's robustness inputs (``alphapulse backtest``): the strategies are
    the trials, the feed's volume and close feed the capacity estimate."""
    volume = history.field("volume") if "volume" in history.names() else None
    return sweep_inputs([r.equity for r in results.values()], volume, history.field("close"))


def _finish(
    store: Store,
    run_ids: dict[str, str],
    results: dict[str, RunResult],
    completed: bool,
    robust: RobustnessInputs,
) -> None:
    status = "finished" if completed else "cancelled"
    for label, r in results.items():
        metrics: dict[str, Any] | None = None
        if len(r.timestamps):
            trades = trades_frame(r)
            metrics = summary(r, trades, robust)
            store.write_run_outputs(run_ids[label], None, None, trades, None, None)
        store.finish_run(run_ids[label], status=status, metrics=metrics)
