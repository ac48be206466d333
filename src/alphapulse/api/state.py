"""What the app holds while it runs (on ``app.state.api``) and how routes get it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from alphapulse.api.jobs import RunManager
from alphapulse.api.metrics import Metrics
from alphapulse.api.settings import ApiSettings
from alphapulse.store import Store


@dataclass
class ApiState:
    """Settings, metrics, and (between startup and shutdown) the store and job pool."""

    settings: ApiSettings
    metrics: Metrics
    head_revision: str
    store: Store | None = None
    jobs: RunManager | None = None


def api_state(request: Request) -> ApiState:
    """The app's state (a FastAPI dependency)."""
    state: ApiState = request.app.state.api
    return state


def get_store(request: Request) -> Store:
    """The open store; 503 before startup or after shutdown."""
    store = api_state(request).store
    if store is None:
        raise HTTPException(503, "the API is not started")
    return store
