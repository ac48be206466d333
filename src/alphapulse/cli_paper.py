"""``alphapulse paper CONFIG``: paper trading through the backtest engine on a live feed."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from alphapulse.cli_data import DbOpt


def paper(
    config: Annotated[Path, typer.Argument(help="YAML run configuration (with a paper: section)")],
    out: Annotated[Path | None, typer.Option("--out", help="write run outputs here")] = None,
    db: DbOpt = None,
    persist: Annotated[
        bool | None, typer.Option(help="journal to the database (default: paper.persist)")
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="replay speed: 0 = fast, 1 = real time")
    ] = None,
    bus: Annotated[
        str | None,
        typer.Option("--bus", help="message bus: memory or redis://host:port/db (paper.bus)"),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option("--session", help="session name (paper.session; default: the config name)"),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", help="serve Prometheus metrics on 127.0.0.1:PORT"),
    ] = None,
) -> None:
    """Paper-trade every strategy of CONFIG on one live feed until it ends or SIGINT/SIGTERM;
    restarting with the same CONFIG resumes from the database (another config, or a
    second process on the session, is refused: exit code 2)."""
    from alphapulse.config import load_config, parse_config
    from alphapulse.live.session import run_session

    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=fmt)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    console = Console(stderr=True)
    cfg = load_config(config)
    update: dict[str, Any] = {"speed": speed, "bus": bus, "session": session}
    update = {k: v for k, v in update.items() if v is not None}
    if update:  # validated like the file's own keys
        raw = cfg.model_dump(mode="json", exclude_unset=True)
        cfg = parse_config({**raw, "paper": {**raw.get("paper", {}), **update}}, str(config))
    if out is not None:
        from alphapulse.engine.outputs import out_folder

        out_folder(out)  # before the session: an unusable --out is an error now
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        console.print(f"signal {signum}: finishing the current step")
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        done = run_session(
            cfg, stop=stop, out=out, db_url=db, persist=persist, metrics_port=metrics_port
        )
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    rt = done.runtime
    console.print(
        f"[bold]{cfg.name}[/]: {rt.steps} steps, {len(done.results)} strategies, "
        f"{'feed ended' if rt.completed else 'stopped'}; decision latency p50 "
        f"{rt.latency.percentile(50) * 1e3:.3f} ms, p99 {rt.latency.percentile(99) * 1e3:.3f} ms"
    )
    for label, r in done.results.items():
        eq = float(r.equity[-1]) if len(r.equity) else r.initial_cash
        console.print(
            f"  {label}: equity {eq:,.2f}, {len(r.orders)} orders, {len(r.fills)} fills"
            + (f", run {done.run_ids[label]}" if (persist is not False) else "")
        )
