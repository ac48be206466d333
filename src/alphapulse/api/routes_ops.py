"""Operations: ``/health`` (liveness), ``/ready`` (database + migrations), ``/metrics``."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from alphapulse.api.responses import declared
from alphapulse.api.schemas import Health, Ready
from alphapulse.api.security import redact_text, require_token
from alphapulse.api.state import ApiState, api_state
from alphapulse.store.migrate import current_revision

log = logging.getLogger(__name__)
StateDep = Annotated[ApiState, Depends(api_state)]


def readiness(state: ApiState) -> tuple[bool, dict[str, str]]:
    """Whether the database answers and is migrated to the packaged head revision."""
    if state.store is None:
        return False, {"database": "not_started", "migrations": "unknown"}
    try:
        revision = current_revision(state.store.engine)
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable (%s)", redact_text(type(exc).__name__))
        return False, {"database": "unreachable", "migrations": "unknown"}
    at_head = revision == state.head_revision
    return at_head, {"database": "ok", "migrations": "head" if at_head else "behind"}


def build_router() -> APIRouter:
    """Health, readiness and metrics routes."""
    router = APIRouter(tags=["operations"])

    @router.get(
        "/health", response_model=Health, responses=declared(413), summary="Liveness (no auth)"
    )
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/ready",
        response_model=Ready,
        responses={**declared(413), 503: {"model": Ready, "description": "not ready"}},
        summary="Readiness: database reachable and migrated (no auth)",
    )
    def ready(state: StateDep) -> Any:
        ok, checks = readiness(state)
        body = {"status": "ready" if ok else "not_ready", "checks": checks}
        return body if ok else JSONResponse(body, 503)

    @router.get(
        "/metrics",
        dependencies=[Depends(require_token)],
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **declared(401, 413),
        },
        summary="Prometheus metrics",
    )
    def metrics(request: Request) -> Response:
        m = api_state(request).metrics
        return Response(m.exposition(), media_type=m.content_type)

    return router
