"""Paper sessions started and stopped through the API: each runs ``live.session.
run_session`` (the same code as ``alphapulse paper``) in a thread of the server,
journaled to the API's database; a stop lets the current step finish and be written.
The last close of every symbol is kept for unrealised P&L, and a step counter tells the
dashboard's event stream when something changed."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from alphapulse.api.security import redact_text
from alphapulse.config import BacktestConfig, PaperConfig
from alphapulse.engine.bars import BarSlice
from alphapulse.live.journal import run_id_for

if TYPE_CHECKING:
    from alphapulse.api.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass
class LiveSession:
    """One paper session of this server and what the pages show about it."""

    name: str
    cfg: BacktestConfig
    run_ids: dict[str, str]
    symbols: tuple[str, ...]
    stop: threading.Event = field(default_factory=threading.Event)
    status: str = "running"  # running | finished | stopped | failed
    error: str | None = None
    steps: int = 0
    last_ts: int | None = None
    prices: dict[str, float] = field(default_factory=dict)
    thread: threading.Thread | None = None

    def on_step(self, bar: BarSlice) -> None:
        """The runtime's step hook (after the journals committed the step)."""
        if len(self.symbols) == len(bar.close):
            for sym, px in zip(self.symbols, bar.close, strict=True):
                if np.isfinite(px):
                    self.prices[sym] = float(px)
        self.last_ts = bar.ts_ns
        self.steps += 1

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "steps": self.steps,
            "strategies": list(self.run_ids),
            "run_ids": dict(self.run_ids),
            "error": self.error,
        }


def session_symbols(cfg: BacktestConfig) -> tuple[str, ...]:
    """The feed's symbol order (a Panel sorts its symbols)."""
    if cfg.data.symbols:
        return tuple(sorted(cfg.data.symbols))
    from alphapulse.data.catalog import dataset_symbols

    return tuple(sorted(dataset_symbols(cfg.data.source)))


class SessionConflict(Exception):
    """A session of that name is already running."""


class PaperSessions:
    """The paper sessions this server started (running and ended)."""

    def __init__(self, db_url: str, metrics: Metrics | None = None) -> None:
        self._db_url = db_url
        self._metrics = metrics
        self._lock = threading.Lock()
        self._sessions: dict[str, LiveSession] = {}

    def start(self, cfg: BacktestConfig) -> LiveSession:
        """Start ``cfg`` (its ``paper`` section, persisted to the API's database)."""
        paper = (cfg.paper or PaperConfig()).model_copy(update={"persist": True, "db_url": None})
        cfg = cfg.model_copy(update={"paper": paper})
        name = paper.session or cfg.name
        labels = [s.label for s in cfg.strategies]
        with self._lock:
            prior = self._sessions.get(name)
            if prior is not None and prior.status == "running":
                raise SessionConflict(f"paper session {name!r} is already running")
            sess = LiveSession(
                name, cfg, {lb: run_id_for(name, lb) for lb in labels}, session_symbols(cfg)
            )
            sess.thread = threading.Thread(
                target=self._run, args=(sess,), name=f"paper-{name}", daemon=True
            )
            self._sessions[name] = sess
        sess.thread.start()
        return sess

    def _run(self, sess: LiveSession) -> None:
        from alphapulse.live.session import run_session

        try:
            result = run_session(
                sess.cfg,
                stop=sess.stop,
                db_url=self._db_url,
                metrics=self._metrics,
                on_step=sess.on_step,
            )
            sess.status = "finished" if result.runtime.completed else "stopped"
        except Exception as exc:  # reported on the page and by GET /sessions
            sess.error = redact_text(f"{type(exc).__name__}: {exc}")[:2000]
            sess.status = "failed"
            log.warning("paper session %s failed: %s", sess.name, sess.error)

    def get(self, name: str) -> LiveSession | None:
        return self._sessions.get(name)

    def all(self) -> list[LiveSession]:
        return list(self._sessions.values())

    def stop(self, name: str, wait: float = 10.0) -> LiveSession | None:
        """Ask session ``name`` to stop and wait (up to ``wait`` s) for its last step."""
        sess = self._sessions.get(name)
        if sess is None:
            return None
        sess.stop.set()
        if sess.thread is not None:
            sess.thread.join(wait)
        return sess

    def shutdown(self) -> None:
        for sess in self.all():
            sess.stop.set()
        for sess in self.all():
            if sess.thread is not None:
                sess.thread.join(30)
