"""The app factory: ``create_app(settings)``; all state lives on ``app.state.api``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy.exc import SQLAlchemyError

from alphapulse import __version__, dashboard
from alphapulse.api import (
    errors,
    routes_anomalies,
    routes_ops,
    routes_runs,
    routes_sessions,
    routes_strategies,
)
from alphapulse.api.control import ensure_table
from alphapulse.api.cookies import CookieSessions
from alphapulse.api.guard import Guard
from alphapulse.api.jobs import RunManager
from alphapulse.api.metrics import HttpMetrics, Metrics
from alphapulse.api.paper import PaperSessions
from alphapulse.api.responses import PROTECTED
from alphapulse.api.security import mask_url, redact_text, require_token
from alphapulse.api.settings import ApiSettings
from alphapulse.api.state import ApiState
from alphapulse.dashboard.settings_pages import describe_all
from alphapulse.store import Store, open_store
from alphapulse.store.engine import create_store_engine
from alphapulse.store.migrate import head_revision

log = logging.getLogger(__name__)

DESCRIPTION = """Runs, results and strategy control of AlphaPulse.

Every endpoint except `/health`, `/ready` and these docs needs
`Authorization: Bearer <ALPHAPULSE_API_TOKEN>`."""


def _open(url: str) -> Store:
    """The migrated store; if the database is down, an unmigrated handle (``/ready``
    reports it) so the server still starts."""
    try:
        store = open_store(url)
        ensure_table(store.engine)
        return store
    except SQLAlchemyError as exc:
        log.warning("database %s not ready at startup: %s", mask_url(url), redact_text(str(exc)))
        return Store(create_store_engine(url))


def create_app(settings: ApiSettings, metrics: Metrics | None = None) -> FastAPI:
    """A new app; the store and the backtest pool open at startup and close at shutdown."""
    state = ApiState(settings=settings, metrics=metrics or Metrics(), head_revision=head_revision())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.database_url()
        state.store = _open(url)
        state.jobs = RunManager(
            state.store, url, state.metrics, max_jobs=settings.max_jobs, mode=settings.job_mode
        )
        app.state.paper = PaperSessions(url, state.metrics)
        # the strategy plugins' descriptions (imports ~1 s): before the first request, not in it
        await asyncio.to_thread(describe_all)
        log.info("AlphaPulse API started; database %s", mask_url(url))
        try:
            yield
        finally:
            app.state.paper.shutdown()
            state.jobs.shutdown()
            state.store.close()
            state.jobs = state.store = None

    app = FastAPI(
        title="AlphaPulse API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by the dashboard (alphapulse.dashboard)
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.state.api = state
    errors.install(app)
    token = settings.token.get_secret_value()
    app.state.cookie_sessions = CookieSessions(token)
    app.add_middleware(  # before any route
        Guard, token=token, max_body=settings.max_body, sessions=app.state.cookie_sessions
    )
    app.add_middleware(HttpMetrics, metrics=state.metrics)
    auth = [Depends(require_token)]
    app.include_router(routes_ops.build_router())
    for module in (routes_runs, routes_anomalies, routes_strategies, routes_sessions):
        app.include_router(module.build_router(), dependencies=auth, responses=PROTECTED)
    dashboard.install(app, docs=settings.docs)
    return app
