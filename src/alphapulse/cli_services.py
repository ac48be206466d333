"""``alphapulse ingest`` and ``alphapulse trade``: the paper trader as separate services
over Redis Streams and one database (``docs/operations.md``). Each serves ``/health``
and ``/metrics`` (with process CPU and memory) on ``--host:--port``."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from alphapulse.cli_data import DbOpt
from alphapulse.core.errors import ConfigError

ConfigArg = Annotated[Path, typer.Argument(help="YAML run configuration (with a paper: section)")]
BusOpt = Annotated[
    str | None,
    typer.Option("--bus", envvar="ALPHAPULSE_BUS_URL", help="redis://host:port/db (paper.bus)"),
]
PrefixOpt = Annotated[
    str,
    typer.Option("--bus-prefix", envvar="ALPHAPULSE_BUS_PREFIX", help="stream key prefix"),
]
HostOpt = Annotated[
    str, typer.Option("--host", envvar="ALPHAPULSE_HEALTH_HOST", help="health/metrics interface")
]
PortOpt = Annotated[
    int, typer.Option("--port", envvar="ALPHAPULSE_HEALTH_PORT", help="health/metrics port")
]
StaleOpt = Annotated[
    float,
    typer.Option("--stale-after", min=0.1, help="seconds without a bar before health is stale"),
]
SessionOpt = Annotated[str | None, typer.Option("--session", help="session name (paper.session)")]


def ingest(
    config: ConfigArg,
    bus: BusOpt = None,
    bus_prefix: PrefixOpt = "alphapulse:",
    db: DbOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 9102,
    stale_after: StaleOpt = 120.0,
) -> None:
    """Store CONFIG's live feed (paper.feed) and publish it on the bus until the feed
    ends or SIGINT/SIGTERM."""
    from alphapulse.services.health import (
        Freshness,
        HealthServer,
        feed_rejections,
        service_registry,
    )
    from alphapulse.services.ingest import run_ingest
    from alphapulse.store import open_store

    cfg, bus_url = _load(config, bus, None)
    registry = service_registry("ingest")
    fresh = Freshness(registry, stale_after)
    with _stop_on_signals() as stop, open_store(db or _paper(cfg).db_url) as store:
        server = HealthServer(registry, fresh.check, port, host)
        try:
            with _redis_bus(bus_url, bus_prefix, "ingest") as b:
                n = run_ingest(
                    cfg, store, b, stop=stop, freshness=fresh, on_reject=feed_rejections(registry)
                )
        finally:
            server.close()
    typer.echo(f"{cfg.name}: {n} cross-sections ingested")


def trade(
    config: ConfigArg,
    bus: BusOpt = None,
    bus_prefix: PrefixOpt = "alphapulse:",
    db: DbOpt = None,
    session: SessionOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 9103,
    stale_after: StaleOpt = 120.0,
) -> None:
    """Paper-trade every strategy of CONFIG on the bars ``ingest`` publishes until
    SIGINT/SIGTERM; a restart resumes from the journal (nothing lost or repeated)."""
    from alphapulse.api.metrics import Metrics
    from alphapulse.services.health import Freshness, HealthServer, service_registry
    from alphapulse.services.trade import run_trade

    cfg, bus_url = _load(config, bus, session)
    registry = service_registry("trade")
    fresh = Freshness(registry, stale_after)
    metrics = Metrics(registry)
    with _stop_on_signals() as stop:
        server = HealthServer(registry, fresh.check, port, host)
        try:
            with _redis_bus(bus_url, bus_prefix, "trade") as b:
                done = run_trade(cfg, b, db_url=db, stop=stop, metrics=metrics, freshness=fresh)
        finally:
            server.close()
    steps = done.runtime.steps
    typer.echo(f"{cfg.name}: stopped after {steps} steps; runs {', '.join(done.run_ids.values())}")


def _paper(cfg: Any) -> Any:
    from alphapulse.config import PaperConfig

    return cfg.paper if cfg.paper is not None else PaperConfig()


def _load(config: Path, bus: str | None, session: str | None) -> tuple[Any, str]:
    """The config (``--session`` validated like the file's keys) and the Redis URL."""
    from alphapulse.config import load_config, parse_config

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    cfg = load_config(config)
    if session is not None:
        raw = cfg.model_dump(mode="json", exclude_unset=True)
        cfg = parse_config(
            {**raw, "paper": {**raw.get("paper", {}), "session": session}}, str(config)
        )
    url = bus or _paper(cfg).bus
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("--bus: the services need Redis (redis://host:port/db), not " + repr(url))
    return cfg, str(url)


@contextmanager
def _redis_bus(url: str, prefix: str, name: str) -> Iterator[Any]:
    from alphapulse.bus import make_bus

    bus = make_bus(url, prefix=prefix, client_name=f"alphapulse-{name}")
    try:
        yield bus
    finally:
        bus.close()


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT/SIGTERM (the current step finishes and is journaled)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        logging.getLogger(__name__).info("signal %d: stopping after the current step", signum)
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)
