"""``/sessions``: start and stop paper sessions on the replay feed, their status and
their positions marked at the last close (``api.paper``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from alphapulse.anomaly.config import AnomalyConfig
from alphapulse.api.bodies import StrictJsonRoute
from alphapulse.api.errors import invalid
from alphapulse.api.live_queries import marked_positions
from alphapulse.api.paper import LiveSession, PaperSessions, SessionConflict
from alphapulse.api.responses import declared
from alphapulse.api.run_request import Label, RunRequest
from alphapulse.api.schemas import ErrorBody, MarkedPosition, SessionInfo
from alphapulse.api.state import get_store
from alphapulse.config import SAFE_NAME, BacktestConfig, PaperConfig
from alphapulse.store import Store

StoreDep = Annotated[Store, Depends(get_store)]
SessionName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
NOT_FOUND = declared(404, 422)


class PaperRequest(RunRequest):
    """The body of ``POST /sessions``: a run request replayed as a paper session."""

    session: Label | None = Field(
        None,
        validate_default=True,
        description="session name; default the run name (then a plain name)",
    )
    speed: float = Field(
        0.0,
        ge=0,
        le=1e7,
        strict=True,
        description="replay pace: 0 = as fast as possible, k = k x real time",
    )
    anomalies: AnomalyConfig | None = Field(
        None, description="real-time anomaly detection (docs/anomalies.md); no webhook"
    )

    @field_validator("session")
    @classmethod
    def _addressable(cls, session: str | None, info: ValidationInfo) -> str | None:
        """The session is addressed as ``/sessions/{name}`` and names its run ids: without
        ``session`` the run name must itself be a plain name."""
        name = info.data.get("name")
        if session is None and name is not None and not SAFE_NAME.match(name):
            raise ValueError(
                "required when the run name is not a plain name (1-64 letters, digits,"
                " '_', '.', '-', starting with a letter or digit)"
            )
        return session

    @field_validator("anomalies")
    @classmethod
    def _no_webhook(cls, cfg: AnomalyConfig | None) -> AnomalyConfig | None:
        if cfg is not None and cfg.alerts is not None and cfg.alerts.webhook is not None:
            raise ValueError("alerts.webhook: the server would post to it; not accepted here")
        return cfg

    def to_paper_config(self) -> BacktestConfig:
        extra = {"session", "speed", "anomalies"}
        base = RunRequest.model_validate(self.model_dump(exclude=extra))
        cfg = base.to_config()
        paper = PaperConfig(feed="replay", speed=self.speed, session=self.session)
        return cfg.model_copy(update={"paper": paper, "anomalies": self.anomalies})


def paper_sessions(request: Request) -> PaperSessions:
    """The server's paper sessions; 503 before startup."""
    sessions: PaperSessions | None = getattr(request.app.state, "paper", None)
    if sessions is None:
        raise HTTPException(503, "the API is not started")
    return sessions


SessionsDep = Annotated[PaperSessions, Depends(paper_sessions)]


def _session_or_404(sessions: PaperSessions, name: str) -> LiveSession:
    sess = sessions.get(name)
    if sess is None:
        raise HTTPException(404, f"no paper session {name!r} on this server")
    return sess


def build_router() -> APIRouter:
    """The ``/sessions`` routes."""
    router = APIRouter(prefix="/sessions", tags=["paper sessions"], route_class=StrictJsonRoute)

    @router.get("", response_model=list[SessionInfo], summary="Paper sessions of this server")
    def get_sessions(sessions: SessionsDep) -> list[dict[str, Any]]:
        return [s.info() for s in sessions.all()]

    @router.post(
        "",
        status_code=202,
        response_model=SessionInfo,
        responses={
            **declared(400, 422),
            409: {"model": ErrorBody, "description": "a session of that name is running"},
        },
        summary="Start a paper session on the replay feed",
    )
    def start(req: PaperRequest, sessions: SessionsDep) -> Any:
        try:
            cfg = req.to_paper_config()
        except ValidationError as exc:
            return invalid(exc.errors())
        try:
            return sessions.start(cfg).info()
        except SessionConflict as exc:
            raise HTTPException(409, str(exc)) from None

    @router.get(
        "/{name}", response_model=SessionInfo, responses=NOT_FOUND, summary="A session's status"
    )
    def get_session(name: SessionName, sessions: SessionsDep) -> dict[str, Any]:
        return _session_or_404(sessions, name).info()

    @router.post(
        "/{name}/stop",
        response_model=SessionInfo,
        responses=NOT_FOUND,
        summary="Stop a session (its current step is finished and written)",
    )
    def stop(name: SessionName, sessions: SessionsDep) -> dict[str, Any]:
        sess = sessions.stop(name)
        if sess is None:
            raise HTTPException(404, f"no paper session {name!r} on this server")
        return sess.info()

    @router.get(
        "/{name}/positions",
        response_model=list[MarkedPosition],
        responses=NOT_FOUND,
        summary="Open positions with the last price and unrealised P&L",
    )
    def positions(name: SessionName, sessions: SessionsDep, store: StoreDep) -> Any:
        sess = _session_or_404(sessions, name)
        return marked_positions(store, list(sess.run_ids.values()), sess.prices)

    return router
